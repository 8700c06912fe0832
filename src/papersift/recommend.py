"""A personal ranking learned from one person's ratings: a regularised linear model over
paper embeddings, as arxiv-sanity learns one over tf-idf.

The model is ridge regression used as a classifier (a least-squares linear SVM): targets 1
for the papers a person liked (upvoted, thumbs-up, saved), 0 for those they turned down and
for the rest of the library, weighted so that liked papers and the library count equally,
and an L2 penalty. Its solution is a ``(d+1) x (d+1)`` linear system whose library part, the
second moments of the library's vectors (:class:`Background`), is the same for everyone and
computed once; each person's part adds one row per rating. So a model trains in a few
milliseconds however large the library, with *every* library paper as a negative rather
than a sample (chosen over logistic regression and a hinge-loss SVM on the offline
benchmark, ``benchmarks/recommend.py``).

>>> rng = np.random.default_rng(0)
>>> library = unit(rng.normal(size=(500, 16)))
>>> liked = unit(library[:5] + 2 * unit(np.ones(16)))
>>> model = train(liked, np.empty((0, 16)), Background.of(library))
>>> bool(model.score(unit(np.ones((1, 16))))[0] > model.score(library).mean())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Background", "Model", "closest", "train", "uncertain", "unit"]

#: Defaults chosen on the benchmark's tuning users (benchmarks/recommend.py).
RIDGE = 0.05
DISLIKE_WEIGHT = 1.0


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class Background:
    """The library's vectors summarised: their mean and second moments (``E[x xᵀ]``)."""

    mean: np.ndarray
    second: np.ndarray
    count: int

    @classmethod
    def of(cls, vectors: np.ndarray) -> Background:
        """Summarise a sample of the library's vectors (rows)."""
        x = np.asarray(vectors, dtype=np.float64)
        if len(x) == 0:
            raise ValueError("the background needs at least one vector")
        return cls(mean=x.mean(axis=0), second=(x.T @ x) / len(x), count=len(x))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])


@dataclass(frozen=True)
class Model:
    """A linear scorer: ``vectors @ weights + bias`` (higher: more likely liked)."""

    weights: np.ndarray
    bias: float
    #: The score halfway between a liked paper's and a typical library paper's: where the
    #: model is least sure (:func:`uncertain`).
    threshold: float
    liked: int
    disliked: int

    def score(self, vectors: np.ndarray) -> np.ndarray:
        """Scores of papers (rows), as float32."""
        if len(vectors) == 0:
            return np.empty(0, dtype=np.float32)
        return (np.asarray(vectors, dtype=np.float32) @ self.weights.astype(np.float32)
                + np.float32(self.bias))


def train(liked: np.ndarray, disliked: np.ndarray, background: Background, *,
          ridge: float = RIDGE, dislike_weight: float = DISLIKE_WEIGHT) -> Model:
    """Fit the model to liked and disliked papers' vectors against the library.

    The liked papers share a total weight of 1, as does the library (which includes them,
    a negligible overlap); each disliked paper weighs ``dislike_weight`` times a liked one.
    ``ridge`` is the L2 penalty on the weights (not the bias).
    """
    liked = np.asarray(liked, dtype=np.float64).reshape(-1, background.dim)
    disliked = np.asarray(disliked, dtype=np.float64).reshape(-1, background.dim)
    d = background.dim
    a = np.empty((d + 1, d + 1))
    b = np.zeros(d + 1)
    a[:d, :d] = background.second  # the library: target 0, total weight 1
    a[:d, d] = a[d, :d] = background.mean
    a[d, d] = 1.0
    per = 1.0 / max(len(liked), 1)
    for rows, weight, target in ((liked, per, 1.0), (disliked, per * dislike_weight, 0.0)):
        if len(rows) == 0:
            continue
        z = np.hstack([rows, np.ones((len(rows), 1))])
        a += weight * (z.T @ z)
        b += weight * target * z.sum(axis=0)
    a[np.arange(d), np.arange(d)] += ridge
    solution = np.linalg.solve(a, b)
    weights, bias = solution[:d], float(solution[d])
    typical = float(background.mean @ weights + bias)
    liked_score = float((liked @ weights).mean() + bias) if len(liked) else typical
    return Model(weights=weights.astype(np.float32), bias=bias,
                 threshold=(typical + liked_score) / 2, liked=len(liked),
                 disliked=len(disliked))


def uncertain(model: Model, vectors: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` papers (rows) the model is least sure about: scored nearest
    its threshold. Asking a person about these teaches the model most per answer."""
    if len(vectors) == 0 or n <= 0:
        return np.empty(0, dtype=np.int64)
    distance = np.abs(model.score(vectors) - np.float32(model.threshold))
    n = min(n, len(distance))
    picked = np.argpartition(distance, n - 1)[:n]
    return picked[np.argsort(distance[picked], kind="stable")]


def closest(vectors: np.ndarray, rated: np.ndarray, k: int = 2) -> np.ndarray:
    """For each paper (row of ``vectors``), the positions of the ``k`` rated papers nearest
    to it by cosine, nearest first: "why this paper"."""
    if len(vectors) == 0 or len(rated) == 0:
        return np.empty((len(vectors), 0), dtype=np.int64)
    k = min(k, len(rated))
    similarity = unit(vectors) @ unit(rated).T
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)
