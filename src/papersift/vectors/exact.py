"""Exact (brute-force) inner-product search: the reference every other index is measured by."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Self

import numpy as np

from papersift.vectors.index import Hits, allowed_mask, as_queries, checked_new, empty_hits, top_k
from papersift.vectors.store import atomic_save, atomic_write

#: Score at most this many (query, vector) pairs at once, to bound memory (64 MiB float32).
CHUNK_ELEMENTS = 1 << 24


class ExactIndex:
    """Brute-force inner product over unit vectors, computed in float32 in bounded chunks.

    ``dtype`` is how vectors are held (float32 by default; float16 halves memory and each
    chunk is widened to float32 before scoring).
    """

    kind = "exact"

    def __init__(self, dim: int, *, dtype: type[np.floating] | np.dtype = np.float32) -> None:
        self.dim = int(dim)
        self.dtype = np.dtype(dtype)
        self._ids = np.empty(0, np.int64)
        self._vecs = np.empty((0, self.dim), self.dtype)

    @property
    def count(self) -> int:
        """Number of stored vectors."""
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        """Stored ids, in storage order."""
        return self._ids

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add vectors under new ids (an id already present raises ``ValueError``)."""
        ids, vecs = checked_new(ids, vecs, self.dim, self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vecs = np.concatenate([self._vecs, vecs.astype(self.dtype, copy=False)])

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids (unknown ones ignored); return how many were removed."""
        gone = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        if gone.any():
            self._ids = self._ids[~gone]
            self._vecs = self._vecs[~gone]
        return int(gone.sum())

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               budget: float | None = None) -> Hits:
        """Exact top ``k`` by inner product; ``budget`` is ignored (always exact)."""
        q = as_queries(queries, self.dim)
        mask = allowed_mask(allowed, self._ids)
        if self.count == 0 or k <= 0:
            return empty_hits(len(q), max(k, 0))
        return exact_search(self._vecs, self._ids, q, k, mask=mask)

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write ``vectors.npy``, ``ids.npy`` and ``index.json`` under ``directory``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        atomic_save(path / "vectors.npy", self._vecs)
        atomic_save(path / "ids.npy", self._ids)
        meta = {"kind": self.kind, "dim": self.dim, "count": self.count, "dtype": self.dtype.str}
        atomic_write(path / "index.json", json.dumps(meta).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Self:
        """Open a saved index; the vectors are memory-mapped (copied on the first write)."""
        path = Path(directory)
        meta = json.loads((path / "index.json").read_text())
        index = cls(meta["dim"], dtype=np.dtype(meta["dtype"]))
        index._vecs = np.load(path / "vectors.npy", mmap_mode="r")
        index._ids = np.load(path / "ids.npy")
        return index


def exact_search(vecs: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, *,
                 mask: np.ndarray | None = None) -> Hits:
    """Exact top ``k`` of ``queries @ vecs.T`` over the rows where ``mask`` is True.

    Rows are scored in chunks of about :data:`CHUNK_ELEMENTS` (query, row) pairs; each
    chunk's top ``k`` is merged into the running best, so memory stays bounded at any size.
    """
    nq = len(queries)
    rows = max(1024, CHUNK_ELEMENTS // max(nq, 1))
    best_pos = np.full((nq, 0), -1, np.int64)
    best_scores = np.full((nq, 0), -np.inf, np.float32)
    for start in range(0, len(vecs), rows):
        chunk = np.asarray(vecs[start:start + rows], dtype=np.float32)
        scores = queries @ chunk.T
        if mask is not None:
            scores[:, ~mask[start:start + rows]] = -np.inf
        pos, sc = top_k(scores, k)
        pos = np.where(pos >= 0, pos + start, -1)
        merged_pos = np.concatenate([best_pos, pos], axis=1)
        merged_scores = np.concatenate([best_scores, sc], axis=1)
        order, best_scores = top_k(merged_scores, k)
        best_pos = np.where(order >= 0, np.take_along_axis(merged_pos, np.maximum(order, 0), 1), -1)
    out_ids = np.where(best_pos >= 0, ids[np.maximum(best_pos, 0)], -1)
    return Hits(out_ids.astype(np.int64), best_scores.astype(np.float32))
