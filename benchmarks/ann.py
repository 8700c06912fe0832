"""ANN benchmark: adaptive indexes vs FAISS IVF-Flat, FAISS HNSW and exact brute force.

The adaptive indexes measured: ``FaissAdaptiveIndex`` (the library's: the staged index with
its candidate stage run by FAISS on the rotated prefix), the same with a Matryoshka adaptor
trained on the base (``papersift index --adaptor``: candidates scored on the adaptor's
shorter codes), and the numpy ``AdaptiveIndex`` (the fallback where faiss cannot be
imported; ``--no-numpy`` skips it).

Measures recall@10 against exact search, p50/p99 single-query latency, build time and bytes
of RAM per vector on (a) the real MiniLM vectors of the 75k arXiv sample and (b) synthetic
vectors (default 1,000,000) drawn from a Gaussian mixture fitted to the real ones, with
queries from held-out real papers. The generator is validated at the real size first: its
FAISS IVF-Flat recall-vs-nprobe curve and 10th-neighbour cosine quantiles are printed beside
the real ones with the tolerance they must meet. Every method is built first and then all
are timed together, in interleaved rounds (``--rounds``), so that the machine's drift over a
run reaches every method alike (see :func:`measure`).

Example::

    nice python benchmarks/ann.py --synthetic 1000000

Writes ``benchmarks/results/ann.md`` and ``docs/ann-recall-latency.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common import DATA
from papersift.vectors import AdaptiveIndex, Rotation, exact_search, fit_rotation, prefix_recall
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex
from papersift.vectors.adaptor import LADDER, Adaptor
from papersift.vectors.clustering import assign, kmeans
from papersift.vectors.nested import Codes

ROOT = Path(__file__).resolve().parent.parent
#: Generator validation tolerances (absolute): IVF recall at each nprobe, and each
#: quantile of the 10th-neighbour cosine.
RECALL_TOL, COSINE_TOL = 0.05, 0.03
NPROBES = (1, 2, 4, 8, 16, 32, 64, 128)
QUANTILES = (0.1, 0.5, 0.9)
#: Budgets swept for the adaptive indexes (1.0 = the stage sizes as tuned).
BUDGETS = (0.5, 0.6, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)


@dataclass
class Point:
    """One operating point of one method."""

    setting: str
    recall: float
    p50_ms: float
    p99_ms: float


@dataclass
class Run:
    """One operating point to time: its setting, its search (one query in, ids out) and what
    must be set on the index before it runs."""

    setting: str
    search: Callable[[np.ndarray], np.ndarray]
    prepare: Callable[[], None] = lambda: None


@dataclass
class Method:
    name: str
    build_s: float
    bytes_per_vector: float
    points: list[Point] = field(default_factory=list)
    disk_bytes_per_vector: float = 0.0
    runs: list[Run] = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------- data
def load_real(path: Path, n_queries: int, seed: int,
              rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit float32 (base, held-out queries) from the encoder's matrix (its first ``rows``
    rows only when given: a partial file from an embedding run in progress)."""
    x = np.load(path, mmap_mode="r")[:rows].astype(np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():  # rows a partial file has not reached yet
        sys.exit(f"{path}: {int((norms == 0).sum())} of the first {len(x)} rows are empty; "
                 "pass --real-rows up to the embedding run's 'done' count")
    x /= norms
    rows = np.random.default_rng(seed).permutation(len(x))
    return x[rows[n_queries:]], x[rows[:n_queries]]


def base_options(ap: argparse.ArgumentParser, *, adaptor_steps: int) -> None:
    """The options of every benchmark on the synthetic base below (``ann.py``,
    ``list_training.py``, ``adaptor_ab.py``), with the same defaults."""
    ap.add_argument("--real", type=Path, default=DATA / "arxiv-75k-minilm.f16.npy")
    ap.add_argument("--synthetic", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--adaptor-steps", type=int, default=adaptor_steps,
                    help="training steps of the adaptor (0: no adaptor)")


@dataclass(frozen=True)
class RealSplit:
    """The real vectors as the benchmarks on the synthetic base use them: held-out
    ``queries`` to evaluate on, ``tune`` (other real papers, which the adaptive indexes are
    tuned on) and ``fit`` (the rest, which the generator is fitted to)."""

    base: np.ndarray
    queries: np.ndarray

    @property
    def tune(self) -> np.ndarray:
        return self.base[:len(self.queries)]

    @property
    def fit(self) -> np.ndarray:
        return self.base[len(self.queries):]


def real_split(path: Path, n_queries: int, rows: int | None = None) -> RealSplit:
    """:func:`load_real` with the seed every benchmark on the synthetic base uses."""
    if not path.exists():
        sys.exit(f"{path} is missing: see ../shared/data/README.md")
    return RealSplit(*load_real(path, n_queries, seed=0, rows=rows))


def synthetic_base(gen: MixtureGenerator, n: int) -> np.ndarray:
    """The synthetic base of ``n`` vectors every such benchmark measures on."""
    return gen.sample(n, seed=11)


class MixtureGenerator:
    """A Gaussian mixture fitted to real vectors in their rotated (PCA) basis.

    Per cluster of a k-means on the real vectors: the mean, the top ``rank`` principal
    directions of its residuals with their variances, and a diagonal remainder carrying the
    rest of the residual variance per dimension. ``spread`` scales every residual; it and
    the number of clusters are calibrated (:func:`calibrate`) so that IVF recall and the
    10th-neighbour cosine match the real vectors.
    """

    def __init__(self, real: np.ndarray, *, clusters: int = 1000, rank: int = 24,
                 seed: int = 0) -> None:
        self.rotation = fit_rotation(real)
        x = self.rotation.apply(real)
        centroids = kmeans(x, clusters, iters=10, seed=seed)
        label = assign(x, centroids)
        self.weights = np.bincount(label, minlength=clusters) / len(x)
        self.means = np.zeros((clusters, x.shape[1]), np.float32)
        self.dirs = np.zeros((clusters, rank, x.shape[1]), np.float32)
        self.sd = np.zeros((clusters, rank), np.float32)
        self.diag = np.zeros((clusters, x.shape[1]), np.float32)
        for c in range(clusters):
            self._fit_cluster(c, x[label == c], rank)
        self.spread = 1.0
        self.seed = seed

    def _fit_cluster(self, c: int, members: np.ndarray, rank: int) -> None:
        if len(members) == 0:
            return
        mean = members.mean(axis=0)
        resid = members - mean
        _, s, vt = np.linalg.svd(resid, full_matrices=False)
        r = min(rank, len(s))
        self.means[c] = mean
        self.dirs[c, :r] = vt[:r]
        self.sd[c, :r] = s[:r] / np.sqrt(max(len(members) - 1, 1))
        rest = resid - (resid @ vt[:r].T) @ vt[:r]
        self.diag[c] = np.sqrt((rest ** 2).sum(axis=0) / max(len(members) - 1, 1))

    def sample(self, n: int, seed: int = 1) -> np.ndarray:
        """``n`` unit vectors in the original (unrotated) basis, float32."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.means.shape[1]), np.float32)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            c = rng.choice(len(self.weights), m, p=self.weights)
            z = rng.standard_normal((m, self.sd.shape[1])).astype(np.float32) * self.sd[c]
            low = np.einsum("nr,nrd->nd", z, self.dirs[c])
            iso = rng.standard_normal((m, self.means.shape[1])).astype(np.float32) * self.diag[c]
            x = self.means[c] + self.spread * (low + iso)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            out[start:start + m] = x @ self.rotation.matrix.T
        return out


# ---------------------------------------------------------------------------- metrics
def tenth_cosine(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Cosine of each query's 10th nearest neighbour in ``base``."""
    return exact_search(base, np.arange(len(base)), queries, 10).scores[:, 9]


def ivf_curve(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list[float]:
    """FAISS IVF-Flat recall@10 at each of :data:`NPROBES` (nlist = 4 sqrt(n))."""
    index, _ = faiss_ivf(base)
    out = []
    for nprobe in NPROBES:
        index.nprobe = nprobe
        out.append(recall(index.search(queries, 10)[1], truth))
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(f, t)) / 10 for f, t in zip(found, truth,
                                                                          strict=True)]))


