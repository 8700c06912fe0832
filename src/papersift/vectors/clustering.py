"""Spherical k-means in numpy: the coarse clusters of the adaptive index."""

from __future__ import annotations

import numpy as np

#: Rows scored against the centroids at once (bounds the (rows, k) score matrix).
ASSIGN_ROWS = 8192


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
