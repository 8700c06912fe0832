"""Topics and areas: two nested levels of clusters of the papers' vectors.

Topics are spherical k-means clusters of the full embeddings; areas are k-means clusters at
a coarser ``k``, and each topic belongs to the area most of its papers fall in, so the two
levels nest. k-means on the vectors was chosen over HDBSCAN (on a 5-d UMAP of them, the
BERTopic recipe) by measurement on the 75k sample (``benchmarks/map.py``, BENCHMARKS.md):
agreement with arXiv primary categories (adjusted mutual information) 0.251 for 109 k-means
topics against 0.210 for HDBSCAN's 129 clusters, which also left 37% of the papers as noise
and took 5x longer. k-means also keeps the topics independent of the 2-D picture (a new
layout does not change them), and a new paper joins a topic by its nearest centroid, which
keeps incremental placement exact and cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from papersift.vectors.clustering import assign, kmeans

__all__ = ["Topics", "assign_topics", "default_sizes", "find_topics"]


@dataclass(frozen=True)
class Topics:
    """Each paper's topic, each topic's area, and the topics' unit centroids."""

    topic: np.ndarray  # (n,) int32
    area_of_topic: np.ndarray  # (k,) int32
    centroids: np.ndarray  # (k, dim) float32

    @property
    def n_topics(self) -> int:
        return len(self.area_of_topic)

    @property
    def n_areas(self) -> int:
        return int(self.area_of_topic.max()) + 1 if len(self.area_of_topic) else 0

    def area(self) -> np.ndarray:
        """Each paper's area."""
        return self.area_of_topic[self.topic]


def default_sizes(n: int) -> tuple[int, int]:
    """``(topics, areas)`` for ``n`` papers: about ``sqrt(n) / 2.5`` topics (110 at 75k,
    ~700 papers each) and about ``1.3 * sqrt(topics)`` areas (14 at 75k)."""
    topics = max(1, min(150, round(math.sqrt(n) / 2.5), n))
    areas = max(1, min(20, round(1.3 * math.sqrt(topics)), topics))
    return topics, areas


def find_topics(vectors: np.ndarray, *, n_topics: int | None = None,
                n_areas: int | None = None, seed: int = 0, iters: int = 20) -> Topics:
    """Cluster unit vectors into topics nested in areas.

    Example::

        topics = find_topics(vectors)          # sizes from default_sizes(len(vectors))
        topics.topic[:5], topics.area()[:5]
    """
    x = np.asarray(vectors, dtype=np.float32)
    if len(x) == 0:
        raise ValueError("no vectors to cluster")
    default_topics, default_areas = default_sizes(len(x))
    k = min(n_topics or default_topics, len(x))
    a = min(n_areas or default_areas, k)
    sample = min(len(x), 200_000)
    centroids = kmeans(x, k, iters=iters, sample=sample, seed=seed)
    topic = assign(x, centroids)
    centroids, topic = _drop_empty(x, centroids, topic)
    area_centroids = kmeans(x, a, iters=iters, sample=sample, seed=seed + 1)
    area = assign(x, area_centroids)
    votes = np.zeros((len(centroids), a), np.int64)
    np.add.at(votes, (topic, area), 1)
    area_of_topic = _renumber(np.argmax(votes, axis=1))
    return Topics(topic.astype(np.int32), area_of_topic.astype(np.int32), centroids)


def _drop_empty(x: np.ndarray, centroids: np.ndarray,
                topic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove centroids no paper is nearest to, and recompute the rest as member means."""
    used = np.unique(topic)
    remap = np.full(len(centroids), -1, np.int64)
    remap[used] = np.arange(len(used))
    topic = remap[topic]
    sums = np.zeros((len(used), x.shape[1]), np.float64)
    np.add.at(sums, topic, x)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32), topic


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels as 0..m-1 without gaps (an area no topic chose disappears)."""
    _, dense = np.unique(labels, return_inverse=True)
    return np.asarray(dense, dtype=np.int64)


def assign_topics(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The topic of each new vector: its nearest centroid (int32)."""
    if len(vectors) == 0:
        return np.empty(0, np.int32)
    return assign(np.asarray(vectors, dtype=np.float32), centroids).astype(np.int32)
