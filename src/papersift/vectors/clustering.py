"""Spherical k-means in numpy: the coarse clusters of the adaptive index."""

from __future__ import annotations

import numpy as np

#: Rows scored against the centroids at once (bounds the (rows, k) score matrix).
ASSIGN_ROWS = 8192
#: An index's lists are trained on this many rows per list, for :data:`LIST_ITERS`
#: iterations (k-means' own defaults are 40 and 10). At 1M synthetic MiniLM-like vectors in
#: 4,000 lists, 64 rows a list and 20 iterations made the lists more even (largest 1,079
#: rows against 1,296, mean 250) and better: at 24 lists probed recall@10 0.960 against
#: 0.952, with 2% fewer codes scanned; the tuned index searched 3-10% faster (interleaved
#: rounds, two runs). 20 iterations on 40 rows a list changed nothing; 128 rows a list was
#: 1-2% faster again at 2.6x the build time (``benchmarks/list_training.py``; BENCHMARKS.md,
#: "How the lists are trained").
LIST_ROWS = 64
LIST_ITERS = 20


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the centroid with the largest inner product, for each row of ``x``."""
    out = np.empty(len(x), np.int64)
    ct = np.ascontiguousarray(centroids.T, dtype=np.float32)
    for start in range(0, len(x), ASSIGN_ROWS):
        chunk = np.asarray(x[start:start + ASSIGN_ROWS], dtype=np.float32)
        out[start:start + len(chunk)] = np.argmax(chunk @ ct, axis=1)
    return out


def kmeans(x: np.ndarray, k: int, *, iters: int = 10, sample: int | None = None,
           seed: int = 0) -> np.ndarray:
    """Spherical k-means (Lloyd iterations, unit-norm centroids) on a sample of ``x``.

    Returns ``(k, d)`` float32 centroids. The sample defaults to ``max(50_000, 40 * k)``
    rows, enough for stable centroids at a fraction of the full cost. Empty clusters are
    re-seeded from random rows.
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    if n < k:
        raise ValueError(f"k-means needs at least k={k} rows, got {n}")
    size = min(n, sample if sample is not None else max(50_000, 40 * k))
    rows = np.sort(rng.choice(n, size, replace=False)) if size < n else np.arange(n)
    data = np.ascontiguousarray(x[rows], dtype=np.float32)
    centroids = _normalise(data[rng.choice(len(data), k, replace=False)].copy())
    for _ in range(iters):
        labels = assign(data, centroids)
        sums = _cluster_sums(data, labels, k)
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        sums[empty] = data[rng.choice(len(data), len(empty), replace=False)]
        centroids = _normalise(sums)
    return centroids


def list_centroids(x: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """The ``(k, d)`` centroids of an index's ``k`` lists over the rows of ``x``: k-means
    on up to :data:`LIST_ROWS` rows a list (at least 50,000), :data:`LIST_ITERS` iterations."""
    return kmeans(x, k, iters=LIST_ITERS, sample=max(50_000, LIST_ROWS * k), seed=seed)


def _cluster_sums(data: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums = np.zeros((k, data.shape[1]), np.float32)
    sums[sorted_labels[starts]] = np.add.reduceat(data[order], starts, axis=0)
    return sums


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)
