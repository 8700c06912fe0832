"""The Matryoshka adaptor: short codes whose inner products keep the full vectors' neighbours.

A vector index scores candidates on short codes and re-ranks the best of them at full
length, so a code of ``m`` numbers is good when a query's true nearest neighbours (by the
full vectors) score near the top among the codes. :class:`Adaptor` makes such codes with two
linear maps learned on the library's own vectors, with nested prefixes::

    doc code   = normalise(x @ doc[:, :m])        # stored, one length per index
    query code = q @ query[:, :m]                 # made per search

Every prefix ``m`` of the maps is a code of its own (Matryoshka-style), so one adaptor
serves every candidate-stage length an index may be tuned to. Normalising the document's
prefix matters as much as the map: a prefix's length says how much of a vector lies in
the prefix, not how close it is to the query, and dividing it out turns the prefix score
into a cosine. On the 75k arXiv vectors (held-out queries) the plain PCA rotation's 64-dim
prefix holds the full top 10 within its top 100 for 93.4% of queries, and 97.4% once the
document prefixes are normalised (``benchmarks/nested.py``).

The maps are trained without labels by :mod:`papersift.vectors.adaptor_training` (torch, an
optional extra). Without torch, :meth:`Adaptor.from_rotation` gives the fallback: the PCA
rotation of :mod:`papersift.vectors.nested` for both maps, with normalised document prefixes.
Search needs numpy only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papersift.vectors.nested import Rotation, fit_rotation
from papersift.vectors.store import atomic_save, atomic_write

__all__ = ["ADAPTOR_FORMAT", "LADDER", "Adaptor", "AdaptorError"]

#: The on-disk format of a saved adaptor; a different number is refused on load.
ADAPTOR_FORMAT = 1
#: Prefix lengths the adaptor is trained (and measured) at. The full length is the
#: original vector itself, which the re-rank stage uses.
LADDER = (16, 32, 64, 128)


class AdaptorError(ValueError):
    """A saved adaptor cannot be used (unknown format, damaged or mismatched files)."""


@dataclass(frozen=True)
class Adaptor:
    """Two ``(dim, width)`` float32 maps whose column prefixes make nested codes.

    ``info`` records how it was made (method, rows, steps, seconds, loss), for humans.
    """

    doc: np.ndarray
    query: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    #: contiguous copies of the query map's column prefixes, made on first use: a search
    #: codes one query, and a product with a strided slice costs ~1 µs more
    _query_prefixes: dict[int, np.ndarray] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.doc.shape != self.query.shape or self.doc.ndim != 2:
            raise AdaptorError(f"adaptor maps must have one (dim, width) shape, got "
                               f"{self.doc.shape} and {self.query.shape}")

    @property
    def dim(self) -> int:
        """Length of the vectors the adaptor maps."""
        return int(self.doc.shape[0])

    @property
    def width(self) -> int:
        """The longest code it makes."""
        return int(self.doc.shape[1])

    def docs(self, vecs: np.ndarray, m: int) -> np.ndarray:
        """``m``-dim unit codes of stored vectors (rows), float32."""
        codes = np.asarray(vecs, np.float32) @ self.doc[:, :self._check(m)]
        norms = np.linalg.norm(codes, axis=1, keepdims=True)
        return np.ascontiguousarray(codes / np.maximum(norms, 1e-12), np.float32)

    def queries(self, vecs: np.ndarray, m: int) -> np.ndarray:
        """``m``-dim codes of query vectors (rows), float32 (not normalised: a query's
        scale does not change its ranking)."""
        prefix = self._query_prefixes.get(m)
        if prefix is None:
            prefix = self._query_prefixes[m] = np.ascontiguousarray(
                self.query[:, :self._check(m)], np.float32)
        return np.ascontiguousarray(np.asarray(vecs, np.float32) @ prefix)

    def _check(self, m: int) -> int:
        if not 1 <= m <= self.width:
            raise ValueError(f"code length must be 1..{self.width}, not {m}")
        return int(m)

    # ------------------------------------------------------------------ making
    @classmethod
    def from_rotation(cls, rotation: Rotation, width: int = max(LADDER), *,
                      reason: str = "") -> Adaptor:
        """The untrained adaptor: both maps the PCA rotation's first ``width`` columns."""
        matrix = np.ascontiguousarray(rotation.matrix[:, :width], np.float32)
        info = {"method": "rotation", "width": int(matrix.shape[1])}
        if reason:
            info["reason"] = reason
        return cls(matrix, matrix, info)

    @classmethod
    def fit(cls, vecs: np.ndarray, *, seed: int = 0, train: bool = True,
            **options: Any) -> Adaptor:
        """An adaptor for the rows of ``vecs``: trained when torch can be imported and
        ``train`` is true (``options`` go to
        :func:`papersift.vectors.adaptor_training.train_adaptor`), else the rotation."""
        if train:
            try:
                from papersift.vectors.adaptor_training import train_adaptor
            except ImportError as exc:
                reason = f"not trained: {exc}"
            else:
                return train_adaptor(vecs, seed=seed, **options)
        else:
            reason = "not trained: training not asked for"
        return cls.from_rotation(fit_rotation(vecs, seed=seed), reason=reason)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str], prefix: str = "adaptor") -> None:
        """Write ``<prefix>.npy`` (the doc map's rows, then the query map's) and
        ``<prefix>.json`` (format, shape, how it was made)."""
        path = Path(directory)
        atomic_save(path / f"{prefix}.npy", np.vstack([self.doc, self.query]))
        meta = {"format": ADAPTOR_FORMAT, "dim": self.dim, "width": self.width,
                "info": self.info}
        atomic_write(path / f"{prefix}.json", json.dumps(meta, indent=1).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike[str], prefix: str = "adaptor") -> Adaptor:
        """Read an adaptor written by :meth:`save`; :class:`AdaptorError` when it is of
        another format or its files do not agree."""
        path = Path(directory)
        try:
            meta = json.loads((path / f"{prefix}.json").read_text())
            both = np.load(path / f"{prefix}.npy")
        except (OSError, ValueError) as exc:
            raise AdaptorError(f"{path}: cannot read the adaptor: {exc}") from exc
        if meta.get("format") != ADAPTOR_FORMAT:
            raise AdaptorError(f"{path}: adaptor format {meta.get('format')!r}, this version "
                               f"reads {ADAPTOR_FORMAT}; rebuild the index")
        dim, width = int(meta["dim"]), int(meta["width"])
        if both.shape != (2 * dim, width):
            raise AdaptorError(f"{path}: adaptor matrix {both.shape}, expected {(2 * dim, width)}")
        return cls(np.ascontiguousarray(both[:dim], np.float32),
                   np.ascontiguousarray(both[dim:], np.float32), dict(meta.get("info", {})))
