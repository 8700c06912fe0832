"""Vectors that travel: export a library's vectors to one file, import them elsewhere.

A library embedded on a GPU machine, or by a colleague, is usable in minutes on another
machine: ``papersift vectors export FILE`` writes the paper ids, their vectors (float16) and
the encoder that made them; ``papersift vectors import FILE`` stores them for the papers the
library has, refusing vectors of another encoder (they would not be comparable with the
query vectors). Files are ``.npz`` (NumPy), or a pair ``NAME.npy`` + ``NAME.ids.npy`` as
``benchmarks/embed_corpus.py`` writes them (then the encoder must be named).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from papersift.errors import LibraryError

__all__ = ["VectorFile", "VectorFileError", "read_vectors", "write_vectors"]

#: ``progress(task, done, total)``, as elsewhere.
Progress = Callable[[str, int, int | None], None]
FORMAT = "papersift-vectors-1"


class VectorFileError(LibraryError):
    """A vector file that cannot be used (the message says why and what to do)."""


@dataclass(frozen=True)
class VectorFile:
    """Paper ids, their vectors (float16, unit length) and the encoder that made them."""

    ids: np.ndarray
    vectors: np.ndarray
    encoder: str

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(self.ids), size):
            yield self.ids[start : start + size], self.vectors[start : start + size]


def write_vectors(path: str | os.PathLike[str], ids: list[str], vectors: np.ndarray,
                  encoder: str) -> None:
    """Write an ``.npz`` vector file (temporary name, then renamed)."""
    target = Path(path)
    if target.suffix != ".npz":
        raise VectorFileError(f"{target}: write vectors to a .npz file")
    tmp = target.with_name(f".{target.name}.tmp.npz")
    np.savez(tmp, format=np.asarray(FORMAT), encoder=np.asarray(encoder),
             ids=np.asarray(ids, dtype=str), vectors=np.asarray(vectors, dtype=np.float16))
    os.replace(tmp, target)


def read_vectors(path: str | os.PathLike[str], *, encoder: str | None = None) -> VectorFile:
    """Read a vector file; ``encoder`` names the encoder of a bare ``.npy`` pair."""
    source = Path(path)
    if not source.exists():
        raise VectorFileError(f"{source}: no such file")
    try:
        if source.suffix == ".npz":
            return _read_npz(source, encoder)
        return _read_pair(source, encoder)
    except (OSError, ValueError, KeyError) as error:
        raise VectorFileError(f"{source}: not a vector file papersift can read ({error})"
                              ) from None


def _read_npz(source: Path, encoder: str | None) -> VectorFile:
    with np.load(source, allow_pickle=False) as data:
        if str(data["format"]) != FORMAT:
            raise VectorFileError(f"{source}: unknown vector file format {data['format']!s}")
        found = VectorFile(data["ids"], data["vectors"], str(data["encoder"]))
    if encoder and encoder != found.encoder:
        raise VectorFileError(f"{source} holds vectors of {found.encoder!r}, not {encoder!r}")
    return _checked(source, found)


def _read_pair(source: Path, encoder: str | None) -> VectorFile:
    ids_path = source.with_name(source.name.removesuffix(".npy").removesuffix(".f16")
                                + ".ids.npy")
    if not ids_path.exists():
        raise VectorFileError(f"{source}: its ids file {ids_path.name} is missing")
    if not encoder:
        raise VectorFileError(f"{source} does not say which encoder made it: name it with "
                              "--encoder (e.g. --encoder minilm-l6-int8)")
    vectors = np.load(source, mmap_mode="r", allow_pickle=False)
    ids = np.load(ids_path, allow_pickle=False)
    return _checked(source, VectorFile(ids, vectors, encoder))


def _checked(source: Path, found: VectorFile) -> VectorFile:
    if found.vectors.ndim != 2 or len(found.ids) != len(found.vectors):
        raise VectorFileError(f"{source}: {len(found.ids)} ids for vectors of shape "
                              f"{found.vectors.shape}")
    sample = np.asarray(found.vectors[:: max(len(found.vectors) // 1000, 1)], dtype=np.float32)
    norms = np.linalg.norm(sample, axis=1) if len(sample) else np.ones(1)
    if np.abs(norms - 1).max() > 0.02:
        raise VectorFileError(f"{source}: the vectors are not of unit length (norms "
                              f"{norms.min():.2f} to {norms.max():.2f}); papersift stores "
                              "normalised embeddings")
    return found
