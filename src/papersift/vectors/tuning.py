"""Build-time tuning of the adaptive index's stage sizes ``(nprobe, d_s, rerank)``.

The final re-rank is exact, so a true top-10 neighbour is returned exactly when it reaches
the re-rank set: its list is probed and fewer than ``rerank`` probed candidates beat it on
the ``d_s`` prefix. For each held-out query we therefore score the members of the first
``P_max`` lists once, for every prefix length, and read the recall of every
``(nprobe, d_s, rerank)`` off cumulative counts, with no search per configuration. A cost
model shortlists the cheapest configurations that reach the target; the shortlist is then
timed with real single-query searches and the fastest measured one wins.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from papersift.vectors.exact import exact_search

if TYPE_CHECKING:
    from papersift.vectors.adaptive import AdaptiveIndex

NPROBES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
PREFIXES = (32, 48, 64, 96, 128)
RERANKS = (10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 800)
#: Rough per-query cost model (seconds): per probed list, per candidate-dimension scored,
#: per row re-ranked. Only used to shortlist; the choice is made on measured latency.
COST_LIST, COST_ELEMENT, COST_RERANK = 2e-6, 1.5e-9, 1e-6
SHORTLIST = 6


def tune(index: AdaptiveIndex, ids: np.ndarray, rotated: np.ndarray, *, recall: float,
         queries: np.ndarray | None, n_queries: int, seed: int) -> dict[str, Any]:
    """Lay out ``index`` over ``rotated`` and set its params to reach ``recall``@10."""
    from papersift.vectors.adaptive import Params

    prefixes = tuple(d for d in PREFIXES if d <= index.dim) or (index.dim,)
    where = index.layout(ids, rotated, max(prefixes))
    qrot, own = _tuning_queries(rotated, queries, index, n_queries, seed)
    truth = _truth(rotated, qrot, own, where)
    own_pos = np.where(own >= 0, where[np.maximum(own, 0)], -1)
    p_max = min(index.nlist, 64)
    while True:
        grid = [p for p in NPROBES if p < p_max] + [p_max]
        stats = [_query_stats(index, q, t, o, grid, prefixes) for q, t, o in zip(
            qrot, truth, own_pos, strict=True)]
        table = _recall_table(stats, grid, prefixes)
        if table.max() >= recall or p_max >= index.nlist:
            break
        p_max = min(index.nlist, p_max * 4)
    ncand = np.mean([s[2] for s in stats], axis=0)
    shortlist = _shortlist(table, ncand, grid, prefixes, recall)
    timed = [(_time(index, qrot[:100], Params(*c)), c) for c in shortlist]
    latency, best = min(timed)
    index.params = Params(*best)
    index.truncate(best[1])
    g, d, r = grid.index(best[0]), prefixes.index(best[1]), RERANKS.index(best[2])
    return {"target": recall, "predicted_recall": float(table[g, d, r]),
            "latency_ms": latency * 1e3, "queries": len(qrot), "nlist": index.nlist,
            "d_c": index.d_c, "reached": bool(table[g, d, r] >= recall)}


def _tuning_queries(rotated: np.ndarray, queries: np.ndarray | None, index: AdaptiveIndex,
                    n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotated tuning queries and, for each, the row it came from (-1 for outside ones)."""
    if queries is not None:
        q = index.rotation.apply(queries)
        return q, np.full(len(q), -1, np.int64)
    rows = np.random.default_rng(seed + 1).choice(len(rotated), min(n, len(rotated)),
                                                  replace=False)
    return rotated[rows], rows.astype(np.int64)


def _truth(rotated: np.ndarray, qrot: np.ndarray, own: np.ndarray,
           where: np.ndarray) -> np.ndarray:
    """List positions of each query's exact top 10 (its own row excluded)."""
    k = min(10, len(rotated) - 1)
    found = exact_search(rotated, np.arange(len(rotated)), qrot, k + 1).ids
    rows = np.stack([r[r != o][:k] for r, o in zip(found, own, strict=True)])
    return where[rows]


def _query_stats(index: AdaptiveIndex, q: np.ndarray, truth: np.ndarray, own_pos: int,
                 grid: list[int], prefixes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """For one query: probe rank of each true neighbour's list, its rank among the probed
    candidates per (nprobe, d_s), and the candidate count per nprobe."""
    from papersift.vectors.adaptive import _probe, _ranges

    lists = index.lists
    probe = _probe(index.centroids @ q[:index.d_c], max(grid))
    starts, ends = lists.offsets[probe], lists.offsets[probe + 1]
    pos = _ranges(starts, ends)
    bounds = np.cumsum(ends - starts)[np.asarray(grid) - 1]
    qs = q[:max(prefixes)] * index.scale
    scores = _prefix_scores(lists.codes[pos].astype(np.float32), qs, prefixes)
    if own_pos >= 0:
        scores[pos == own_pos] = -np.inf
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


def _shortlist(table: np.ndarray, ncand: np.ndarray, grid: list[int],
               prefixes: tuple[int, ...], recall: float) -> list[tuple[int, int, int]]:
    """The cheapest configurations (by the cost model) that reach ``recall``; the single
    best configuration when none does."""
    g, d, r = np.meshgrid(np.arange(len(grid)), np.arange(len(prefixes)),
                          np.arange(len(RERANKS)), indexing="ij")
    cost = (COST_LIST * np.asarray(grid)[g] + COST_ELEMENT * ncand[g] * np.asarray(prefixes)[d]
            + COST_RERANK * np.asarray(RERANKS)[r])
    ok = table >= recall
    if not ok.any():
        best = np.unravel_index(np.argmax(table - 1e-9 * cost), table.shape)
        return [(grid[best[0]], prefixes[best[1]], RERANKS[best[2]])]
    order = np.argsort(np.where(ok, cost, np.inf), axis=None)[:SHORTLIST]
    picks = [np.unravel_index(i, table.shape) for i in order if ok.flat[i]]
    return [(grid[a], prefixes[b], RERANKS[c]) for a, b, c in picks]


def _time(index: AdaptiveIndex, qrot: np.ndarray, params: Any) -> float:
    """Median seconds per single-query search with ``params`` (queries already rotated)."""
    times = []
    for q in qrot:
        start = time.perf_counter()
        index._search_one(q, 10, params, None)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
