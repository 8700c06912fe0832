"""The semantic side of a library: one encoder's vectors, kept in step with the catalog.

Embedding is resumable. Papers are embedded in catalog order ``(seq, rowid)`` and each
stored batch is followed by the cursor of the last paper it holds (``cursor.json``, written
atomically). A run that is interrupted anywhere restarts after the last stored batch: the
batch in flight is embedded again (its stale vectors are removed first), nothing else is.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from papersift.catalog import Catalog
from papersift.encoders import Encoder
from papersift.papers import document_text
from papersift.ranking import Hits
from papersift.vectors import AdaptiveIndex, ExactIndex, VectorIndex
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex
from papersift.vectors.adaptor import Adaptor, AdaptorError
from papersift.vectors.store import VectorStore, atomic_write

__all__ = ["SemanticIndex", "one_blas_thread"]

_BLAS: ThreadpoolController | None = None


def one_blas_thread() -> Any:
    """Run one query's matrix products on one BLAS thread.

    A query's products are small; spreading them over threads costs more in hand-offs than
    it saves, and on a busy machine far more: measured at 75k papers on 2 cores with
    another process running, a top-100 adaptive search took 18 ms with OpenBLAS's two
    threads and 0.7 ms with one.
    """
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")

#: ``progress(task, done, total)``, as in :mod:`papersift.library`.
Progress = Callable[[str, int, int | None], None]


def _faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _adaptive_class(kind: str | None) -> type[AdaptiveIndex] | type[FaissAdaptiveIndex]:
    return FaissAdaptiveIndex if kind == FaissAdaptiveIndex.kind else AdaptiveIndex


class SemanticIndex:
    """Vectors of one encoder under ``<library>/vectors/<encoder name>/``."""

    def __init__(self, directory: Path, encoder: Encoder, *, exact_below: int = 20_000,
                 recall: float = 0.95) -> None:
        self.directory = Path(directory)
        self.encoder = encoder
        self.exact_below = exact_below
        self.recall = recall
        self.store = VectorStore.open(self.directory, encoder=encoder.name, dim=encoder.dim)
        self._index: VectorIndex | None = None
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lock = threading.RLock()

    # -- progress cursor ------------------------------------------------------------------
    def cursor(self) -> tuple[int, int]:
        """``(seq, rowid)`` of the last paper whose vector is stored."""
        path = self.directory / "cursor.json"
        if not path.exists():
            return (0, 0)
        data = json.loads(path.read_text())
        return int(data["seq"]), int(data["rowid"])

    def _set_cursor(self, seq: int, rowid: int) -> None:
        payload = json.dumps({"seq": seq, "rowid": rowid}).encode()
        atomic_write(self.directory / "cursor.json", payload)

    def pending(self, catalog: Catalog) -> int:
        """Papers written since the last stored vector."""
        return catalog.count_after(*self.cursor())

    def current(self, catalog: Catalog) -> bool:
        """Whether the vectors include the catalog's latest change (a cheap check)."""
        return self.store.count > 0 and self.store.applied_seq >= catalog.seq

    # -- embedding ------------------------------------------------------------------------
    def sync(
        self,
        catalog: Catalog,
        *,
        batch_size: int = 64,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Embed every paper written since the cursor; returns how many were embedded."""
        total = self.pending(catalog)
        done = 0
        started = time.perf_counter()
        chunk = batch_size * 16  # one stored segment per chunk keeps segments few and large
        while stop is None or not stop.is_set():
            changes = catalog.written_after(*self.cursor(), limit=chunk)
            if not changes:
                break
            ids = np.fromiter((c.rowid for c in changes), dtype=np.int64, count=len(changes))
            texts = [document_text(c.paper.title, c.paper.abstract)
                     for c in changes if c.paper is not None]
            vecs = self.encoder.encode(texts, batch_size=batch_size)
            self.store.remove(ids)  # stale vectors of changed papers, or of a batch in flight
            self.store.add(ids, vecs.astype(np.float16))
            self._set_cursor(changes[-1].seq, changes[-1].rowid)
            done += len(changes)
            if progress is not None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress(f"embed {rate:.0f}/s", done, total)
        if stop is None or not stop.is_set():
            removed = catalog.removed_since(max(self.store.applied_seq, 0))
            if removed:
                self.store.remove(np.asarray(removed, dtype=np.int64))
            self.store.applied_seq = max(catalog.seq, self.cursor()[0])
        with self._lock:
            self._table = None
        if done and (stop is None or not stop.is_set()):
            index = self._open_index()  # built here, not by the next search
            with self._lock:
                self._index = index
        return done

    # -- searching ------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self.store.count

    def index(self) -> VectorIndex:
        """The search index over the stored vectors: exact for small libraries, else the
        adaptive index saved under ``index/``, brought up to date with the store."""
        with self._lock:
            if self._index is None:
                self._index = self._open_index()
            return self._index

    def _open_index(self) -> VectorIndex:
        ids, vecs = self.store.items()
        if len(ids) < self.exact_below:
            exact = ExactIndex(self.encoder.dim)
            if len(ids):
                exact.add(ids, np.asarray(vecs, dtype=np.float32))
            return exact
        folder = self.directory / "index"
        if not (folder / "index.json").exists():
            return self.rebuild_index()
        kind = json.loads((folder / "index.json").read_text()).get("kind")
        if kind == "adaptive-faiss" and not _faiss_available():
            return self.rebuild_index()  # saved by an install with faiss; this one has none
        try:
            adaptive = _adaptive_class(kind).load(folder)
        except AdaptorError:  # saved with an adaptor this version cannot read: train anew
            return self.rebuild_index(adaptor=True)
        indexed = adaptive.ids
        stale = np.setdiff1d(indexed, ids)
        fresh = np.isin(ids, indexed, invert=True)
        if len(stale) or fresh.any():  # papers embedded or removed since it was saved
            adaptive.remove(stale)
            if fresh.any():
                adaptive.add(ids[fresh], np.asarray(vecs[fresh], dtype=np.float32))
            self._save_index(adaptive)
        return adaptive

    def rebuild_index(self, recall: float | None = None, *,
                      adaptor: bool = False) -> AdaptiveIndex | FaissAdaptiveIndex:
        """Build (and tune) the adaptive index from scratch and save it; with ``adaptor``,
        train a Matryoshka adaptor on the vectors first and score candidates on its codes.

        Its candidate stage runs in FAISS's compiled scan (2.35-2.36x faster than FAISS
        IVF-Flat at equal recall at 1M vectors, where the numpy stage is 0.88-0.95x; see
        BENCHMARKS.md); where faiss cannot be imported, the numpy index (without adaptor).
        """
        ids, vecs = self.store.items()
        vecs = np.asarray(vecs, dtype=np.float32)
        if _faiss_available():
            trained = Adaptor.fit(vecs) if adaptor else None
            index: AdaptiveIndex | FaissAdaptiveIndex = FaissAdaptiveIndex.build(
                ids, vecs, recall=recall or self.recall, adaptor=trained)
        else:
            index = AdaptiveIndex.build(ids, vecs, recall=recall or self.recall)
        self._save_index(index)
        with self._lock:
            self._index = index
        return index

    def _save_index(self, index: AdaptiveIndex | FaissAdaptiveIndex) -> None:
        """Save beside the live index, then swap folders, so a crash leaves one whole."""
        folder, fresh, old = (self.directory / n for n in ("index", "index.new", "index.old"))
        shutil.rmtree(fresh, ignore_errors=True)
        index.save(fresh)
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encoder.encode([text])[0]

    def search_vector(self, vector: np.ndarray, *, limit: int,
                      allowed: np.ndarray | None = None) -> Hits:
        """Nearest papers to a unit vector; ``allowed`` row ids restrict the search."""
        index = self.index()
        with one_blas_thread():
            found = index.search(vector[None, :].astype(np.float32), limit, allowed=allowed)
        ids, scores = found.ids[0], found.scores[0]
        keep = ids >= 0
        return Hits(ids[keep], scores[keep])

    def _lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stored ids sorted, their positions, and the vectors (cached until the next sync)."""
        with self._lock:
            if self._table is None:
                ids, vecs = self.store.items()
                order = np.argsort(ids, kind="stable")
                self._table = (ids[order], order, vecs)
            return self._table

    def vectors_of(self, rowids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which row ids have a vector, and those vectors (float32)."""
        ids, order, vecs = self._lookup()
        rowids = np.asarray(rowids, dtype=np.int64)
        at = np.searchsorted(ids, rowids).clip(0, max(len(ids) - 1, 0))
        found = (ids[at] == rowids) if len(ids) else np.zeros(len(rowids), dtype=bool)
        return found, np.asarray(vecs[order[at[found]]], dtype=np.float32)

    def vector_of(self, rowid: int) -> np.ndarray | None:
        """The stored vector of one paper."""
        found, vecs = self.vectors_of(np.asarray([rowid]))
        return vecs[0] if found[0] else None
