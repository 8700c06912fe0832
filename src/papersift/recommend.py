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

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Background", "Model", "TermMatrix", "closest", "fuse", "term_profile", "train",
           "uncertain", "unit"]

#: Defaults chosen on the benchmark's tuning users (benchmarks/recommend.py).
RIDGE = 0.02
DISLIKE_WEIGHT = 1.0
#: How much the embedding model counts beside the person's words in :func:`fuse`.
DENSE_WEIGHT = 0.5
PROFILE_TERMS = 300


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
    _inverses: dict[float, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

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

    def system(self, ridge: float) -> np.ndarray:
        """The library's part of the model's linear system, with the penalty:
        ``[[E[x xᵀ] + ridge I, E[x]], [E[x]ᵀ, 1]]``."""
        d = self.dim
        a = np.empty((d + 1, d + 1))
        a[:d, :d] = self.second
        a[:d, d] = a[d, :d] = self.mean
        a[d, d] = 1.0
        a[np.arange(d), np.arange(d)] += ridge
        return a

    def inverse(self, ridge: float) -> np.ndarray:
        """:meth:`system`'s inverse, computed once per penalty and kept: every person's
        model is this plus a few rows (see :func:`train`)."""
        found = self._inverses.get(ridge)
        if found is None:
            found = self._inverses.setdefault(ridge, np.linalg.inv(self.system(ridge)))
        return found


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
    ``ridge`` is the L2 penalty on the weights (not the bias). The system is the library's
    (inverted once, :meth:`Background.inverse`) plus one row per rated paper, solved by the
    Woodbury identity: a few milliseconds for any library size.
    """
    d = background.dim
    liked = np.asarray(liked, dtype=np.float64).reshape(-1, d)
    disliked = np.asarray(disliked, dtype=np.float64).reshape(-1, d)
    per = 1.0 / max(len(liked), 1)
    rows = np.vstack([liked, disliked])
    z = np.hstack([rows, np.ones((len(rows), 1))])
    weights = np.concatenate([np.full(len(liked), per),
                              np.full(len(disliked), per * dislike_weight)])
    targets = np.concatenate([np.ones(len(liked)), np.zeros(len(disliked))])
    if len(rows) > 2 * d:  # many ratings: solving outright is cheaper
        a = background.system(ridge) + z.T @ (weights[:, None] * z)
        solution = np.linalg.solve(a, z.T @ (weights * targets))
    else:
        solution = _woodbury(background.inverse(ridge), z, weights, weights * targets)
    weights_out, bias = solution[:d], float(solution[d])
    typical = float(background.mean @ weights_out + bias)
    liked_score = float((liked @ weights_out).mean() + bias) if len(liked) else typical
    return Model(weights=weights_out.astype(np.float32), bias=bias,
                 threshold=(typical + liked_score) / 2, liked=len(liked),
                 disliked=len(disliked))


def _woodbury(inverse: np.ndarray, z: np.ndarray, weights: np.ndarray,
              weighted_targets: np.ndarray) -> np.ndarray:
    """Solve ``(A + zᵀ W z) x = zᵀ (W y)`` given ``A⁻¹`` (symmetric) and k rows ``z``:
    ``x = A⁻¹zᵀ(Wy) - A⁻¹zᵀ (W⁻¹ + z A⁻¹ zᵀ)⁻¹ z A⁻¹zᵀ(Wy)``, in O(k d²)."""
    if len(z) == 0:
        return np.zeros(inverse.shape[0])
    u = z @ inverse  # rows of z A⁻¹ (= columns of A⁻¹ zᵀ)
    gram = u @ z.T  # z A⁻¹ zᵀ
    start = u.T @ weighted_targets  # A⁻¹ b
    middle = np.diag(1.0 / weights) + gram
    return start - u.T @ np.linalg.solve(middle, gram @ weighted_targets)


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


def term_profile(documents: Sequence[Sequence[str]], frequencies: Mapping[str, int],
                 papers: int, *, top: int = PROFILE_TERMS) -> dict[str, float]:
    """The words a person's liked papers share, weighted: each paper's index terms as a
    tf-idf vector (``1 + log tf`` times ``log(N / df)``, length 1), summed over the papers;
    the ``top`` heaviest terms, scaled so the heaviest weighs 1.

    New papers are scored by these weights (:meth:`TermMatrix.score`): the words a
    person's papers keep using (a method's name, a dataset) count where an embedding
    blurs them.
    """
    total: dict[str, float] = {}
    for terms in documents:
        counts = Counter(terms)
        weights = {t: (1 + math.log(n)) * math.log((papers + 1) / (frequencies.get(t, 0) + 1))
                   for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for term, weight in weights.items():
            if weight > 0:
                total[term] = total.get(term, 0.0) + weight / norm
    best = sorted(total.items(), key=lambda item: (-item[1], item[0]))[:top]
    if not best:
        return {}
    scale = best[0][1]
    return {term: weight / scale for term, weight in best}


@dataclass(frozen=True)
class TermMatrix:
    """Papers' index terms as BM25 weights (``k1`` 1.2, ``b`` 0.75, as search ranks), one
    row per paper in the order given, to score many papers for a person's words at once."""

    vocabulary: dict[str, int]
    rows: np.ndarray  # the paper (row) of each entry
    columns: np.ndarray  # the term of each entry
    weights: np.ndarray  # its BM25 weight
    papers: int

    @classmethod
    def of(cls, documents: Sequence[Sequence[str]], frequencies: Mapping[str, int],
           total: int, *, k1: float = 1.2, b: float = 0.75) -> TermMatrix:
        """``documents``: each paper's terms; ``frequencies``: papers holding each term
        among ``total`` papers (the whole library: the rarity that search uses)."""
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        lengths = np.array([len(d) for d in documents], dtype=np.float64)
        for row, terms in enumerate(documents):
            for term, n in Counter(terms).items():
                rows.append(row)
                columns.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(n)
        df = np.zeros(len(vocabulary))
        for term, column in vocabulary.items():
            df[column] = frequencies.get(term, 0)
        idf = np.log1p((total - df + 0.5) / (df + 0.5))
        row_array, column_array = np.array(rows, np.int64), np.array(columns, np.int64)
        tf = np.array(counts, dtype=np.float64)
        average = lengths.mean() if len(lengths) and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths[row_array] / average)
        weights = idf[column_array] * tf * (k1 + 1) / (tf + norm)
        return cls(vocabulary, row_array, column_array, weights.astype(np.float32),
                   len(documents))

    def score(self, profile: Mapping[str, float]) -> np.ndarray:
        """Each paper's sum over the profile's terms of weight x BM25 weight."""
        wanted = np.zeros(len(self.vocabulary) + 1, dtype=np.float32)
        for term, weight in profile.items():
            column = self.vocabulary.get(term)
            if column is not None:
                wanted[column] = weight
        contributions = self.weights * wanted[self.columns]
        return np.bincount(self.rows, weights=contributions,
                           minlength=self.papers).astype(np.float32)


def fuse(words: np.ndarray, dense: np.ndarray, *, dense_weight: float = DENSE_WEIGHT) -> np.ndarray:
    """One score per paper from the words score and the embedding model's score: each as
    z-scores over the papers ranked together, added (the embedding's weighted)."""
    total = np.zeros(len(dense), dtype=np.float64)
    for scores, weight in ((words, 1.0), (dense, dense_weight)):
        scores = np.asarray(scores, dtype=np.float64)
        spread = scores.std() if len(scores) else 0.0
        if spread > 0:
            total += weight * (scores - scores.mean()) / spread
    return total.astype(np.float32)
