"""The 2-D layout: UMAP of the papers' vectors, and placing new papers without a recompute.

UMAP runs with the cosine metric on the full vectors, or on the first ``prefix``
coordinates of the nested rotation (:mod:`papersift.vectors.nested`: the principal
directions of the corpus, by energy), re-normalised. Measured on the 75k sample
(``benchmarks/map.py``, BENCHMARKS.md) a 64-coordinate prefix made UMAP 2.4x faster but kept
a third fewer of each paper's 10 nearest neighbours on the map (0.072 against 0.106), and a
128-coordinate one kept 8% fewer on a 20k subsample: neither is as good, so the default
(:data:`DEFAULT_PREFIX`) is all 384; ``LayoutParams(prefix=64)`` trades quality for time.

Coordinates are scaled into the unit square, so every consumer (the web map's quantised
points, the picture, the locator) can rely on ``0 <= x, y <= 1``.

A new paper is placed at the similarity-weighted mean position of its nearest mapped
neighbours in the full vector space (``place``): UMAP's own ``transform`` would need the
fitted model (hundreds of MB at 75k) kept beside the map; the neighbours' positions are
what that transform starts from anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from papersift.vectors.nested import fit_rotation

__all__ = ["DEFAULT_PREFIX", "LayoutParams", "layout", "place", "prefix_vectors", "to_unit_square"]

#: Coordinates of the rotated vectors UMAP sees (None: all of them, the measured best).
DEFAULT_PREFIX: int | None = None
_MISSING = 'the map needs umap-learn: pip install "papersift[map]"'


@dataclass(frozen=True)
class LayoutParams:
    """How the 2-D layout is computed."""

    prefix: int | None = DEFAULT_PREFIX
    neighbours: int = 15
    min_dist: float = 0.05
    seed: int = 42

    def to_json(self) -> dict[str, object]:
        return {"prefix": self.prefix, "neighbours": self.neighbours,
                "min_dist": self.min_dist, "seed": self.seed}


def prefix_vectors(vectors: np.ndarray, prefix: int | None) -> np.ndarray:
    """The first ``prefix`` coordinates of the nested rotation, unit length (float32)."""
    x = np.asarray(vectors, dtype=np.float32)
    if prefix is None or prefix >= x.shape[1]:
        return x
    short = fit_rotation(x).apply(x)[:, :prefix]
    return short / np.maximum(np.linalg.norm(short, axis=1, keepdims=True), 1e-12)


def to_unit_square(xy: np.ndarray, margin: float = 0.02) -> np.ndarray:
    """Scale points uniformly (keeping the aspect) into ``[margin, 1 - margin]``."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) == 0:
        return xy.astype(np.float32).reshape(0, 2)
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float((high - low).max()) or 1.0
    centred = (xy - (low + high) / 2) / span  # within [-0.5, 0.5]
    return (0.5 + centred * (1 - 2 * margin)).astype(np.float32)


def layout(vectors: np.ndarray, params: LayoutParams = LayoutParams()) -> np.ndarray:
    """``(n, 2)`` float32 positions in the unit square for unit vectors.

    Fewer than 5 papers are laid on a circle (UMAP needs neighbours to work with).
    """
    x = prefix_vectors(vectors, params.prefix)
    n = len(x)
    if n < 5:
        angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return to_unit_square(np.c_[np.cos(angle), np.sin(angle)] if n > 1 else np.zeros((n, 2)))
    try:
        import umap
    except ImportError as error:
        raise ImportError(_MISSING) from error
    # a seed makes the map the same on every rebuild; UMAP then runs on one thread
    reducer = umap.UMAP(
        n_neighbors=min(params.neighbours, n - 1), min_dist=params.min_dist, metric="cosine",
        random_state=params.seed, n_jobs=1, init="spectral" if n > 50 else "random",
        tqdm_kwds={"disable": True},
    )
    return to_unit_square(reducer.fit_transform(x))


def place(new: np.ndarray, mapped: np.ndarray, mapped_xy: np.ndarray, *, k: int = 10,
          temperature: float = 0.02, chunk: int = 2048) -> np.ndarray:
    """Positions for new unit vectors from their ``k`` nearest mapped neighbours.

    Each neighbour weighs ``exp((sim - best_sim) / temperature)``: the nearest dominate,
    so a paper between two clusters is not dropped into the empty space between them.
    """
    new = np.asarray(new, dtype=np.float32)
    out = np.empty((len(new), 2), np.float32)
    if len(new) == 0:
        return out
    if len(mapped) == 0:
        out[:] = 0.5
        return out
    base = np.asarray(mapped, dtype=np.float32)
    k = min(k, len(base))
    for start in range(0, len(new), chunk):
        sims = new[start:start + chunk] @ base.T
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(sims, near, axis=1)
        weights = np.exp((best - best.max(axis=1, keepdims=True)) / temperature)
        weights /= weights.sum(axis=1, keepdims=True)
        out[start:start + len(sims)] = np.einsum("nk,nkd->nd", weights, mapped_xy[near])
    return out
