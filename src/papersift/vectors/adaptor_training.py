"""Training the Matryoshka adaptor on a library's own vectors, without labels (torch).

The objective is the unsupervised one of Matryoshka-Adaptor (Yoon et al., 2024), aimed at
what a candidate stage needs. For an anchor (a stored vector, used as a query) the full
vectors rank its neighbours; every prefix length ``m`` of the adaptor's codes should rank
them the same way. The loss, summed over the ladder's prefix lengths, is the KL divergence
between the full vectors' softmax over a candidate list (temperature :data:`TAU`) and the
codes' softmax (one learned temperature per length). The candidate list holds the anchor's
full top 32, a sample of its full top 1,000 and random rows (and, with ``mine_every``, the
codes' current worst confusers: neighbours by the codes that are not by the full vectors).
Matching distributions rather than single similarities is what top-``k`` order asks for:
the paper's top-``k`` term matches similarities pair by pair, which spends the code's
capacity on pairs that never compete for the top.

The map starts at the PCA rotation's leading columns (today's nested prefixes), so the loss
starts from the fallback; the trained map is not orthogonal and need not be. By default one
map serves documents and queries (``symmetric``); the document codes are normalised, the
query codes need not be.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from papersift.vectors.adaptor import LADDER, Adaptor
from papersift.vectors.exact import exact_search
from papersift.vectors.nested import fit_rotation

__all__ = ["TAU", "train_adaptor"]

#: Temperature of the full vectors' softmax over a candidate list. The codes' softmax
#: starts at the same temperature (its learned scale is initialised to ``1 / TAU``): a
#: teacher much sharper than the codes' starting scale spends the first hundreds of steps
#: on the scale instead of the map. Measured on the 75k vectors (scratch runs with
#: ``benchmarks/nested.py``'s split and measure, 500 steps): 0.02 with the scale starting
#: at e^3 kept the full top 10 within the 32/64-dim top 100 at .876/.977; 0.05 and 0.1
#: with the scale started at ``1 / TAU``, .896/.984 and .899/.986; 0.2, .898/.986.
TAU = 0.1
#: Neighbours of each anchor ranked by the full vectors (the candidate pool).
POOL = 1000


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("training the adaptor needs torch: pip install torch "
                          "(without it the rotation is used)") from exc
    return torch


def train_adaptor(vecs: np.ndarray, *, ladder: tuple[int, ...] = LADDER, width: int | None = None,
                  anchors: int = 10_000, steps: int = 1000, batch: int = 128, lr: float = 1e-3,
                  symmetric: bool = True, mine_every: int = 0, sample: int = 200_000,
                  seed: int = 0, threads: int | None = None,
                  progress: Callable[[int, int, float], None] | None = None) -> Adaptor:
    """Train an adaptor on (a ``sample`` of) the unit rows of ``vecs``; see the module
    docstring. ``progress(step, steps, loss)`` is called every 100 steps."""
    torch = _torch()
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    x = _sample(vecs, sample, rng)
    width = min(width or max(ladder), x.shape[1])
    ladder = tuple(m for m in ladder if m <= width)
    init = fit_rotation(x, seed=seed).matrix[:, :width]
    anchor_rows = rng.choice(len(x), min(anchors, len(x) - 1), replace=False)
    pool = _neighbours(x, anchor_rows, min(POOL, len(x) - 1))
    base = torch.from_numpy(x)
    doc = torch.nn.Parameter(torch.from_numpy(init.copy()))
    query = doc if symmetric else torch.nn.Parameter(torch.from_numpy(init.copy()))
    scale = torch.nn.Parameter(torch.full((len(ladder),), float(np.log(1 / TAU))))
    opt = torch.optim.Adam([doc, scale] + ([] if symmetric else [query]), lr=lr)
    state = _Batches(torch, base, anchor_rows, pool, rng)
    # one fixed batch scored before and after: single training batches are too noisy to
    # say whether the loss went down
    held = state.draw(max(batch, 256))

    def held_loss() -> float:
        with torch.no_grad():
            return float(_loss(torch, base[held[1]], base[held[0]], held[2], doc, query,
                               scale, ladder).item())

    first = held_loss()
    for step in range(steps):
        if mine_every and step and step % mine_every == 0:
            state.confusers = _confusers(x, anchor_rows, doc.detach().numpy(),
                                         query.detach().numpy(), ladder)
        cand, anchor, own = state.draw(batch)
        value = _loss(torch, base[anchor], base[cand], own, doc, query, scale, ladder)
        opt.zero_grad()
        value.backward()
        opt.step()
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, steps, float(value.item()))
    loss = held_loss()
    info = {"method": "trained", "objective": "listwise KL to the full vectors' neighbour "
            "order at every prefix length", "ladder": list(ladder), "rows": len(x),
            "anchors": len(anchor_rows), "steps": steps, "symmetric": symmetric,
            "first_loss": round(first, 4), "loss": round(loss, 4),  # on one fixed batch
            "seconds": round(time.perf_counter() - started, 1), "seed": seed}
    doc_map = np.ascontiguousarray(doc.detach().numpy(), np.float32)
    return Adaptor(doc_map, doc_map if symmetric else
                   np.ascontiguousarray(query.detach().numpy(), np.float32), info)


def _sample(vecs: np.ndarray, sample: int, rng: np.random.Generator) -> np.ndarray:
    """Unit float32 rows: all of ``vecs``, or ``sample`` of them chosen at random."""
    rows = np.sort(rng.choice(len(vecs), sample, replace=False)) if len(vecs) > sample else None
    x = np.asarray(vecs if rows is None else vecs[rows], np.float32)
    return np.ascontiguousarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def _neighbours(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The full vectors' top ``k`` of each anchor row, itself excluded, best first."""
    ids = np.arange(len(x), dtype=np.int64)
    out = np.empty((len(rows), k), np.int64)
    for start in range(0, len(rows), 1024):
        chunk = rows[start:start + 1024]
        found = exact_search(x, ids, x[chunk], k + 1).ids
        out[start:start + len(chunk)] = [r[r != a][:k] for r, a in zip(found, chunk, strict=True)]
    return out


