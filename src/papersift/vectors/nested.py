"""Nested prefixes: an orthogonal rotation that makes every prefix the best short summary.

The rotation is the eigenbasis of the (uncentred) second-moment matrix ``X^T X`` of the
corpus embeddings, columns ordered by decreasing eigenvalue. For unit vectors that is the
basis in which the first ``m`` coordinates keep the most energy of any ``m``-dimensional
projection, so a prefix inner product is the best ``m``-dim estimate of the full one. The
matrix is orthogonal, so full-length inner products are preserved exactly: ``(xR)·(qR) = x·q``.
Not mean-centring matters: centring would make the rotation affine and break that identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from papersift.vectors.store import atomic_save

#: Prefix lengths reported by :func:`prefix_recall`.
PREFIXES = (16, 32, 64, 128, 384)


@dataclass(frozen=True)
class Rotation:
    """An orthogonal ``(dim, dim)`` matrix (columns = principal directions, by energy) and
    the energy (eigenvalue / trace) each direction carries."""

    matrix: np.ndarray
    energy: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, vecs: np.ndarray) -> np.ndarray:
        """Rotate row vectors: ``vecs @ matrix``, as float32."""
        return np.asarray(vecs, dtype=np.float32) @ self.matrix

    def docs(self, vecs: np.ndarray, m: int) -> np.ndarray:
        """The first ``m`` rotated coordinates of stored vectors (see :class:`Codes`)."""
        return np.ascontiguousarray(np.asarray(vecs, np.float32) @ self.matrix[:, :m])

    def queries(self, vecs: np.ndarray, m: int) -> np.ndarray:
        """The first ``m`` rotated coordinates of queries: the same map as :meth:`docs`."""
        return self.docs(vecs, m)

    def prefix_energy(self, m: int) -> float:
        """Fraction of the corpus' squared norm kept by the first ``m`` coordinates."""
        return float(self.energy[:m].sum())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the rotation as one ``.npy`` file (matrix rows, then the energy row)."""
        atomic_save(Path(path), np.vstack([self.matrix, self.energy[None, :]]).astype(np.float32))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Rotation:
        """Read a rotation written by :meth:`save`."""
        both = np.load(Path(path))
        return cls(np.ascontiguousarray(both[:-1]), np.ascontiguousarray(both[-1]))

    @classmethod
    def identity(cls, dim: int) -> Rotation:
        """The rotation that changes nothing (uniform energy)."""
        return cls(np.eye(dim, dtype=np.float32), np.full(dim, 1.0 / dim, np.float32))


def fit_rotation(vecs: np.ndarray, *, sample: int = 200_000, seed: int = 0) -> Rotation:
    """Fit the prefix-ordering rotation on (a sample of) the rows of ``vecs``.

    Example::

        rot = fit_rotation(corpus)             # corpus: (n, 384) unit vectors
        short = rot.apply(corpus)[:, :64]      # best 64-dim summaries
    """
    x = np.asarray(vecs)
    if len(x) == 0:
        raise ValueError("cannot fit a rotation on no vectors")
    if len(x) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(x), sample, replace=False))
        x = x[rows]
    moment = np.zeros((x.shape[1], x.shape[1]), np.float64)
    for start in range(0, len(x), 65536):
        chunk = np.asarray(x[start:start + 65536], dtype=np.float64)
        moment += chunk.T @ chunk
    values, vectors = np.linalg.eigh(moment)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    return Rotation(np.ascontiguousarray(vectors[:, order], dtype=np.float32),
                    (values / values.sum()).astype(np.float32))


class Codes(Protocol):
    """Something that makes ``m``-dim codes of stored vectors and of queries, whose inner
    products rank the stored vectors for a query (a :class:`Rotation`'s prefixes, or a
    :class:`papersift.vectors.adaptor.Adaptor`'s codes)."""

    def docs(self, vecs: np.ndarray, m: int) -> np.ndarray: ...

    def queries(self, vecs: np.ndarray, m: int) -> np.ndarray: ...


def prefix_recall(base: np.ndarray, queries: np.ndarray, *, rotation: Rotation | None = None,
                  codes: Codes | None = None, prefixes: tuple[int, ...] = PREFIXES,
                  k: int = 10, depth: int = 100,
                  self_rows: np.ndarray | None = None) -> dict[int, tuple[float, float]]:
    """Per prefix length: (recall@k, fraction of the full top-k inside the prefix top-``depth``).

    Both are measured against exact full-length search. The prefixes are the ``codes``' when
    given, else those of the vectors rotated by ``rotation`` (unrotated when it is None).
    ``self_rows[i]`` is the row of ``base`` that query ``i`` was taken from, dropped from its
    results (omit for outside queries).
    """
    from papersift.vectors.exact import exact_search  # local: exact imports store only

    b = np.asarray(base, dtype=np.float32)
    q = np.asarray(queries, dtype=np.float32)
    ids = np.arange(len(b), dtype=np.int64)
    own = np.full(len(q), -1) if self_rows is None else np.asarray(self_rows)
    truth = _drop_own(exact_search(b, ids, q, k + 1).ids, own, k)
    maker = codes or (rotation or Rotation.identity(b.shape[1]))
    out = {}
    for m in prefixes:
        got = exact_search(maker.docs(b, m), ids, maker.queries(q, m), depth + 1).ids
        got = _drop_own(got, own, depth)
        hit_k = [len(np.intersect1d(t, g[:k])) for t, g in zip(truth, got, strict=True)]
        hit_d = [len(np.intersect1d(t, g)) for t, g in zip(truth, got, strict=True)]
        out[m] = (float(np.mean(hit_k)) / k, float(np.mean(hit_d)) / k)
    return out


def _drop_own(found: np.ndarray, own: np.ndarray, k: int) -> np.ndarray:
    """Each row of ``found`` without its query's own row, cut to ``k`` columns."""
    return np.stack([row[row != o][:k] for row, o in zip(found, own, strict=True)])
