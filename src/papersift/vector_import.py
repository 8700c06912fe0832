"""Import precomputed vectors into a library: ``papersift vectors import FILE``.

Embedding the 75k sample takes about 40 minutes on two cores; a library can instead take
vectors made elsewhere by the same encoder (another machine, a GPU box, the project's shared
``arxiv-75k-minilm.f16.npy``). A vectors file is a ``.npy`` matrix, one unit-length row per
paper (float16 or float32), with a sibling ids file: ``NAME.ids.npy`` beside ``NAME.npy`` or
``NAME.f16.npy``, or given explicitly, holding each row's paper id as a string.

The file carries no encoder name, so the caller states it (``--encoder minilm-l6-int8``)
and the import is refused when it is not the library's encoder: vectors of two encoders are
not comparable. Rows are matched to catalog papers by normalised id; ids the catalog does
not hold are counted and skipped. The embedding cursor is then moved past the longest
prefix of the catalog's write order that has vectors, so ``papersift embed`` embeds only
what the file lacked.

This is the minimal form of issue 12's ``vectors import``; its ``export`` twin (with an
encoder fingerprint inside the file) is still to come.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from papersift.library import Library, Progress
from papersift.papers import normalize_id

__all__ = ["ImportReport", "VectorImportError", "ids_path_for", "import_vectors"]


def _quiet(task: str, done: int, total: int | None) -> None:
    return None

#: Rows written per stored segment.
CHUNK = 16_384


class VectorImportError(Exception):
    """A vectors file that cannot be imported; the message says why and what to do."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    rows: int
    imported: int
    unknown: int
    missing: int  # catalog papers still without a vector

    def summary(self) -> str:
        return (f"{self.imported} vectors imported from {self.rows} rows, {self.unknown} ids "
                f"not in the catalog, {self.missing} papers still without a vector")


def ids_path_for(vectors: Path) -> Path:
    """The ids file beside a vectors file: ``x.f16.npy`` or ``x.npy`` -> ``x.ids.npy``."""
    name = vectors.name
    for suffix in (".f16.npy", ".f32.npy", ".npy"):
        if name.endswith(suffix):
            return vectors.with_name(name[: -len(suffix)] + ".ids.npy")
    return vectors.with_name(name + ".ids.npy")


def _read(vectors_path: Path, ids_path: Path, dim: int) -> tuple[np.ndarray, np.ndarray]:
    for path in (vectors_path, ids_path):
        if not path.exists():
            raise VectorImportError(f"{path}: no such file")
    try:
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
        ids = np.load(ids_path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise VectorImportError(f"{vectors_path}: not a .npy matrix and ids ({error})") from None
    if vectors.ndim != 2 or vectors.dtype.kind != "f":
        raise VectorImportError(f"{vectors_path}: expected a 2-D float matrix, got "
                                f"{vectors.dtype} {vectors.shape}")
    if vectors.shape[1] != dim:
        raise VectorImportError(f"{vectors_path}: rows have {vectors.shape[1]} dimensions, the "
                                f"library's encoder makes {dim}")
    if ids.ndim != 1 or ids.dtype.kind not in "US" or len(ids) != len(vectors):
        raise VectorImportError(f"{ids_path}: expected {len(vectors)} string ids, got "
                                f"{ids.dtype} {ids.shape}")
    norms = np.linalg.norm(np.asarray(vectors[:1000], dtype=np.float32), axis=1)
    if len(norms) and not np.allclose(norms, 1.0, atol=0.02):
        raise VectorImportError(f"{vectors_path}: rows are not unit length (norms "
                                f"{norms.min():.3f}..{norms.max():.3f}); normalise them first")
    return vectors, ids


def import_vectors(library: Library, vectors_path: str | os.PathLike[str],
                   ids_path: str | os.PathLike[str] | None = None, *, encoder: str,
                   progress: Progress = _quiet) -> ImportReport:
    """Store the vectors of a ``.npy`` file for the catalog papers it names.

    ``encoder`` is the name of the encoder that made them (e.g. ``minilm-l6-int8``); it must
    be the library's. Replaces any vector already stored for those papers.
    """
    semantic = library.semantic
    if encoder != semantic.encoder.name:
        raise VectorImportError(
            f"the vectors were made by {encoder!r}, this library embeds with "
            f"{semantic.encoder.name!r}; embed with that encoder instead (`papersift embed`)")
    path = Path(vectors_path)
    vectors, ids = _read(path, Path(ids_path) if ids_path else ids_path_for(path),
                         semantic.encoder.dim)
    catalog = library.catalog
    rows, rowids = [], []
    for row, raw in enumerate(ids.tolist()):
        rowid = catalog.rowid(normalize_id(str(raw))[0])
        if rowid is not None:
            rows.append(row)
            rowids.append(rowid)
    order = np.argsort(np.asarray(rowids, dtype=np.int64), kind="stable")
    rows_sorted = np.asarray(rows, dtype=np.int64)[order]
    rowids_sorted = np.asarray(rowids, dtype=np.int64)[order]
    keep = np.r_[True, rowids_sorted[1:] != rowids_sorted[:-1]][: len(order)]
    rows_sorted, rowids_sorted = rows_sorted[keep], rowids_sorted[keep]
    semantic.store.remove(rowids_sorted)
    for start in range(0, len(rowids_sorted), CHUNK):
        chunk = slice(start, start + CHUNK)
        block = np.asarray(vectors[np.sort(rows_sorted[chunk])], dtype=np.float16)
        # rows were sorted for a sequential read; put the vectors back in rowid order
        back = np.argsort(np.argsort(rows_sorted[chunk], kind="stable"), kind="stable")
        semantic.store.add(rowids_sorted[chunk], block[back])
        progress("import", min(start + CHUNK, len(rowids_sorted)), len(rowids_sorted))
    missing = _advance_cursor(library)
    return ImportReport(rows=len(ids), imported=len(rowids_sorted),
                        unknown=len(ids) - len(rows), missing=missing)


def _advance_cursor(library: Library) -> int:
    """Move the embedding cursor past every paper, in write order, that has a vector.

    Returns how many catalog papers have no vector. Those after the first gap are embedded
    again by the next ``papersift embed`` (their stored vector is replaced, never doubled).
    """
    semantic, catalog = library.semantic, library.catalog
    stored = np.sort(semantic.store.ids())
    cursor: tuple[int, int] | None = None
    gap = False
    missing = 0
    position = (0, 0)
    while True:
        changes = catalog.written_after(*position, limit=20_000)
        if not changes:
            break
        rowids = np.fromiter((c.rowid for c in changes), dtype=np.int64, count=len(changes))
        at = np.searchsorted(stored, rowids).clip(0, max(len(stored) - 1, 0))
        have = stored[at] == rowids if len(stored) else np.zeros(len(rowids), dtype=bool)
        missing += int((~have).sum())
        for change, ok in zip(changes, have.tolist(), strict=True):
            if not ok:
                gap = True
            elif not gap:
                cursor = (change.seq, change.rowid)
        position = (changes[-1].seq, changes[-1].rowid)
    if cursor is not None:
        # the one writer of cursor.json besides SemanticIndex.sync (re-point after issue 10)
        semantic._set_cursor(*cursor)
    if missing == 0:
        semantic.store.applied_seq = catalog.seq
    semantic._table = None
    semantic._index = None
    return missing