def _confusers(x: np.ndarray, rows: np.ndarray, doc: np.ndarray, query: np.ndarray,
               ladder: tuple[int, ...], per: int = 32) -> np.ndarray:
    """Per anchor, rows the codes rank high (top ``per`` at the two middle ladder lengths)."""
    ids = np.arange(len(x), dtype=np.int64)
    picks = []
    for m in sorted(ladder)[1:3] or ladder[:1]:
        codes = x @ doc[:, :m]
        codes /= np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
        picks.append(exact_search(codes, ids, x[rows] @ query[:, :m], per + 1).ids)
    return np.concatenate(picks, axis=1)


class _Batches:
    """Candidate lists for a batch of anchors: full top 32, a sample of the full top
    :data:`POOL`, random rows, mined confusers (once mined)."""

    def __init__(self, torch: Any, base: Any, anchors: np.ndarray, pool: np.ndarray,
                 rng: np.random.Generator) -> None:
        self.torch, self.n = torch, int(base.shape[0])
        self.anchors, self.pool, self.rng = anchors, pool, rng
        self.confusers = np.empty((len(anchors), 0), np.int64)

    def draw(self, batch: int) -> tuple[Any, Any, Any]:
        a = self.rng.integers(0, len(self.anchors), batch)
        pool = self.pool[a]
        top = min(32, pool.shape[1])
        low = top if pool.shape[1] > top else 0
        deep = np.take_along_axis(pool, self.rng.integers(low, pool.shape[1], (batch, 96)), 1)
        parts = [pool[:, :top], deep, self.rng.integers(0, self.n, (batch, 64))]
        if self.confusers.shape[1]:
            conf = self.confusers[a]
            parts.append(np.take_along_axis(conf, self.rng.integers(0, conf.shape[1],
                                                                    (batch, 64)), 1))
        cand = np.concatenate(parts, axis=1)
        own = cand == self.anchors[a][:, None]
        t = self.torch
        return t.from_numpy(cand), t.from_numpy(self.anchors[a]), t.from_numpy(own)


def _loss(torch: Any, q: Any, cands: Any, own: Any, doc: Any, query: Any, scale: Any,
          ladder: tuple[int, ...]) -> Any:
    """Sum over the ladder of KL(full softmax || code softmax) over each candidate list."""
    functional = torch.nn.functional
    full = torch.einsum("bd,bcd->bc", q, cands).masked_fill(own, -1e9)
    target = torch.softmax(full / TAU, dim=1)
    docs, queries = cands @ doc, q @ query
    total = 0.0
    for i, m in enumerate(ladder):
        codes = functional.normalize(docs[..., :m], dim=-1)
        qm = functional.normalize(queries[:, :m], dim=-1)
        scores = (torch.einsum("bd,bcd->bc", qm, codes) * scale[i].exp()).masked_fill(own, -1e9)
        total = total + functional.kl_div(torch.log_softmax(scores, dim=1), target,
                                          reduction="batchmean")
    return total
