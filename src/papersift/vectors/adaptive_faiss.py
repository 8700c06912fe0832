"""The staged nested-prefix index with a compiled candidate stage (FAISS).

The same idea as :mod:`papersift.vectors.adaptive` (AdANNS-IVF): vectors are rotated so that
prefixes are nested, clustered at full length, candidates are scored on a short prefix and
the best ``rerank`` of them are re-ranked on the full-length float32 vectors (memory-mapped
after :meth:`load`). The difference is the middle stage: the ``d_s``-dim prefix codes live in
a FAISS ``IndexIVFScalarQuantizer`` (8-bit, one range for all dimensions: as accurate as
per-dimension ranges on MiniLM and ~6% faster, measured; 4-bit where a memory budget asks for
it) whose coarse quantizer holds
the *prefixes* of the full-length centroids, and whose lists hold the rows assigned to them at
full length. With many lists the centroids are themselves ranked in two stages (a small IVF
over them, tuned to find 99.5% of the exact top 32), which saves about 9% of a search.
FAISS ranks the centroids and scans the probed lists in compiled SIMD code, which numpy's
gather-widen-multiply cannot match: at 1M vectors that stage is what made the numpy index no
faster than FAISS IVF-Flat (see ``benchmarks/results/ann.md``).

How many lists a query probes can follow the query (:data:`PROBE_RANGE`): one whose best
centroid stands well above the rest finds its neighbours in fewer lists than one among many
near-equal centroids. The build fits, on its tuning queries, the median gap between a
query's best centroid score and its r-th best, and a query then probes the lists within the
gap at rank ``nprobe``. At 1M vectors this finds as much of the true top 10 in about a fifth
fewer codes; ranking the centroids apart from the scan costs a few microseconds, so at 20k
vectors it is slower. The build tunes both ways and times them with its other candidates;
as for every choice there (:func:`papersift.vectors.tuning.pick_config`), of those within
10% of the fastest it keeps the one with the highest recall, so where the two ways are
about as fast, a build may take either.

FAISS's ids are row positions in ``full``; ``pos_ids`` maps them to the caller's ids (memory-
mapped after :meth:`load` as ``full`` is: a search reads ``k`` of them, a filter all). Adds are
encoded at once (assigned to their nearest full-length centroid); removes are tombstones plus
a removal from the FAISS lists; :meth:`save` compacts. ``faiss-cpu`` is a dependency of
papersift; where it cannot be imported the library falls back to the numpy index.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from papersift.vectors.adaptive import (
    SMALL_FILTER,
    default_nlist,
    held_out_split,
)
from papersift.vectors.adaptor import Adaptor
from papersift.vectors.clustering import assign, list_centroids
from papersift.vectors.exact import exact_search
from papersift.vectors.index import Hits, allowed_mask, as_queries, checked_new, empty_hits
from papersift.vectors.nested import Rotation, fit_rotation
from papersift.vectors.store import atomic_save, atomic_write
from papersift.vectors.tuning import pick_config, time_interleaved

#: Candidate-scoring prefixes tried at build time (the fastest reaching the target wins):
#: of the rotation, and of an adaptor's codes (which keep more of the order at each length).
D_S_CHOICES = (96, 128, 192)
ADAPTOR_D_S_CHOICES = (32, 48, 64, 96, 128)
#: Bits per dimension of the candidate-stage codes: 8, unless a memory budget leaves room for
#: no more than 4 (``FaissAdaptiveIndex.build(memory=...)``). 4-bit codes halve the codes'
#: memory for about a tenth more scan time and a point less candidate quality (measured on the
#: 75k vectors' 128-dim adaptor codes, ``benchmarks/code_bits.py``).
CODE_BITS = (8, 4)
_QUANTIZERS = {8: "QT_8bit_uniform", 4: "QT_4bit_uniform"}
NPROBES = (1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 192, 256)
RERANKS = (20, 30, 50, 75, 100, 150, 200, 300)
TIMED_QUERIES = 200
#: From this many lists on, the centroids are ranked by a small IVF over the centroids
#: themselves instead of a flat scan (at 4,000 lists of 192 dims the flat scan is ~25% of a
#: search; with the two-level ranking a search is ~9% faster at equal recall, measured at 1M).
COARSE_MIN_LISTS = 1024
#: The share of the exact top-:data:`COARSE_REF_NPROBE` centroids the two-level ranking must
#: find on the tuning queries; the fewest super-lists probed that reach it are kept.
COARSE_RECALL = 0.995
COARSE_REF_NPROBE = 32
#: Lists probed per query, by how far its centroids' scores fall from its best one: a query
#: probes the lists whose centroid scores lie within the gap that the median tuning query has
#: between its best and its ``nprobe``-th best centroid, at least ``nprobe`` times the first
#: number here and at most ``nprobe`` times the second. A query whose best lists stand out
#: probes fewer than ``nprobe``; one whose scores fall slowly, more. At 1M vectors this finds
#: as much of the true top 10 in about 18% fewer codes scanned (see BENCHMARKS.md).
PROBE_RANGE = (0.5, 2.0)
#: The ranks whose median gap is kept (``nprobe`` beyond it uses the last).
GAP_RANKS = 512


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("FaissAdaptiveIndex needs FAISS: pip install faiss-cpu") from exc
    return faiss


def _coarse_quantizer(centroids: np.ndarray, queries: np.ndarray, *, seed: int = 0) -> Any:
    """The FAISS index that ranks the ``centroids`` (prefixes) for a query.

    Below :data:`COARSE_MIN_LISTS` a flat scan. From there on a small IVF over the centroids
    (about ``sqrt(nlist) / 2`` super-lists): it probes the fewest super-lists that find
    :data:`COARSE_RECALL` of the exact top-:data:`COARSE_REF_NPROBE` centroids of
    ``queries``, kept as its own ``nprobe`` (all of them when there are no queries)."""
    faiss = _faiss()
    centroids = np.ascontiguousarray(centroids, np.float32)
    nlist, dim = centroids.shape
    if nlist < COARSE_MIN_LISTS:
        flat = faiss.IndexFlatIP(dim)
        flat.add(centroids)
        flat.this.disown()  # owned by the IVF index it becomes the quantizer of
        return flat
    lists = max(8, round(nlist ** 0.5 / 2))
    top = faiss.IndexFlatIP(dim)
    coarse = faiss.IndexIVFFlat(top, dim, lists, faiss.METRIC_INNER_PRODUCT)
    coarse.own_fields = True
    top.this.disown()
    coarse.cp.seed = seed
    coarse.train(centroids)
    coarse.add(centroids)
    coarse.nprobe = lists
    queries = np.ascontiguousarray(queries, np.float32)
    if len(queries):
        ref = min(COARSE_REF_NPROBE, nlist)
        exact = np.argpartition(-(queries @ centroids.T), ref - 1, axis=1)[:, :ref]
        for probe in range(1, lists + 1):
            coarse.nprobe = probe
            _, found = coarse.search(queries, ref)
            share = np.mean([np.isin(e, f).mean() for e, f in zip(exact, found, strict=True)])
            if share >= COARSE_RECALL:
                break
    coarse.this.disown()
    return coarse


def _mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is (a view of) a memory-mapped file."""
    seen: object = array
    while seen is not None:
        if isinstance(seen, (np.memmap, mmap.mmap)):
            return True
        seen = getattr(seen, "base", None)
    return False