def timed(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[
        np.ndarray, float, float]:
    """Run ``search`` one query at a time; (ids, p50 ms, p99 ms).

    Every query is run once untimed first, so that no method pays for first touches (the
    adaptive indexes' memory-mapped full vectors, FAISS's lazily allocated buffers) inside
    its timings: what is timed is a warm server."""
    for q in queries:
        search(q[None, :])
    found, times = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(search(q[None, :]))
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return np.vstack(found), float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


# ---------------------------------------------------------------------------- methods
def faiss_ivf(base: np.ndarray) -> tuple[object, float]:
    import faiss

    nlist = round(4 * np.sqrt(len(base)))
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(base.shape[1])
    index = faiss.IndexIVFFlat(quantizer, base.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    train = base[rng.choice(len(base), min(len(base), 64 * nlist), replace=False)]
    index.cp.niter = 10
    index.train(train)
    index.add(base)
    return index, time.perf_counter() - start


def run_methods(base: np.ndarray, queries: np.ndarray, truth: np.ndarray, *,
                hnsw: bool, exact_queries: int, numpy_index: bool = True,
                adaptor: Adaptor | None = None, memory: tuple[float, ...] = (),
                tune_queries: np.ndarray | None = None, rounds: int = 3) -> list[Method]:
    """Every method on ``base``; the adaptive indexes are tuned on their own held-out
    vectors, or on ``tune_queries`` (real papers disjoint from ``queries``) for a synthetic
    base. ``adaptor`` (trained on ``base``) adds the FAISS-backed index with it, once
    without a memory budget and once within each of ``memory`` (bytes per vector). All
    methods are built first, then timed together (:func:`measure`); exact search last,
    on the first ``exact_queries`` queries."""
    adaptive: list[tuple[Any, Adaptor | None, float | None]] = (
        [(AdaptiveIndex, None, None)] if numpy_index else [])
    adaptive.append((FaissAdaptiveIndex, None, None))
    if adaptor is not None:
        least = FaissAdaptiveIndex.least_memory(len(base), base.shape[1], adaptor=True)
        for budget in (b for b in memory if b < least):  # the lists' share is too large
            print(f"memory budget {budget:g} B skipped at {len(base):,} vectors: the least "
                  f"is about {least:.0f}", flush=True)
        adaptive += [(FaissAdaptiveIndex, adaptor, budget)
                     for budget in (None, *(b for b in memory if b >= least))]
    with contextlib.ExitStack() as keep:  # the saved adaptive indexes, until timed
        methods = [*(_adaptive_method(keep, cls, base, tune_queries, with_adaptor, budget)
                     for cls, with_adaptor, budget in adaptive),
                   *_other_methods(base, hnsw=hnsw)]
        measure(methods, queries, truth, rounds)
    return [*methods, _exact_method(base, queries[:exact_queries], truth[:exact_queries])]


def measure(methods: list[Method], queries: np.ndarray, truth: np.ndarray,
            rounds: int) -> None:
    """Time every operating point of every method in ``rounds`` interleaved rounds and set
    the methods' points: each round times all the points of each method in turn, the
    methods' order rotated by one from round to round, so that a drift in the machine's
    speed over the minutes of a run falls on every method alike instead of on whichever
    was timed last (two runs a day apart differed by 15% for every method). A point's p50
    and p99 are the medians of its rounds'; its recall is the first round's (the results
    do not change between rounds)."""
    seen: dict[int, list[tuple[np.ndarray, float, float]]] = {}
    for r in range(rounds):
        shift = r % len(methods)
        for m in methods[shift:] + methods[:shift]:
            for run in m.runs:
                run.prepare()
                seen.setdefault(id(run), []).append(timed(run.search, queries))
        print(f"timing round {r + 1}/{rounds}, p50 ms of each point:", flush=True)
        for m in methods:  # to the log only: how far a point moves between rounds
            print(f"  {m.name.split(' (')[0]}: "
                  + " ".join(f"{seen[id(run)][-1][1]:.3f}" for run in m.runs), flush=True)
    for m in methods:
        m.points = [Point(run.setting, recall(seen[id(run)][0][0], truth),
                          float(np.median([t[1] for t in seen[id(run)]])),
                          float(np.median([t[2] for t in seen[id(run)]])))
                    for run in m.runs]
        print(m, flush=True)


def _adaptive_method(keep: contextlib.ExitStack,
                     cls: type[AdaptiveIndex] | type[FaissAdaptiveIndex], base: np.ndarray,
                     tune_queries: np.ndarray | None, adaptor: Adaptor | None = None,
                     memory: float | None = None) -> Method:
    """Build one adaptive index, save it and load it back from a folder ``keep`` holds
    (served as deployed: its full vectors memory-mapped); its budgets are the points to
    time. Its build time includes the adaptor's training (``adaptor.info['seconds']``)."""
    ids = np.arange(len(base), dtype=np.int64)
    start = time.perf_counter()
    if adaptor is not None:
        built = FaissAdaptiveIndex.build(ids, base, queries=tune_queries, adaptor=adaptor,
                                         memory=memory)
    else:
        built = cls.build(ids, base, queries=tune_queries)
    build_s = time.perf_counter() - start + (adaptor.info.get("seconds", 0) if adaptor else 0)
    tmp = keep.enter_context(tempfile.TemporaryDirectory())
    built.save(tmp)
    del built
    index = cls.load(tmp)
    disk = sum(f.stat().st_size for f in Path(tmp).iterdir())
    m = Method(_describe(index), build_s, index.memory_bytes() / index.count,
               disk_bytes_per_vector=disk / index.count)
    m.runs = [Run(f"budget {budget}", lambda q, b=budget: index.search(q, 10, budget=b).ids)
              for budget in BUDGETS]
    print(f"built {m.name} in {build_s:.0f} s", flush=True)
    return m


def _describe(index: AdaptiveIndex | FaissAdaptiveIndex) -> str:
    """The method's name and its tuned stage sizes."""
    p, t = index.params, index.tuning
    tuned = (f"tuned for {t.get('tuned_for', 0):.2f} on {t.get('queries', 0)} held-out "
             f"queries, predicted {t.get('predicted_recall', 0):.3f}")
    if isinstance(index, FaissAdaptiveIndex):
        coarse = t.get("coarse")
        ranked = (f", centroids ranked via {coarse['probe']} of {coarse['lists']} super-lists"
                  if coarse else "")
        codes = f"{index.bits}-bit in FAISS IVF-SQ{index.bits}"
        if t.get("probing") == "per query":
            codes += ", lists probed per query"
        if index.adaptor is not None:
            info = index.adaptor.info
            budget = t.get("memory_budget")
            within = f" within {budget:g} B" if budget else ""
            return (f"adaptive-faiss+adaptor{within} (nlist {index.nlist}{ranked}, d_s "
                    f"{index.d_s} adaptor codes ({info.get('method')}, {info.get('steps', 0)} "
                    f"steps on {info.get('rows', 0):,} rows, {info.get('seconds', 0):.0f} s) "
                    f"{codes}, nprobe {p.nprobe}, rerank {p.rerank}; {tuned})")
        return (f"adaptive-faiss (nlist {index.nlist}{ranked}, d_s {index.d_s} {codes}, "
                f"nprobe {p.nprobe}, rerank {p.rerank}; {tuned})")
    return (f"adaptive (nlist {index.nlist}, d_c {index.d_c}, d_p {p.d_p}, d_s {p.d_s}, "
            f"nprobe {p.nprobe}, rerank {p.rerank}; {tuned})")


def _other_methods(base: np.ndarray, *, hnsw: bool) -> list[Method]:
    """FAISS IVF-Flat (its nprobe swept) and, with ``hnsw``, FAISS HNSW (efSearch swept)."""
    import faiss

    ivf, build = faiss_ivf(base)
    m = Method(f"FAISS IVF-Flat (nlist {ivf.nlist})", build, base.shape[1] * 4 + 8)
    m.runs = [Run(f"nprobe {nprobe}", lambda q: ivf.search(q, 10)[1],
                  lambda n=nprobe: setattr(ivf, "nprobe", n))
              for nprobe in (4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 128, 256)]
    methods = [m]
    if hnsw:
        start = time.perf_counter()
        h = faiss.IndexHNSWFlat(base.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        h.add(base)
        m = Method("FAISS HNSW (M 32, efConstruction 40)", time.perf_counter() - start,
                   base.shape[1] * 4 + 32 * 2 * 4 * 1.05)
        m.runs = [Run(f"efSearch {ef}", lambda q: h.search(q, 10)[1],
                      lambda ef=ef: setattr(h.hnsw, "efSearch", ef))
                  for ef in (16, 32, 48, 64, 96, 128, 192, 256)]
        methods.append(m)
    return methods


def _exact_method(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> Method:
    """Exact numpy search, timed on its own (its one point is the reference for recall, and
    it is 1,000 times slower than the others)."""
    ids = np.arange(len(base), dtype=np.int64)
    found, p50, p99 = timed(lambda q: exact_search(base, ids, q, 10).ids, queries)
    m = Method("exact numpy (float32)", 0.0, base.shape[1] * 4 + 8,
               [Point("-", recall(found, truth), p50, p99)])
    print(m, flush=True)
    return m


# ---------------------------------------------------------------------------- generator
def calibrate(real: np.ndarray, queries: np.ndarray,
              clusters: tuple[int, ...] = (250, 500, 1000, 2000),
              spreads: tuple[float, ...] = (0.9, 0.95, 1.0, 1.05, 1.1)) -> MixtureGenerator:
    """The generator (mixture components x residual spread, on a grid) that best matches
    *both* validation measures: the largest deviation, in units of its tolerance, of the
    IVF-Flat recall curve and of the 10th-neighbour cosine quantiles.

    The two pull apart: a tighter spread raises the neighbour cosine but makes clusters
    that IVF finds too easily, and many small components are easier for IVF than few broad
    ones (2000 components at spread 1.0 gave IVF recall +0.058 at nprobe 2; matching the
    cosine alone, +0.08). Calibrated on one sample and these queries, validated on another
    sample and the evaluation queries."""
    curve, cos = _profile(real, queries)
    best: tuple[float, MixtureGenerator | None] = (np.inf, None)
    for n in clusters:
        gen = MixtureGenerator(real, clusters=n)
        for spread in spreads:
            gen.spread = spread
            c, q = _profile(gen.sample(len(real), seed=5), queries)
            score = max(float(np.max(np.abs(np.subtract(c, curve)))) / RECALL_TOL,
                        float(np.max(np.abs(q - cos))) / COSINE_TOL)
            print(f"  {n} components, spread {spread}: worst deviation {score:.2f} "
                  "tolerances", flush=True)
            if score < best[0]:
                best = (score, copy.copy(gen))
    assert best[1] is not None
    return best[1]


def _profile(base: np.ndarray, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """IVF-Flat recall curve and 10th-neighbour cosine quantiles of ``base``."""
    found = exact_search(base, np.arange(len(base)), queries, 10)
    return ivf_curve(base, queries, found.ids), np.quantile(found.scores[:, 9], QUANTILES)


def validate(real: np.ndarray, synth: np.ndarray, queries: np.ndarray,
             adaptor: Adaptor | None = None) -> tuple[list[str], bool]:
    """Side-by-side IVF curve, 10th-neighbour cosine quantiles and (with an ``adaptor``
    trained on the real vectors) how nested the two sets are, and whether they match."""
    rows = ["| measure | real | synthetic | diff | tolerance |", "|---|---|---|---|---|"]
    ok = True
    curves = []
    for base in (real, synth):
        truth = exact_search(base, np.arange(len(base)), queries, 10).ids
        curves.append(ivf_curve(base, queries, truth))
    for nprobe, a, b in zip(NPROBES, *curves, strict=True):
        ok &= abs(a - b) <= RECALL_TOL
        rows.append(f"| IVF-Flat recall@10, nprobe {nprobe} | {a:.3f} | {b:.3f} | {b - a:+.3f} "
                    f"| ±{RECALL_TOL} |")
    cos = [np.quantile(tenth_cosine(base, queries), QUANTILES) for base in (real, synth)]
    for qt, a, b in zip(QUANTILES, *cos, strict=True):
        ok &= abs(a - b) <= COSINE_TOL
        rows.append(f"| 10th-neighbour cosine, q{int(qt * 100)} | {a:.3f} | {b:.3f} "
                    f"| {b - a:+.3f} | ±{COSINE_TOL} |")
    if adaptor is not None:  # the adaptor's speed-up rests on this structure
        for label, codes in nested_codes(real, adaptor).items():
            got = [prefix_recall(base, queries, codes=codes, prefixes=NESTED)
                   for base in (real, synth)]
            for m in NESTED:
                a, b = got[0][m][1], got[1][m][1]
                ok &= abs(a - b) <= RECALL_TOL
                rows.append(f"| {label} {m}-dim: full top-10 in top-100 | {a:.3f} | {b:.3f} "
                            f"| {b - a:+.3f} | ±{RECALL_TOL} |")
    return rows, bool(ok)


#: Code lengths at which the nested structure of real and synthetic vectors is compared.
NESTED = (32, 64)


def nested_codes(real: np.ndarray, adaptor: Adaptor) -> dict[str, Codes]:
    """The codes compared in :func:`validate`: the real vectors' rotation with normalised
    prefixes, and the adaptor trained on them."""
    return {"rotation (normalised prefix)": Adaptor.from_rotation(fit_rotation(real)),
            "adaptor": adaptor}


# ---------------------------------------------------------------------------- report
def table(title: str, n: int, methods: list[Method]) -> list[str]:
    rows = [f"### {title} ({n:,} vectors)", "",
            "| method | setting | recall@10 | p50 ms | p99 ms | build s | RAM bytes/vector "
            "| disk bytes/vector |", "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        disk = f"{m.disk_bytes_per_vector:.0f}" if m.disk_bytes_per_vector else "-"
        for p in m.points:
            rows.append(f"| {m.name} | {p.setting} | {p.recall:.3f} | {p.p50_ms:.2f} | "
                        f"{p.p99_ms:.2f} | {m.build_s:.0f} | {m.bytes_per_vector:.0f} | {disk} |")
    return [*rows, "", *summary(methods, n), ""]


def at_recall(m: Method, target: float) -> float:
    """Fastest p50 among the method's points with recall >= target (inf when none)."""
    ok = [p.p50_ms for p in m.points if p.recall >= target]
    return min(ok) if ok else float("inf")


def interpolated(m: Method, target: float) -> float:
    """p50 at exactly ``target`` recall, interpolated linearly between the sweep's last point
    below and first point at or above it (the fastest point when all are above; inf when
    none reaches it). Compares methods at *equal* recall, not at whichever grid point
    happens to clear the bar."""
    points = sorted(m.points, key=lambda p: (p.recall, p.p50_ms))
    above = [p for p in points if p.recall >= target]
    if not above:
        return float("inf")
    first = min(above, key=lambda p: p.p50_ms)
    below = [p for p in points if p.recall < target and p.p50_ms < first.p50_ms]
    if not below:
        return first.p50_ms
    lo = max(below, key=lambda p: p.recall)
    frac = (target - lo.recall) / (first.recall - lo.recall)
    return lo.p50_ms + frac * (first.p50_ms - lo.p50_ms)


def summary(methods: list[Method], n: int, target: float = 0.95) -> list[str]:
    """p50 at recall@10 = ``target`` per method (interpolated, and the fastest measured
    point at or above it), and the issue's two ratios at equal recall (their targets are
    set at 1M vectors; below that they are only reported)."""
    lat = {m.name.split(" (")[0]: interpolated(m, target) for m in methods}
    fastest = {m.name.split(" (")[0]: at_recall(m, target) for m in methods}
    out = [f"p50 at recall@10 = {target} (interpolated in each sweep; fastest measured point "
           f"with recall ≥ {target} in brackets): "
           + ", ".join(f"{k} {v:.2f} ms ({fastest[k]:.2f})" for k, v in lat.items()), ""]
    goals = {"exact numpy": 10.0, "FAISS IVF-Flat": 2.0, "FAISS HNSW": None}
    for mine in (name for name in lat if name.startswith("adaptive")):
        for other, goal in goals.items():
            if other not in lat:
                continue
            ratio = lat[other] / lat[mine]
            if "+adaptor" in mine and goal == 2.0:
                goal = 3.0  # issue 13's target for the index with the adaptor
            verdict = "" if goal is None else (
                f" (target at 1M: ≥ {goal:.0f}x; not applicable at {n:,})" if n < 1_000_000
                else f" (target ≥ {goal:.0f}x: **{'met' if ratio >= goal else 'missed'}**)")
            out.append(f"- {mine} vs {other} at equal recall: {ratio:.2f}x faster{verdict}")
    return out


def plot(results: dict[str, list[Method]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, (title, methods) in zip(axes[0], results.items(), strict=True):
        for m in methods:
            ax.plot([p.p50_ms for p in m.points], [p.recall for p in m.points], "o-",
                    label=m.name.split(" (")[0])
        ax.axhline(0.95, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set(title=title, xlabel="p50 single-query latency (ms, log)", ylabel="recall@10")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines()
        if line.startswith("Model name")), platform.processor())
    py = sys.version.split()[0]
    return f"{model}, {os.cpu_count()} cores, numpy {np.__version__}, Python {py}"


def prefix_rows(base: np.ndarray, queries: np.ndarray,
                adaptor: Adaptor | None = None) -> list[str]:
    """Recall@10 and full-top-10-in-top-100 per prefix length: unrotated, rotated, the
    rotation with normalised prefixes, and the adaptor (see ``benchmarks/nested.py``)."""
    rot = fit_rotation(base)
    codes: dict[str, Codes] = {"unrotated": Rotation.identity(base.shape[1]), "rotated": rot,
                               "rotated, normalised": Adaptor.from_rotation(rot)}
    if adaptor is not None:
        codes["adaptor"] = adaptor
    found = {name: prefix_recall(base, queries, codes=c, prefixes=LADDER)
             for name, c in codes.items()}
    rows = ["| prefix | " + " | ".join(f"recall@10 {n}" for n in found) + " | "
            + " | ".join(f"top-10 in top-100 {n}" for n in found) + " |",
            "|---|" + "---|" * (2 * len(found))]
    rows += [f"| {m} | " + " | ".join(f"{r[m][0]:.3f}" for r in found.values()) + " | "
             + " | ".join(f"{r[m][1]:.3f}" for r in found.values()) + " |" for m in LADDER]
    return rows


def train_adaptor(base: np.ndarray, steps: int) -> Adaptor:
    """The adaptor ``papersift index --adaptor`` would train on ``base``."""
    adaptor = Adaptor.fit(base, steps=steps)
    print(f"adaptor: {adaptor.info}", flush=True)
    return adaptor


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_options(ap, adaptor_steps=2000)
    ap.add_argument("--exact-queries", type=int, default=50)
    ap.add_argument("--real-rows", type=int, default=None,
                    help="use only the first N rows of --real (a partial embedding file)")
    ap.add_argument("--clusters", type=int, nargs="+", default=[250, 500, 1000, 2000],
                    help="mixture component counts the generator is calibrated over")
    ap.add_argument("--no-hnsw", action="store_true")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy adaptive index")
    ap.add_argument("--memory-budgets", type=float, nargs="*", default=[],
                    help="bytes per vector: the adaptor's index is also built within each")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved timing rounds over all built methods (see measure())")
    ap.add_argument("--hnsw-max", type=int, default=None,
                    help="run HNSW only on bases of at most N vectors (its build is the slowest)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ann.md")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "ann-recall-latency.png")
    args = ap.parse_args(argv)
    split = real_split(args.real, args.queries, rows=args.real_rows)
    real, queries = split.base, split.queries
    lines = [f"# ANN benchmark\n\nCommand: `python benchmarks/ann.py {' '.join(sys.argv[1:])}`",
             f"Machine: {machine()}. Real vectors: {args.real.name}, {len(real):,} base + "
             f"{len(queries)} held-out real papers as queries. Single-query latency, one query "
             f"at a time, every method's points timed in {args.rounds} interleaved rounds "
             "(median of the rounds' p50 and p99); BLAS/OpenMP threads: "
             f"{os.environ.get('OMP_NUM_THREADS', 'default')}.", "",
             "RAM bytes/vector: for the adaptive index, the bytes of the arrays it holds in RAM "
             "after `AdaptiveIndex.load` (int8 prefix codes, ids, centroids, rotation; its "
             "full-length float32 vectors are memory-mapped from disk and not counted); for "
             "FAISS the float32 vectors and ids (plus the graph links for HNSW); for exact the "
             "float32 matrix and ids.", "",
             ]
    adaptor = train_adaptor(real, args.adaptor_steps) if args.adaptor_steps else None
    lines += ["## Nested prefixes (real vectors, 300 queries)", "",
              *prefix_rows(real, queries[:300], adaptor), ""]
    print("\n".join(lines), flush=True)
    # real papers to tune the adaptive index on the synthetic base: disjoint from the
    # evaluation queries and left out of the generator's fit
    tune_real, fit_real = split.tune, split.fit
    gen = calibrate(fit_real, tune_real, tuple(args.clusters))  # validated below
    rows, ok = validate(fit_real, gen.sample(len(fit_real), seed=7), queries, adaptor)
    lines += [f"## Synthetic generator validation at {len(fit_real):,} "
              f"({len(gen.weights)} mixture components, spread {gen.spread})", "",
              *rows, "", f"Within tolerance: **{'yes' if ok else 'NO'}**", ""]
    print("\n".join(rows), flush=True)
    results = {}
    for title, base in ((f"real MiniLM, {args.real.name}", real),
                        ("synthetic mixture", None)):
        synthetic = base is None
        if base is None:
            base = synthetic_base(gen, args.synthetic)
        truth = exact_search(base, np.arange(len(base)), queries, 10).ids
        hnsw = not args.no_hnsw and (args.hnsw_max is None or len(base) <= args.hnsw_max)
        if synthetic and adaptor is not None:  # as a library would: trained on its vectors
            adaptor = train_adaptor(base, args.adaptor_steps)
        methods = run_methods(base, queries, truth, hnsw=hnsw,
                              exact_queries=args.exact_queries, numpy_index=not args.no_numpy,
                              adaptor=adaptor, memory=tuple(args.memory_budgets),
                              tune_queries=tune_real if synthetic else None,
                              rounds=args.rounds)
        results[f"{title} ({len(base):,})"] = methods
        lines += table(title, len(base), methods)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    plot(results, args.plot)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
