"""The embedded dense ranker: one encoder's vectors on disk, searched by the vector index.

Vectors live in a :class:`~papersift.vectors.store.VectorStore` under
``<library>/vectors/<encoder name>/``. Embedding
itself (reading papers, encoding them) is the library's job; this class stores what it is
given (:meth:`SemanticIndex.write`), keeps the search index in step, and answers
:meth:`SemanticIndex.search` with filters compiled by the paper store.

Many processes may read while one writes (the library's ``embed`` job lock):
:meth:`refresh` picks up what the writer published, adding new vectors to the in-memory
index without rebuilding it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from papersift.backends.base import PaperStore
from papersift.query import Filters
from papersift.ranking import Hits
from papersift.vectors import AdaptiveIndex, ExactIndex, VectorIndex
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex
from papersift.vectors.adaptor import Adaptor, AdaptorError
from papersift.vectors.store import Snapshot, VectorStore

__all__ = ["SemanticIndex", "one_blas_thread"]

_BLAS: ThreadpoolController | None = None
#: Seconds between checks for vectors other processes stored.
_RELOAD_EVERY = 0.5


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


def _faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _adaptive_class(kind: str | None) -> type[AdaptiveIndex] | type[FaissAdaptiveIndex]:
    return FaissAdaptiveIndex if kind == FaissAdaptiveIndex.kind else AdaptiveIndex


class SemanticIndex:
    """Vectors of one encoder under ``<library>/vectors/<encoder name>/``."""

    def __init__(self, directory: Path, *, name: str, dim: int, store: PaperStore,
                 exact_below: int = 20_000, recall: float = 0.95) -> None:
        self.directory = Path(directory)
        self.name = name
        self.dim = dim
        self.papers = store
        self.exact_below = exact_below
        self.recall = recall
        self.store = VectorStore.open(self.directory, encoder=name, dim=dim)
        self._index: VectorIndex | None = None
        self._index_snapshot: Snapshot | None = None  # the store snapshot it reflects
        self._indexed: np.ndarray = np.empty(0, np.int64)  # the ids the index holds
        self._absorbed: set[str] = set()  # the segments whose vectors it holds
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._allowed: OrderedDict[tuple[Filters, int], np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self._checked = time.monotonic()

    # -- writing --------------------------------------------------------------------------
    def write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store vectors (replacing older ones of the same papers) in one published snapshot.

        Which papers have a current vector is recorded by the paper store afterwards; a
        crash between the two embeds those papers again, replacing these vectors.
        """
        keys = np.asarray(keys, dtype=np.int64)
        self.store.replace(keys, keys, np.asarray(vectors).astype(np.float16))
        self._published()

    def legacy_cursor(self) -> tuple[int, int] | None:
        """``(seq, key)`` of the last embedded paper, as papersift before schema 4 kept it
        (``cursor.json``); None when there is none."""
        path = self.directory / "cursor.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return int(data["seq"]), int(data["rowid"])

    def drop_legacy_cursor(self) -> None:
        (self.directory / "cursor.json").unlink(missing_ok=True)

    def forget(self, keys: np.ndarray) -> None:
        """Drop the vectors of removed papers."""
        if len(keys) and self.store.remove(np.asarray(keys, dtype=np.int64)):
            self._published()

    @property
    def applied_seq(self) -> int:
        return self.store.applied_seq

    def mark_applied(self, seq: int) -> None:
        """Record that the vectors include every store change up to ``seq``."""
        if seq != self.store.applied_seq:
            self.store.applied_seq = seq

    def _published(self) -> None:
        with self._lock:
            self._table = None
            self._allowed.clear()

    # -- keeping up with other processes --------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        """Pick up vectors another process stored (checked at most every half second)."""
        now = time.monotonic()
        if not force and now - self._checked < _RELOAD_EVERY:
            return
        self._checked = now
        if self.store.reload():
            self._published()

    def _absorb(self, index: VectorIndex) -> VectorIndex:
        """Bring an index in step with the store: vectors of segments it has not seen are
        added (replacing older vectors of the same papers), removed papers are dropped."""
        snap = self.store.snapshot()
        ids = self.store.ids(snap)
        if isinstance(index, ExactIndex) and len(ids) >= self.exact_below:
            return self._open_index(snap)
        names = {s.name for s in snap.segments}
        fresh_ids, fresh_vecs = self.store.items_in(snap, names - self._absorbed)
        gone = np.union1d(np.setdiff1d(self._indexed, ids),
                          np.intersect1d(fresh_ids, self._indexed))
        if len(gone):
            index.remove(gone)
        if len(fresh_ids):
            index.add(fresh_ids, np.asarray(fresh_vecs, dtype=np.float32))
        self._indexed, self._absorbed = np.sort(ids), names
        return index

    # -- searching ------------------------------------------------------------------------
    @property
    def count(self) -> int:
        self.refresh()
        return self.store.count

    def index(self) -> VectorIndex:
        """The search index over the stored vectors: exact for small libraries, else the
        adaptive index saved under ``index/``, brought up to date with the store."""
        self.refresh()
        with self._lock:
            snap = self.store.snapshot()
            if self._index is None:
                self._index = self._open_index(snap)
            elif self._index_snapshot is not snap:
                self._index = self._absorb(self._index)
            self._index_snapshot = snap
            return self._index

    def prepare(self) -> None:
        """Make the index current and save it (after embedding), so searches start fast."""
        index = self.index()
        if isinstance(index, (AdaptiveIndex, FaissAdaptiveIndex)):
            self._save_index(index)

    def _open_index(self, snap: Snapshot) -> VectorIndex:
        ids, vecs = self.store.ids(snap), self.store.vectors(snap)
        self._indexed = np.sort(ids)
        self._absorbed = {s.name for s in snap.segments}
        if len(ids) < self.exact_below:
            exact = ExactIndex(self.dim)
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
        self._indexed = np.sort(adaptive.ids)
        absorbed = folder / "segments.json"
        if absorbed.exists():  # the segments whose vectors the saved index holds
            self._absorbed = set(json.loads(absorbed.read_text()))
        return self._absorb(adaptive)

    def rebuild_index(self, recall: float | None = None, *, adaptor: bool = False,
                      memory: float | None = None) -> AdaptiveIndex | FaissAdaptiveIndex:
        """Build (and tune) the adaptive index from scratch and save it; with ``adaptor``,
        train a Matryoshka adaptor on the vectors first and score candidates on its codes;
        with ``memory``, keep to codes that fit that many bytes of RAM per vector (a budget
        none fits is a ``ValueError`` raised before the adaptor is trained).

        Its candidate stage runs in FAISS's compiled scan (2.35-2.93x faster than FAISS
        IVF-Flat at equal recall at 1M vectors, 3.14x with the adaptor and per-query probing
        in one run, where the numpy stage is 0.88-0.95x; see BENCHMARKS.md); where faiss
        cannot be imported, the numpy index (without adaptor).
        """
        snap = self.store.snapshot()
        ids = self.store.ids(snap)
        vecs = np.asarray(self.store.vectors(snap), dtype=np.float32)
        if _faiss_available():
            if memory is not None:  # refused before minutes of training
                least = FaissAdaptiveIndex.least_memory(len(ids), self.dim, adaptor=adaptor)
                if memory < least:
                    raise ValueError(f"no index over {len(ids):,} vectors fits {memory:g} "
                                     f"bytes per vector in RAM: the least is about {least:.0f}")
            trained = Adaptor.fit(vecs) if adaptor else None
            index: AdaptiveIndex | FaissAdaptiveIndex = FaissAdaptiveIndex.build(
                ids, vecs, recall=recall or self.recall, adaptor=trained, memory=memory)
        elif memory is not None:
            raise ValueError("a memory budget needs the FAISS-backed index: pip install "
                             "faiss-cpu")
        else:
            index = AdaptiveIndex.build(ids, vecs, recall=recall or self.recall)
        with self._lock:
            self._index, self._index_snapshot = index, snap
            self._indexed, self._absorbed = np.sort(ids), {s.name for s in snap.segments}
        self._save_index(index)
        return index

    def index_summary(self) -> dict[str, Any]:
        """What searches the vectors, without opening it: ``{"kind": "exact"}`` below
        :attr:`exact_below` vectors, else the saved adaptive index's kind, count, stage sizes,
        code bits, RAM per vector once loaded, and what it was tuned for (from its
        ``index.json``; empty when none is saved yet)."""
        if self.count < self.exact_below:
            return {"kind": "exact", "below": self.exact_below}
        try:
            meta = json.loads((self.directory / "index" / "index.json").read_text())
        except (OSError, ValueError):
            return {}
        tuning = meta.get("tuning") or {}
        params = meta.get("params") or {}
        adaptor = meta.get("adaptor")
        return {"kind": meta.get("kind"), "vectors": meta.get("count"),
                "prefix_dims": meta.get("d_s", params.get("d_s")),
                "code_bits": meta.get("bits", 32 if meta.get("code_dtype") == "float32" else 8),
                "lists_probed": params.get("nprobe"),
                "probing": tuning.get("probing", "fixed"),
                "reranked": params.get("rerank"),
                "ram_bytes_per_vector": meta.get("ram_bytes_per_vector"),
                "recall_target": tuning.get("target"),
                "memory_budget": tuning.get("memory_budget"),
                "adaptor": adaptor.get("method") if isinstance(adaptor, dict) else None}

    def _save_index(self, index: AdaptiveIndex | FaissAdaptiveIndex) -> None:
        """Save beside the live index, then swap folders, so a crash leaves one whole."""
        folder, fresh, old = (self.directory / n for n in ("index", "index.new", "index.old"))
        shutil.rmtree(fresh, ignore_errors=True)
        index.save(fresh)
        (fresh / "segments.json").write_text(json.dumps(sorted(self._absorbed)))
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    def allowed(self, filters: Filters) -> np.ndarray:
        """Keys the filters accept, compiled by the paper store (cached per store change)."""
        key = (filters, self.papers.seq)
        with self._lock:
            found = self._allowed.get(key)
            if found is not None:
                self._allowed.move_to_end(key)
                return found
        found = self.papers.matching(filters)
        with self._lock:
            self._allowed[key] = found
            while len(self._allowed) > 32:
                self._allowed.popitem(last=False)
        return found

    def search(self, vector: np.ndarray, *, limit: int,
               filters: Filters | None = None) -> Hits:
        """Nearest papers to a unit vector, among those the filters accept."""
        allowed = self.allowed(filters) if filters else None
        index = self.index()
        with one_blas_thread():
            found = index.search(vector[None, :].astype(np.float32), limit, allowed=allowed)
        return found.row(0)

    def _lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stored ids sorted, their positions, and the vectors (cached until the next write)."""
        self.refresh()
        with self._lock:
            if self._table is None:
                ids, vecs = self.store.items()
                order = np.argsort(ids, kind="stable")
                self._table = (ids[order], order, vecs)
            return self._table

    def vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which keys have a vector, and those vectors (float32)."""
        ids, order, vecs = self._lookup()
        keys = np.asarray(keys, dtype=np.int64)
        at = np.searchsorted(ids, keys).clip(0, max(len(ids) - 1, 0))
        found = (ids[at] == keys) if len(ids) else np.zeros(len(keys), dtype=bool)
        return found, np.asarray(vecs[order[at[found]]], dtype=np.float32)

    def vector_of(self, key: int) -> np.ndarray | None:
        """The stored vector of one paper."""
        found, vecs = self.vectors(np.asarray([key]))
        return vecs[0] if found[0] else None

    def verify(self) -> list[str]:
        return self.store.verify()
