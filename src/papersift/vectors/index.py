"""The ``VectorIndex`` protocol shared by every nearest-neighbour backend, and its helpers.

Scores are inner products of unit vectors (cosine similarity); higher is better.

Filters (``allowed``) are honoured inside the search, never by post-filtering a short list:
an index returns the best ``k`` allowed vectors it can find, and ``k`` of them whenever at
least ``k`` allowed vectors are stored. ``allowed`` takes either form:

* an integer array of allowed ids (any order, duplicates and unknown ids ignored), or
* a boolean array indexed by id: ``allowed[id]`` is True for allowed ids; ids at or beyond
  ``len(allowed)`` are not allowed. Catalog rowids are small dense integers, so a filter
  built from SQL is cheap to pass either way.
"""

from __future__ import annotations

import os
from typing import Protocol, Self, runtime_checkable

import numpy as np

from papersift.ranking import Hits  # the one result shape; here (q, k), padded


@runtime_checkable
class VectorIndex(Protocol):
    """What every vector index offers (exact, adaptive, and later PostgreSQL)."""

    @property
    def count(self) -> int:
        """Number of live vectors."""
        ...

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add unit vectors under int64 ids; an id already present raises ``ValueError``."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids (unknown ones ignored); return how many were removed."""
        ...

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               budget: float | None = None) -> Hits:
        """Top ``k`` by inner product for each row of ``queries`` ((q, d) float32).

        ``budget`` scales the work an approximate index does (1.0 = its tuned setting,
        2.0 = twice the candidates, 0.5 = half); exact indexes ignore it.
        """
        ...

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the index under ``directory`` (files written to temp names, then renamed)."""
        ...

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Self:
        """Open a saved index, memory-mapping its large arrays."""
        ...


def allowed_mask(allowed: np.ndarray | None, ids: np.ndarray) -> np.ndarray | None:
    """Turn an ``allowed`` filter into a boolean mask over the positions of ``ids``."""
    if allowed is None:
        return None
    allowed = np.asarray(allowed)
    if allowed.dtype == np.bool_:
        inside = (ids >= 0) & (ids < len(allowed))
        mask = np.zeros(len(ids), dtype=bool)
        mask[inside] = allowed[ids[inside]]
        return mask
    if not np.issubdtype(allowed.dtype, np.integer):
        raise TypeError("allowed must be a boolean mask indexed by id or an array of ids")
    return np.isin(ids, allowed.astype(np.int64, copy=False))


def checked_new(ids: np.ndarray, vecs: np.ndarray, dim: int,
                present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vecs)`` for an ``add``, after the checks every index makes: one vector of
    ``dim`` per id, ids unique and not ``present`` already (re-adding needs a remove)."""
    ids = np.asarray(ids, dtype=np.int64).ravel()
    vecs = np.asarray(vecs)
    if vecs.shape != (len(ids), dim):
        raise ValueError(f"expected shape ({len(ids)}, {dim}), got {vecs.shape}")
    if len(np.unique(ids)) != len(ids) or np.isin(ids, present).any():
        raise ValueError("ids must be new and unique (remove an id before re-adding it)")
    return ids, vecs


def as_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    """Queries as a C-contiguous (q, dim) float32 array (a single vector becomes one row)."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != dim:
        raise ValueError(f"queries must have shape (q, {dim}), got {np.shape(queries)}")
    return q


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and scores of the ``k`` best entries of each row, best first.

    Rows with fewer than ``k`` finite scores are padded with position -1 and score -inf.
    """
    q, n = scores.shape
    kk = min(k, n)
    pos = np.full((q, k), -1, dtype=np.int64)
    out = np.full((q, k), -np.inf, dtype=np.float32)
    if kk == 0:
        return pos, out
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk] if kk < n else \
        np.broadcast_to(np.arange(n), (q, n)).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best_scores = np.take_along_axis(part_scores, order, axis=1)
    finite = np.isfinite(best_scores)
    pos[:, :kk] = np.where(finite, best, -1)
    out[:, :kk] = np.where(finite, best_scores, -np.inf)
    return pos, out


def empty_hits(q: int, k: int) -> Hits:
    """All-padding results for ``q`` queries."""
    return Hits(np.full((q, k), -1, np.int64), np.full((q, k), -np.inf, np.float32))