def _ram_per_vector(d: int, bits: int, n: int, nlist: int, dim: int, fixed: int) -> float:
    """Estimated RAM per vector after :meth:`FaissAdaptiveIndex.load` with ``d``-dim,
    ``bits``-bit codes over ``n`` rows in ``nlist`` lists: a code, its 8-byte FAISS id and a
    live flag per row, and what does not grow with ``n``: the full-length centroids and their
    code-length copies in the quantizer, and ``fixed`` bytes (rotation, adaptor)."""
    lists = nlist * (dim * 4 + d * 4 + 8)
    return -(-d * bits // 8) + 8 + 1 + (lists + fixed) / max(n, 1)


@dataclass(frozen=True)
class FaissParams:
    """Stage sizes: lists probed, and candidates re-ranked at full length."""

    nprobe: int
    rerank: int

    def scaled(self, budget: float | None, k: int, nlist: int) -> FaissParams:
        """The stage sizes for a ``budget`` (1.0 = as tuned) and ``k`` results (tuned for 10;
        as :meth:`papersift.vectors.adaptive.Params.scaled`)."""
        b = 1.0 if budget is None else max(float(budget), 1e-3)
        more = max(1.0, k / 10)
        if b == 1.0 and more == 1.0 and self.nprobe <= nlist and self.rerank >= k:
            return self  # as tuned: the common search, without a new object
        return FaissParams(min(nlist, max(1, round(self.nprobe * b * more**0.5))),
                           max(k, round(self.rerank * b * more)))


#: A tuning candidate: code length, bits, FAISS index, its gaps, stage sizes, recall.
Candidate = tuple[int, int, Any, "np.ndarray | None", FaissParams, float]


class FaissAdaptiveIndex:
    """Staged nested-prefix IVF index with a FAISS candidate stage; see the module docstring.

    Example::

        index = FaissAdaptiveIndex.build(ids, vecs, recall=0.95)
        hits = index.search(query[None, :], 10)
    """

    kind = "adaptive-faiss"
    small_filter = SMALL_FILTER

    def __init__(self, dim: int, *, rotation: Rotation | None = None, d_s: int = 128,
                 params: FaissParams | None = None, adaptor: Adaptor | None = None,
                 bits: int = 8) -> None:
        _faiss()
        if bits not in _QUANTIZERS:
            raise ValueError(f"codes have {' or '.join(map(str, CODE_BITS))} bits per "
                             f"dimension, not {bits}")
        self.dim, self.bits = int(dim), int(bits)
        self.rotation = rotation or Rotation.identity(self.dim)
        # an identity rotation is skipped at search time (a 384 x 384 product is ~8 µs)
        self._rotates = not np.array_equal(self.rotation.matrix, np.eye(self.dim))
        self.adaptor = adaptor
        if adaptor is not None and adaptor.dim != self.dim:
            raise ValueError(f"adaptor maps {adaptor.dim}-dim vectors, index holds {self.dim}")
        self.d_s = min(int(d_s), self.dim if adaptor is None else adaptor.width)
        self.params = params or FaissParams(nprobe=16, rerank=100)
        self.centroids = np.empty((0, self.dim), np.float32)  # full length, rotated
        self.full = np.empty((0, self.dim), np.float32)  # rotated rows (memory-mapped after load)
        self.more = np.empty((0, self.dim), np.float32)  # rows added since (positions after)
        self.pos_ids = np.empty(0, np.int64)
        self.cluster = np.empty(0, np.int64)
        self.alive = np.empty(0, bool)
        self._ivf: Any = None
        self._coarse: tuple[int, int] | None = None  # (super-lists probed, super-lists)
        self.tuning: dict[str, Any] = {}
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None
        self._count: int | None = None
        self._probe_params: dict[int, tuple[Any, ...]] = {}  # nprobe -> FAISS parameters
        #: per rank r, the median gap between a tuning query's best centroid score and its
        #: r+1-th best (:data:`PROBE_RANGE`); None: every query probes ``nprobe`` lists. It
        #: belongs to the FAISS index's centroid codes: setting :attr:`ivf` clears it.
        self.gaps: np.ndarray | None = None

    @property
    def ivf(self) -> Any:
        """The FAISS ``IndexIVFScalarQuantizer`` over the ``d_s``-dim prefixes (or None)."""
        return self._ivf

    @ivf.setter
    def ivf(self, ivf: Any) -> None:
        if ivf is self._ivf:
            return
        self._ivf, self._probe_params, self._coarse, self.gaps = ivf, {}, None, None
        if ivf is not None:
            quantizer = _faiss().downcast_index(ivf.quantizer)
            if isinstance(quantizer, _faiss().IndexIVF):
                self._coarse = (int(quantizer.nprobe), int(quantizer.nlist))

    def fit_probing(self, queries: np.ndarray | None) -> None:
        """Let each query probe its own number of lists, by the gaps measured on ``queries``
        (unit vectors, as they are searched: a sample of the kind of query the index will
        see); with None, every query probes ``nprobe`` lists. :meth:`build` chooses between
        the two as it chooses stage sizes (timed, at the recall target); this is for
        measuring one against the other on the same index."""
        self.gaps = (None if queries is None
                     else self._fit_gaps(self._rotate(as_queries(queries, self.dim))))

    def _rotate(self, vecs: np.ndarray) -> np.ndarray:
        """``vecs`` rotated as the index stores them, float32 (an identity rotation skipped:
        a 384 x 384 product is ~8 µs a query)."""
        if self._rotates:
            return self.rotation.apply(vecs).astype(np.float32)
        return np.asarray(vecs, np.float32)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, ids: np.ndarray, vecs: np.ndarray, *, recall: float = 0.95,
              queries: np.ndarray | None = None, rotation: Rotation | None = None,
              nlist: int | None = None, d_s: int | None = None, tune_queries: int = 500,
              margin: float = 0.01, adaptor: Adaptor | None = None,
              memory: float | None = None, seed: int = 0) -> FaissAdaptiveIndex:
        """Cluster (full length), encode and tune an index over ``vecs`` (unit vectors).

        ``recall`` is the recall@10 target against exact search, tuned for ``recall +
        margin`` on ``queries`` when given, else on ``tune_queries`` vectors held out of the
        build and added back after (as :meth:`AdaptiveIndex.build`). ``d_s``, the
        candidate-scoring length, is tuned among :data:`D_S_CHOICES` unless given. With an
        ``adaptor`` the candidates are scored on its codes (lengths
        :data:`ADAPTOR_D_S_CHOICES`) and the vectors are not rotated. ``memory``, bytes per
        vector held in RAM after :meth:`load` (see :meth:`memory_bytes`), keeps each length
        whose codes fit it, at the most bits (:data:`CODE_BITS`) that fit; a budget no
        length fits is a ``ValueError`` that names the least it needs."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids must be unique")
        if adaptor is not None:
            rot = rotation or Rotation.identity(adaptor.dim)
            lengths = tuple(d for d in ADAPTOR_D_S_CHOICES if d <= adaptor.width)
        else:
            rot = rotation or fit_rotation(vecs, seed=seed)
            lengths = D_S_CHOICES
        index = cls(rot.dim, rotation=rot, d_s=d_s or max(lengths), adaptor=adaptor)
        if len(ids) < 2:
            index.add(ids, vecs)
            return index
        ids, rotated, n_build = held_out_split(ids, vecs, rot, tune_queries=tune_queries,
                                               queries=queries, seed=seed)
        k = nlist or default_nlist(n_build, len(ids))
        index.centroids = list_centroids(rotated[:n_build], k, seed=seed)
        cluster = assign(rotated, index.centroids)
        tq = rotated[n_build:] if queries is None else rot.apply(queries)
        target = min(1.0, recall + margin)
        # every (d_s, nprobe, rerank) reaching the target, then timed against each other in
        # interleaved rounds, so that a busy moment of a shared machine favours none of them
        codes = index._codes_within(sorted({min(d, index.d_s) for d in
                                            ((d_s,) if d_s else lengths)}), memory, len(ids))
        candidates: list[Candidate] = []
        reached = False
        for d, bits in codes:
            index.d_s, index.bits = d, bits
            index._layout(ids[:n_build], rotated[:n_build], cluster[:n_build], tq, seed=seed)
            # each query probing its own number of lists, and every query nprobe: the first
            # scans fewer codes for the same recall, at the cost of ranking the centroids
            # apart from the scan; both are timed with the rest (pick_config chooses)
            for gaps in (index.gaps, None) if index.gaps is not None else (None,):
                index.gaps = gaps
                ok, choices = index._recall_choices(tq, target)
                reached |= ok
                candidates += [(d, bits, index.ivf, gaps, p, r) for p, r in choices
                               if ok or not reached]
        if reached:
            candidates = [c for c in candidates if c[5] >= target]
        index.tuning = {"tuned_for": target, "queries": len(tq), "nlist": index.nlist,
                        "reached": reached, "held_out": queries is None,
                        "adaptor": None if adaptor is None else adaptor.info.get("method"),
                        "memory_budget": memory}
        if candidates:
            latency = index._time_all(tq[:TIMED_QUERIES], candidates)
            best = pick_config(latency, [c[5] for c in candidates])
            # ivf before gaps: setting the FAISS index clears the gaps
            (index.d_s, index.bits, index.ivf, index.gaps, index.params,
             predicted) = candidates[best]
            index.tuning.update(predicted_recall=predicted, d_s=index.d_s, bits=index.bits,
                                latency_ms=float(latency[best]) * 1e3,
                                probing="per query" if index.gaps is not None else "fixed")
            if index._coarse is not None:
                index.tuning["coarse"] = {"probe": index._coarse[0],
                                          "lists": index._coarse[1]}
        index.tuning["target"] = recall
        if n_build < len(ids):  # the held-out rows join the index
            index._append(ids[n_build:], rotated[n_build:], cluster[n_build:])
        return index

    @classmethod
    def least_memory(cls, n: int, dim: int, *, adaptor: bool = False) -> float:
        """The smallest ``memory`` budget :meth:`build` can meet for ``n`` vectors of
        ``dim`` dims: its shortest length at 4 bits (an estimate, as the build's own)."""
        d = min(ADAPTOR_D_S_CHOICES if adaptor else D_S_CHOICES)
        fixed = dim * dim * 4 + (2 * dim * max(ADAPTOR_D_S_CHOICES) * 4 if adaptor else 0)
        return _ram_per_vector(d, CODE_BITS[-1], n, default_nlist(n, n), dim, fixed)

    def _codes_within(self, lengths: list[int], memory: float | None,
                      n: int) -> list[tuple[int, int]]:
        """(length, bits) to try: every length at 8 bits without a budget; with one, each
        length at the most bits whose estimated RAM per vector fits it."""
        if memory is None:
            return [(d, CODE_BITS[0]) for d in lengths]
        fixed = self.rotation.matrix.nbytes
        if self.adaptor is not None:
            fixed += self.adaptor.doc.nbytes + self.adaptor.query.nbytes

        def estimate(d: int, bits: int) -> float:
            return _ram_per_vector(d, bits, n, len(self.centroids), self.dim, fixed)

        fits = [(d, next((b for b in CODE_BITS if estimate(d, b) <= memory), 0))
                for d in lengths]
        if not any(b for _, b in fits):
            least = min(estimate(d, CODE_BITS[-1]) for d in lengths)
            raise ValueError(f"no candidate-stage code fits {memory:g} bytes per vector: the "
                             f"smallest needs {least:.0f} (codes, FAISS ids, lists)")
        return [(d, b) for d, b in fits if b]

    def _layout(self, ids: np.ndarray, rotated: np.ndarray, cluster: np.ndarray,
                queries: np.ndarray, *, seed: int = 0) -> None:
        """A fresh FAISS index over ``rotated`` (rows in list ``cluster``), trained here; its
        coarse quantizer is tuned on the rotated ``queries``."""
        faiss = _faiss()
        quantizer = _coarse_quantizer(self._codes(self.centroids), self._query_codes(queries),
                                      seed=seed)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, self.d_s, len(self.centroids),
                                            getattr(faiss.ScalarQuantizer,
                                                    _QUANTIZERS[self.bits]),
                                            faiss.METRIC_INNER_PRODUCT, False)
        ivf.own_fields = True  # the quantizer was disowned by Python
        rng = np.random.default_rng(seed)
        sample = rotated[np.sort(rng.choice(len(rotated), min(len(rotated), 200_000),
                                            replace=False))]
        ivf.train(self._codes(sample))
        self.ivf = ivf
        self.full = rotated
        self.more = np.empty((0, self.dim), np.float32)
        self.pos_ids = np.empty(0, np.int64)
        self.cluster = np.empty(0, np.int64)
        self.alive = np.empty(0, bool)
        self._encode(0, rotated, cluster)
        self.pos_ids, self.cluster = ids.copy(), cluster.astype(np.int64)
        self.alive = np.ones(len(ids), bool)
        self._written()
        self.gaps = self._fit_gaps(queries)

    def _fit_gaps(self, queries: np.ndarray) -> np.ndarray | None:
        """For each rank r, the median over the (rotated) ``queries`` of how far the score of
        a query's r+1-th best centroid falls below its best one's (scored as the coarse
        quantizer scores them: codes against codes); None without queries."""
        if not len(queries) or self.nlist < 2:
            return None
        scores = self._query_codes(queries) @ self._codes(self.centroids).T
        ranks = min(self.nlist, GAP_RANKS)
        if ranks < self.nlist:
            scores = np.partition(scores, self.nlist - ranks, axis=1)[:, -ranks:]
        top = -np.sort(-scores, axis=1)
        return np.median(top[:, :1] - top, axis=0).astype(np.float32)

    def _encode(self, start: int, rotated: np.ndarray, cluster: np.ndarray) -> None:
        """Add rows at positions ``start...`` to the FAISS lists given by ``cluster``."""
        faiss = _faiss()
        for a in range(0, len(rotated), 100_000):
            x = self._codes(rotated[a:a + 100_000])
            lists = np.ascontiguousarray(cluster[a:a + 100_000], np.int64)
            pos = np.arange(start + a, start + a + len(x), dtype=np.int64)
            self.ivf.add_core(len(x), faiss.swig_ptr(x), faiss.swig_ptr(pos),
                              faiss.swig_ptr(lists))

    def _codes(self, rows: np.ndarray) -> np.ndarray:
        """The candidate-stage codes of (rotated) stored rows: the adaptor's, else the
        ``d_s``-dim prefix."""
        if self.adaptor is not None:
            return self.adaptor.docs(rows, self.d_s)
        return np.ascontiguousarray(np.asarray(rows)[:, :self.d_s], np.float32)

    def _query_codes(self, qr: np.ndarray) -> np.ndarray:
        """The candidate-stage codes of (rotated) queries."""
        if self.adaptor is not None:
            return self.adaptor.queries(qr, self.d_s)
        return np.ascontiguousarray(qr[:, :self.d_s], np.float32)

    def _recall_choices(self, queries: np.ndarray, recall: float) -> tuple[
            bool, list[tuple[FaissParams, float]]]:
        """For each rerank size, the least nprobe reaching ``recall``@10 on rotated
        ``queries`` (not in the index), with its recall; (reached, choices). One FAISS search
        per nprobe at the largest rerank gives the recall of every smaller rerank too (its
        results come best first). When none reaches it: the best configuration found."""
        if not len(queries) or not self.nlist:
            return False, []
        truth = exact_search(self.full, np.arange(len(self.full)), queries,
                             min(10, len(self.full))).ids
        grid = [p for p in NPROBES if p < self.nlist] + [self.nlist]
        rows: list[np.ndarray] = []
        first = None
        for g, nprobe in enumerate(grid):
            found = self._candidates(queries, nprobe, max(RERANKS))
            rows.append(np.array([np.mean([np.isin(t, f[:rerank]).mean()
                                           for f, t in zip(found, truth, strict=True)])
                                  for rerank in RERANKS]))
            if first is None and rows[-1].max() >= recall:
                first = g
            if rows[-1].min() >= recall or (first is not None and g >= first + 4):
                break
        table = np.stack(rows)
        ok = table >= recall
        if not ok.any():
            gi, ri = np.unravel_index(np.argmax(table), table.shape)
            return False, [(FaissParams(grid[int(gi)], RERANKS[int(ri)]),
                            float(table[gi, ri]))]
        out = []
        for r, rerank in enumerate(RERANKS):
            if ok[:, r].any():
                g = int(np.flatnonzero(ok[:, r])[0])
                out.append((FaissParams(grid[g], rerank), float(table[g, r])))
        return True, out

    def _time_all(self, qrot: np.ndarray, candidates: list[Candidate]) -> np.ndarray:
        """Median seconds per single-query search of each (d_s, bits, ivf, gaps, params, _),
        timed in interleaved rounds."""

        def searcher(d: int, ivf: Any, gaps: np.ndarray | None,
                     params: FaissParams) -> Callable[[np.ndarray], object]:
            def search(q: np.ndarray) -> object:
                self.d_s, self.ivf, self.gaps = d, ivf, gaps  # ivf first: it clears gaps
                return self._search_rotated(q[None, :], 10, params, None)
            return search

        kept = (self.d_s, self.ivf, self.gaps)
        latency = time_interleaved(qrot, [searcher(d, ivf, gaps, p)
                                          for d, _, ivf, gaps, p, _ in candidates])
        self.d_s, self.ivf, self.gaps = kept
        return latency

    # ------------------------------------------------------------------ protocol
    @property
    def count(self) -> int:
        """Number of live vectors."""
        if self._count is None:
            self._count = int(self.alive.sum())
        return self._count

    @property
    def nlist(self) -> int:
        """Number of clusters (lists)."""
        return len(self.centroids)

    @property
    def ids(self) -> np.ndarray:
        """Live ids."""
        return self.pos_ids[self.alive]

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add vectors without rebuilding: each goes to its nearest full-length centroid."""
        ids, vecs = checked_new(ids, vecs, self.dim, self.ids)
        if not len(ids):
            return
        rotated = self._rotate(vecs)
        cluster = (assign(rotated, self.centroids) if self.nlist
                   else np.full(len(ids), -1, np.int64))
        self._append(ids, rotated, cluster)

    def _append(self, ids: np.ndarray, rotated: np.ndarray, cluster: np.ndarray) -> None:
        start = len(self.pos_ids)
        if self.ivf is not None:
            self._encode(start, rotated, cluster)
        self.more = np.concatenate([self.more, rotated.astype(np.float32)])
        self.pos_ids = np.r_[self.pos_ids, ids]
        self.cluster = np.r_[self.cluster, cluster.astype(np.int64)]
        self.alive = np.r_[self.alive, np.ones(len(ids), bool)]
        self._written()

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids (unknown ones ignored); return how many were removed."""
        pos = self._positions(np.asarray(ids, dtype=np.int64).ravel())
        if not len(pos):
            return 0
        if not self.alive.flags.writeable:
            self.alive = self.alive.copy()
        self.alive[pos] = False
        if self.ivf is not None:
            faiss = _faiss()
            self.ivf.remove_ids(faiss.IDSelectorBatch(len(pos), faiss.swig_ptr(
                np.ascontiguousarray(pos, np.int64))))
        self._written()
        return len(pos)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               budget: float | None = None) -> Hits:
        """Approximate top ``k`` by inner product; ``budget`` scales nprobe and rerank.

        With ``allowed``, only allowed vectors are returned: a filter of at most
        :attr:`small_filter` vectors is searched exactly; a larger one is passed to FAISS as
        an id selector and probes more lists, in proportion to how selective it is."""
        q = as_queries(queries, self.dim)
        if self.count == 0 or k <= 0:
            return empty_hits(len(q), max(k, 0))
        qr = self._rotate(q)
        if allowed is not None:
            mask = allowed_mask(allowed, self.pos_ids)
            assert mask is not None
            pos = np.flatnonzero(mask & self.alive)
            if len(pos) <= self.small_filter or not self.nlist:
                return self._exact(qr, k, pos)
        elif not self.nlist:
            return self._exact(qr, k, np.flatnonzero(self.alive))
        else:
            pos = None
        return self._search_rotated(qr, k, self.params.scaled(budget, k, self.nlist), pos)

    # ------------------------------------------------------------------ stages
    def _search_rotated(self, qr: np.ndarray, k: int, p: FaissParams,
                        allowed_pos: np.ndarray | None) -> Hits:
        nprobe = p.nprobe
        if allowed_pos is not None:
            selectivity = len(allowed_pos) / max(self.count, 1)
            nprobe = min(self.nlist, int(np.ceil(nprobe / max(selectivity, 1e-9))))
        elif len(qr) == 1:  # one query, no filter: the common case, without the loop's arrays
            found = self._candidates(qr, nprobe, max(p.rerank, k))[0]
            if found[-1] < 0:  # FAISS pads a short list with -1 at its end
                found = found[:int(np.count_nonzero(found >= 0))]
            if len(found) >= k:
                ids, scores = self._rerank(qr[0], found, k)
                return Hits(ids[None, :], scores[None, :])
            if nprobe >= self.nlist:
                out = empty_hits(1, k)
                ids, scores = self._rerank(qr[0], found, k)
                out.ids[0, :len(ids)], out.scores[0, :len(ids)] = ids, scores
                return out
            nprobe = min(self.nlist, nprobe * 2)
        out = empty_hits(len(qr), k)
        todo = np.arange(len(qr))
        while len(todo):
            found = self._candidates(qr if len(todo) == len(qr) else qr[todo], nprobe,
                                     max(p.rerank, k), allowed_pos)
            have = (found >= 0).sum(axis=1)  # FAISS pads a short list with -1 at its end
            short = (have < k) & (nprobe < self.nlist)
            for j in np.flatnonzero(~short).tolist():
                ids, scores = self._rerank(qr[todo[j]], found[j, :have[j]], k)
                out.ids[todo[j], :len(ids)], out.scores[todo[j], :len(ids)] = ids, scores
            todo = todo[short]
            nprobe = min(self.nlist, nprobe * 2)
        return out

    def _candidates(self, qr: np.ndarray, nprobe: int, n: int,
                    allowed_pos: np.ndarray | None = None) -> np.ndarray:
        """Per query (row), the positions of the best ``n`` candidates by the prefix score,
        best first, padded with -1 where fewer were found. Calls FAISS's C++ search directly
        with one cached parameter object per ``nprobe``: at one query, the Python wrapper's
        checks and copies and a fresh parameter object cost about 5% of the search. Without a
        filter, and with :attr:`gaps` fitted, each query probes its own number of lists
        (:data:`PROBE_RANGE`)."""
        faiss = _faiss()
        x = self._query_codes(qr)
        dist = np.empty((len(x), n), np.float32)
        found = np.empty((len(x), n), np.int64)
        if allowed_pos is None and self.gaps is not None and nprobe < self.nlist:
            lists, scores, params = self._probe_lists(x, nprobe)
            self.ivf.search_preassigned_c(len(x), faiss.swig_ptr(x), n, faiss.swig_ptr(lists),
                                          faiss.swig_ptr(scores), faiss.swig_ptr(dist),
                                          faiss.swig_ptr(found), False, params)
            return found
        if allowed_pos is None:
            params = self._params(nprobe)
        else:  # fresh parameters: the cached ones are shared
            allowed_pos = np.ascontiguousarray(allowed_pos, np.int64)
            # a local: FAISS keeps only a pointer, so it must outlive the search below
            selector = faiss.IDSelectorBatch(len(allowed_pos), faiss.swig_ptr(allowed_pos))
            params = self._search_params(nprobe)
            params[0].sel = selector
        self.ivf.search_c(len(x), faiss.swig_ptr(x), n, faiss.swig_ptr(dist),
                          faiss.swig_ptr(found), params[0])
        return found

    def _probe_lists(self, x: np.ndarray, nprobe: int) -> tuple[np.ndarray, np.ndarray, Any]:
        """The lists each query code in ``x`` probes at ``nprobe`` (a row per query, best
        first; -1 past a query's own count), their centroid scores, and the FAISS parameters
        to scan them with. The coarse quantizer ranks the centroids as for a search of
        ``nprobe`` lists; a query's count is that of the lists within the median gap at rank
        ``nprobe`` (:attr:`gaps`), bounded by :data:`PROBE_RANGE`."""
        assert self.gaps is not None
        faiss = _faiss()
        low, high = PROBE_RANGE
        width = min(self.nlist, max(nprobe, round(nprobe * high)))
        least = max(1, min(width, round(nprobe * low)))
        gap = self.gaps[min(nprobe, len(self.gaps)) - 1]
        coarse = self._params(nprobe)
        scores = np.empty((len(x), width), np.float32)
        lists = np.empty((len(x), width), np.int64)
        self.ivf.quantizer.search_c(len(x), faiss.swig_ptr(x), width, faiss.swig_ptr(scores),
                                    faiss.swig_ptr(lists), coarse[1] if len(coarse) > 1 else None)
        if len(x) == 1:  # one query: scan exactly its lists (scores fall along the row)
            count = min(width, max(least, int(np.count_nonzero(scores[0] >= scores[0, 0] - gap))))
            lists, scores, width = lists[:, :count], scores[:, :count], count
        else:
            beyond = scores < scores[:, :1] - gap
            beyond[:, :least] = False
            lists[beyond] = -1  # FAISS skips a list numbered -1
        return lists, scores, self._params(width)[0]

    def _params(self, nprobe: int) -> tuple[Any, ...]:
        """:meth:`_search_params` for ``nprobe``, made once and kept."""
        params = self._probe_params.get(nprobe)
        if params is None:
            params = self._probe_params[nprobe] = self._search_params(nprobe)
        return params

    def _search_params(self, nprobe: int) -> tuple[Any, ...]:
        """FAISS parameters probing ``nprobe`` lists (first), and the coarse quantizer's,
        which must stay referenced while they are used: the super-lists probed grow with
        ``nprobe`` beyond the :data:`COARSE_REF_NPROBE` they were tuned for."""
        faiss = _faiss()
        params = faiss.SearchParametersIVF()
        params.nprobe = int(nprobe)
        if self._coarse is None:
            return (params,)
        probe, lists = self._coarse
        coarse = faiss.SearchParametersIVF()
        coarse.nprobe = min(lists, int(np.ceil(probe * max(1.0, nprobe / COARSE_REF_NPROBE))))
        params.quantizer_params = coarse
        return params, coarse

    def _rerank(self, qr: np.ndarray, pos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids and full-length scores of the best ``k`` of the rows at ``pos`` for the
        (rotated) query ``qr``, best first."""
        scores = self._scores(qr, pos)
        if len(scores) > 4 * k:
            part = np.argpartition(scores, -k)[-k:]
            pos, scores = pos[part], scores[part]
        order = np.argsort(-scores, kind="stable")[:k]
        return self.pos_ids[pos[order]], scores[order]

    def _scores(self, qr: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Inner products of ``qr`` with the full-length rows at ``pos``. Where they all lie
        in ``full`` (float32, contiguous: as saved and memory-mapped), FAISS computes them in
        place, without numpy's copy of the gathered rows."""
        full = self.full
        if (len(pos) and full.dtype == np.float32 and full.flags.c_contiguous
                and qr.dtype == np.float32 and qr.flags.c_contiguous
                and (not len(self.more) or pos.max() < len(full))):
            faiss = _faiss()
            pos = np.ascontiguousarray(pos, np.int64)
            scores = np.empty(len(pos), np.float32)
            faiss.fvec_inner_products_by_idx(faiss.swig_ptr(scores), faiss.swig_ptr(qr),
                                             faiss.swig_ptr(np.asarray(full)),
                                             faiss.swig_ptr(pos), self.dim, 1, len(pos))
            return scores
        return self._rows(pos) @ qr

    def _exact(self, qr: np.ndarray, k: int, pos: np.ndarray) -> Hits:
        hits = exact_search(self._rows(pos), self.pos_ids[pos], qr, k)
        return Hits(hits.ids.astype(np.int64), hits.scores.astype(np.float32))

    def _rows(self, pos: np.ndarray) -> np.ndarray:
        """Full-length rotated rows at positions ``pos``."""
        n = len(self.full)
        if not len(self.more) or (len(pos) and pos.max() < n):
            return np.take(np.asarray(self.full), pos, axis=0)
        main = pos < n
        out = np.empty((len(pos), self.dim), np.float32)
        out[main] = self.full[pos[main]]
        out[~main] = self.more[pos[~main] - n]
        return out

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Positions of the live rows holding ``ids`` (unknown ids skipped)."""
        if self._lookup is None:
            live = np.flatnonzero(self.alive)
            order = np.argsort(self.pos_ids[live], kind="stable")
            self._lookup = (self.pos_ids[live][order], live[order])
        sorted_ids, where = self._lookup
        if not len(sorted_ids) or not len(ids):
            return np.empty(0, np.int64)
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        hit = sorted_ids[at] == ids
        return np.unique(where[at[hit]])

    def _written(self) -> None:
        self._lookup = None
        self._count = None

    # ------------------------------------------------------------------ persistence
    def compact(self) -> None:
        """Drop removed rows and fold added ones into ``full`` (re-encoding the lists)."""
        keep = np.flatnonzero(self.alive)
        rows = self._rows(keep)
        ids, cluster = self.pos_ids[keep], self.cluster[keep]
        if self.ivf is not None:
            self.ivf.reset()
            self._encode(0, rows, cluster)
        self.full, self.more = rows, np.empty((0, self.dim), np.float32)
        self.pos_ids, self.cluster, self.alive = ids, cluster, np.ones(len(keep), bool)
        self._written()

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write every array as ``.npy`` (temp name, then rename) and ``index.json`` last."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        if len(self.more) or not self.alive.all():
            self.compact()
        self.rotation.save(path / "rotation.npy")
        if self.adaptor is not None:
            self.adaptor.save(path)
        arrays = {"centroids": self.centroids, "full": self.full, "pos_ids": self.pos_ids,
                  "cluster": self.cluster}
        if self.ivf is not None:
            arrays["ivf"] = _faiss().serialize_index(self.ivf)
        for name, array in arrays.items():
            atomic_save(path / f"{name}.npy", np.asarray(array))
        meta = {"kind": self.kind, "dim": self.dim, "d_s": self.d_s, "bits": self.bits,
                "params": asdict(self.params), "count": self.count, "tuning": self.tuning,
                "ram_bytes_per_vector": round(self.memory_bytes(as_loaded=True)
                                              / max(self.count, 1), 1),
                "faiss": self.ivf is not None,
                "gaps": None if self.gaps is None else self.gaps.tolist(),
                "adaptor": None if self.adaptor is None else self.adaptor.info}
        atomic_write(path / "index.json", json.dumps(meta, indent=1).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Self:
        """Open a saved index; the full-length vectors, the ids and the rows' lists stay
        memory-mapped on disk (a search reads the ids of its results only; the lists are
        read when the index is compacted)."""
        path = Path(directory)
        meta = json.loads((path / "index.json").read_text())
        adaptor = Adaptor.load(path) if meta.get("adaptor") is not None else None
        index = cls(meta["dim"], rotation=Rotation.load(path / "rotation.npy"),
                    d_s=meta["d_s"], params=FaissParams(**meta["params"]), adaptor=adaptor,
                    bits=meta.get("bits", 8))
        index.centroids = np.load(path / "centroids.npy")
        index.full = np.load(path / "full.npy", mmap_mode="r")
        # plain views of the mapped files: indexing a np.memmap costs ~4 µs a search more
        index.pos_ids = np.load(path / "pos_ids.npy", mmap_mode="r").view(np.ndarray)
        index.cluster = np.load(path / "cluster.npy", mmap_mode="r").view(np.ndarray)
        index.alive = np.ones(len(index.pos_ids), bool)
        if meta.get("faiss"):
            index.ivf = _faiss().deserialize_index(np.load(path / "ivf.npy"))
        if meta.get("gaps"):  # indexes saved before the gaps probe nprobe lists a query
            index.gaps = np.asarray(meta["gaps"], np.float32)
        index.tuning = meta.get("tuning", {})
        index._written()
        return index

    def memory_bytes(self, *, as_loaded: bool = False) -> int:
        """Bytes held in RAM: the FAISS codes (``d_s`` bytes, or half that at 4 bits, plus an
        8-byte id per row), centroids, live flags and rows added since the load; not the
        memory-mapped arrays (after :meth:`load`: full-length vectors, ids, rows' lists).
        ``as_loaded``: what it would hold once saved and loaded again (after a build)."""
        held = [self.centroids, self.rotation.matrix, self.alive]
        if not as_loaded:  # saving folds the added rows into the mapped full vectors
            held += [self.pos_ids, self.cluster, self.full, self.more]
        if self.adaptor is not None:
            held += [self.adaptor.doc, self.adaptor.query]
        held = [a for a in held if not _mapped(a)]
        ivf = 0
        if self.ivf is not None:  # codes and ids, and the quantizer's centroid prefixes:
            ivf = self.ivf.ntotal * (self.ivf.code_size + 8) + self.nlist * self.d_s * 4
            if self._coarse is not None:  # held in super-lists, with ids and super-centroids
                ivf += self.nlist * 8 + self._coarse[1] * self.d_s * 4
        return int(sum(np.asarray(a).nbytes for a in held) + ivf)
