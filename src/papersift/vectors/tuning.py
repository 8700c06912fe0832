"""Build-time tuning of the adaptive index's stage sizes ``(d_p, nprobe, d_s, rerank)``.

The final re-rank is exact, so a true top-10 neighbour is returned exactly when it reaches
the re-rank set: its list is among the ``nprobe`` best by the ``d_p``-dim centroid scores,
and fewer than ``rerank`` probed candidates beat it on the ``d_s`` prefix. For each tuning
query (held out of the index, like a new paper's) and each ``d_p`` we therefore score the
members of the first ``P_max`` lists once, for every prefix length, and read the recall of
every configuration off cumulative counts, with no search per configuration. A cost model
shortlists the cheapest configurations that reach the target; the shortlist is then timed
with real single-query searches and the fastest measured one wins.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from papersift.vectors.exact import exact_search

if TYPE_CHECKING:
    from papersift.vectors.adaptive import AdaptiveIndex, Params

NPROBES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
#: Candidate-scoring prefixes ``d_s`` and centroid-ranking prefixes ``d_p``.
PREFIXES = (16, 32, 48, 64, 96, 128)
PROBE_PREFIXES = (32, 64, 128, 384)
RERANKS = (10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 800, 1200, 2000)
#: Rough per-query cost model (seconds): fixed, per centroid-dimension, per probed list, per
#: candidate-dimension scored (gather, widen, multiply), per candidate
#: (selection), per row re-ranked (a float32 row gathered from the memory map). Measured on
#: a loaded 2-core x86 box; only used to shortlist, the choice is made on measured latency.
COST_QUERY, COST_CENTROID, COST_LIST = 60e-6, 0.08e-9, 0.3e-6
COST_ELEMENT = {"float32": 0.4e-9, "int8": 0.3e-9}
COST_CANDIDATE, COST_RERANK = 10e-9, 0.3e-6
SHORTLIST = 8
TIMED_QUERIES = 200
#: Configurations timed within this fraction of the fastest count as equally fast.
LATENCY_SLACK = 0.10


def tune(index: AdaptiveIndex, ids: np.ndarray, rotated: np.ndarray, cluster: np.ndarray, *,
         recall: float, queries: np.ndarray, seed: int) -> dict[str, Any]:
    """Lay out ``index`` over ``rotated`` (the build set, each row in list ``cluster``) and
    set its params to reach ``recall``@10 on ``queries`` (rotated, not in the build set)."""
    from papersift.vectors.adaptive import Params

    del seed  # the queries are chosen by the caller; kept for a stable signature
    prefixes = tuple(d for d in PREFIXES if d <= index.dim) or (index.dim,)
    probes = tuple(sorted({min(d, index.d_c) for d in PROBE_PREFIXES}))
    where = index.layout(ids, rotated, max(prefixes), cluster)
    if not len(queries) or index.nlist == 0:
        return {"queries": 0, "nlist": index.nlist, "d_c": index.d_c, "reached": False}
    k = min(10, len(rotated))
    truth = where[exact_search(rotated, np.arange(len(rotated)), queries, k).ids]
    p_max = min(index.nlist, 64)
    while True:
        grid = [p for p in NPROBES if p < p_max] + [p_max]
        tables, ncands = [], []
        for d_p in probes:
            stats = [_query_stats(index, q, t, d_p, grid, prefixes)
                     for q, t in zip(queries, truth, strict=True)]
            tables.append(_recall_table(stats, grid, prefixes))
            ncands.append(np.mean([s[2] for s in stats], axis=0))
        table = np.stack(tables)
        if table.max() >= recall or p_max >= index.nlist:
            break
        p_max = min(index.nlist, p_max * 4)
    cost = _cost(index.nlist, np.stack(ncands), probes, grid, prefixes,
                 COST_ELEMENT[index.code_dtype])
    shortlist = _shortlist(table, cost, recall)
    configs = [Params(grid[g], prefixes[d], RERANKS[r], probes[a]) for a, g, d, r in shortlist]
    latencies = _time(index, queries[:TIMED_QUERIES], configs)
    pick = pick_config(latencies, [float(table[c]) for c in shortlist])
    latency, (a, g, d, r), best = latencies[pick], shortlist[pick], configs[pick]
    index.params = best
    return {"tuned_for": recall, "predicted_recall": float(table[a, g, d, r]),
            "latency_ms": latency * 1e3, "queries": len(queries), "nlist": index.nlist,
            "d_c": index.d_c, "reached": bool(table[a, g, d, r] >= recall),
            "held_out": True}


def _query_stats(index: AdaptiveIndex, q: np.ndarray, truth: np.ndarray, d_p: int,
                 grid: list[int], prefixes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """For one query: probe rank of each true neighbour's list, its rank among the probed
    candidates per (nprobe, d_s), and the candidate count per nprobe."""
    from papersift.vectors.adaptive import _ranges

    lists = index.lists
    probe = index.probe(q, max(grid), d_p)
    starts, ends = lists.offsets[probe], lists.offsets[probe + 1]
    pos = _ranges(starts, ends)
    bounds = np.cumsum(ends - starts)[np.asarray(grid) - 1]
    qs = q[:max(prefixes)] * index.scale
    scores = _prefix_scores(lists.codes[pos].astype(np.float32), qs, prefixes)
    true_scores = _prefix_scores(lists.codes[truth].astype(np.float32), qs, prefixes)
    list_rank = np.full(index.nlist, np.iinfo(np.int64).max, np.int64)
    list_rank[probe] = np.arange(len(probe))
    cluster = np.searchsorted(lists.offsets, truth, side="right") - 1
    ranks = np.empty((len(truth), len(grid), len(prefixes)), np.int64)
    for d in range(len(prefixes)):
        beats = np.cumsum(scores[None, :, d] > true_scores[:, None, d], axis=1)
        ranks[:, :, d] = beats[:, np.maximum(bounds - 1, 0)]
    return list_rank[cluster], ranks, bounds


def _prefix_scores(codes: np.ndarray, qs: np.ndarray, prefixes: tuple[int, ...]) -> np.ndarray:
    """(rows, len(prefixes)) inner products on each prefix length, via block sums."""
    edges = (0, *prefixes)
    blocks = [codes[:, a:b] @ qs[a:b] for a, b in itertools.pairwise(edges)]
    return np.cumsum(np.stack(blocks, axis=1), axis=1)


def _recall_table(stats: list[tuple[np.ndarray, ...]], grid: list[int],
                  prefixes: tuple[int, ...]) -> np.ndarray:
    """Mean recall@10 for every (nprobe, d_s, rerank) in the grids."""
    table = np.zeros((len(grid), len(prefixes), len(RERANKS)))
    for list_rank, ranks, _ in stats:
        probed = list_rank[:, None] < np.asarray(grid)[None, :]          # (10, P)
        inside = ranks[..., None] < np.asarray(RERANKS)                   # (10, P, D, R)
        table += (probed[:, :, None, None] & inside).mean(axis=0)
    return table / len(stats)


def _cost(nlist: int, ncand: np.ndarray, probes: tuple[int, ...], grid: list[int],
          prefixes: tuple[int, ...], per_element: float) -> np.ndarray:
    """Modelled seconds per query for every (d_p, nprobe, d_s, rerank); ``ncand[a, g]`` is
    the mean number of candidates at probe prefix ``a`` and nprobe ``g``."""
    a, g, d, r = np.meshgrid(np.arange(len(probes)), np.arange(len(grid)),
                             np.arange(len(prefixes)), np.arange(len(RERANKS)), indexing="ij")
    cand = ncand[a, g]
    return (COST_QUERY + COST_CENTROID * nlist * np.asarray(probes)[a]
            + COST_LIST * np.asarray(grid)[g]
            + cand * (per_element * np.asarray(prefixes)[d] + COST_CANDIDATE)
            + COST_RERANK * np.asarray(RERANKS)[r])


def _shortlist(table: np.ndarray, cost: np.ndarray,
               recall: float) -> list[tuple[int, ...]]:
    """Indices of the cheapest configurations (by the cost model) that reach ``recall``;
    the single best configuration when none does."""
    ok = table >= recall
    if not ok.any():
        best = np.unravel_index(np.argmax(table - 1e-9 * cost), table.shape)
        return [tuple(int(i) for i in best)]
    order = np.argsort(np.where(ok, cost, np.inf), axis=None)[:SHORTLIST]
    return [tuple(int(i) for i in np.unravel_index(i, table.shape)) for i in order
            if ok.flat[i]]


def pick_config(latencies: np.ndarray, recalls: list[float],
                slack: float = LATENCY_SLACK) -> int:
    """Index of the configuration to use: of those measured within ``slack`` of the fastest
    (on a shared machine, closer than that is noise), the one with the highest predicted
    recall; the faster one among equals.

    Picking the plain fastest let timing noise choose between configurations a few
    microseconds apart but 0.01-0.02 apart in recall, and so made the recall on queries
    unlike the tuning ones (SciFact's claims) vary from build to build."""
    fast = np.flatnonzero(latencies <= latencies.min() * (1 + slack))
    return int(max(fast, key=lambda i: (recalls[i], -latencies[i])))


def time_interleaved(queries: np.ndarray, searches: Sequence[Callable[[np.ndarray], object]],
                     rounds: int = 3) -> np.ndarray:
    """Median seconds per single-query call of each search, timed in ``rounds`` interleaved
    rounds so that a burst of load on a shared machine falls on every search alike rather
    than on whichever was being timed."""
    times: list[list[float]] = [[] for _ in searches]
    for chunk in np.array_split(queries, rounds):
        for c, search in enumerate(searches):
            for q in chunk:
                start = time.perf_counter()
                search(q)
                times[c].append(time.perf_counter() - start)
    return np.array([np.median(t) for t in times])


def _time(index: AdaptiveIndex, qrot: np.ndarray, configs: list[Params]) -> np.ndarray:
    """Median seconds per single-query search of each config (queries already rotated)."""
    return time_interleaved(qrot, [functools.partial(index._search_one, k=10, p=params,
                                                     filt=None) for params in configs])
