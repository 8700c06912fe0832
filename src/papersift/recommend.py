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

Beside it, the person's words (:func:`word_scores`): tf-idf over terms and term pairs, as
arxiv-sanity's SVM sees papers, scored by Rocchio's formula plus the nearest liked paper;
:func:`fuse` adds the two as z-scores. On the benchmark the words find an author's next
papers better than the embeddings do, and the two together better than either.

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
from itertools import pairwise

import numpy as np

__all__ = ["Background", "Encoded", "Model", "Texts", "closest", "fuse", "train", "uncertain",
           "unit", "with_pairs", "word_scores"]

#: Defaults chosen on the benchmark's tuning users (benchmarks/recommend.py).
RIDGE = 0.02
DISLIKE_WEIGHT = 1.0
#: How much the embedding model counts beside the person's words in :func:`fuse`.
DENSE_WEIGHT = 1.5
#: Word scores (:func:`word_scores`): how much a paper's likeness to the average paper
#: counts against it, the nearest liked paper beside the average one, disliked papers.
GENERIC = 1.0
NEAREST = 0.5
DISLIKED_WORDS = 0.25


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


def with_pairs(terms: Sequence[str]) -> list[str]:
    """A paper's index terms and its pairs of adjacent terms ("gaussian splat"): a pair
    names a method or a task where its words alone are common."""
    return [*terms, *(f"{a} {b}" for a, b in pairwise(terms))]


@dataclass(frozen=True)
class Texts:
    """Papers as tf-idf vectors of their terms and term pairs (``1 + log tf`` times
    ``1 + log((N + 1) / (df + 1))``, length 1), stored inverted (term -> papers) so that
    a few papers' similarities to all of them cost what their shared terms' postings do.

    ``frequencies`` gives each term's document frequency among ``total`` papers (the
    library, as search counts them); a term it lacks (the pairs: search does not count
    them) is estimated from these papers, scaled to ``total``. As in arxiv-sanity's tf-idf,
    a term in fewer than ``rarest`` papers or in more than ``commonest`` of them is left
    out: it tells no papers apart.
    """

    vocabulary: dict[str, int]
    idf: np.ndarray  # of each column
    starts: np.ndarray  # column c's postings are [starts[c], starts[c + 1])
    rows: np.ndarray  # the paper of each posting
    weights: np.ndarray  # its weight in that paper's unit vector
    #: Each paper's similarity to the average of all of them (how generic it is).
    typical: np.ndarray
    papers: int
    _frequencies: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    _limits: tuple[int, float, int] = (2, 0.1, 0)

    @classmethod
    def of(cls, documents: Sequence[Sequence[str]], frequencies: Mapping[str, int],
           total: int, *, rarest: int = 2, commonest: float = 0.1) -> Texts:
        """``documents``: each paper's terms with their pairs (:func:`with_pairs`)."""
        limits = (rarest, commonest, total)
        estimated = Counter(t for terms in documents for t in set(terms) if t not in frequencies)
        scale = total / max(len(documents), 1)
        frequencies = {**frequencies,  # one dict: it is read once per term of every paper
                       **{t: max(round(n * scale), n) for t, n in estimated.items()}}
        vocabulary: dict[str, int] = {}
        idf: list[float] = []
        owners: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        for row, terms in enumerate(documents):
            for term, weight in _vector(terms, frequencies, limits).items():
                column = vocabulary.get(term)
                if column is None:
                    column = vocabulary[term] = len(vocabulary)
                    idf.append(_idf(frequencies[term], total))
                owners.append(row)
                columns.append(column)
                values.append(weight)
        rows = np.array(owners, dtype=np.int64)
        column_array = np.array(columns, dtype=np.int64)
        weights = np.array(values, dtype=np.float64)
        papers, width = len(documents), len(vocabulary)
        mean = np.bincount(column_array, weights=weights, minlength=width) / max(papers, 1)
        typical = np.bincount(rows, weights=weights * mean[column_array], minlength=papers)
        order = np.argsort(column_array, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(column_array, minlength=width))])
        return cls(vocabulary, np.array(idf), starts, rows[order],
                   weights[order].astype(np.float32), typical.astype(np.float32), papers,
                   frequencies, limits)

    def encode(self, documents: Sequence[Sequence[str]]) -> Encoded:
        """Papers (terms with pairs) as tf-idf vectors over these papers' terms, to compare
        with them (:meth:`similarities`); worth keeping for papers compared often."""
        owners, columns, values = [], [], []
        for owner, terms in enumerate(documents):
            for term, weight in _vector(terms, self._frequencies, self._limits).items():
                column = self.vocabulary.get(term)
                if column is not None:
                    owners.append(owner)
                    columns.append(column)
                    values.append(weight)
        return Encoded(len(documents), np.array(owners, dtype=np.int64),
                       np.array(columns, dtype=np.int64), np.array(values, dtype=np.float32))

    def similarities(self, documents: Sequence[Sequence[str]] | Encoded) -> np.ndarray:
        """The cosine of each of ``documents`` (terms with pairs, or :meth:`encode`'s) to
        each of these papers: a ``len(documents) x papers`` array."""
        found = documents if isinstance(documents, Encoded) else self.encode(documents)
        begins, lengths = self.starts[found.columns], np.diff(self.starts)[found.columns]
        ends = np.cumsum(lengths)
        count = int(ends[-1]) if len(ends) else 0
        at = np.repeat(begins - ends + lengths, lengths) + np.arange(count)
        cells = np.repeat(found.owners, lengths) * self.papers + self.rows[at]
        products = self.weights[at] * np.repeat(found.values, lengths)
        return np.bincount(cells, weights=products, minlength=found.count * self.papers
                           ).reshape(found.count, self.papers).astype(np.float32)


@dataclass(frozen=True)
class Encoded:
    """Papers as sparse tf-idf vectors over a :class:`Texts`' terms (:meth:`Texts.encode`)."""

    count: int
    owners: np.ndarray  # the paper of each entry
    columns: np.ndarray  # its term
    values: np.ndarray  # its weight


def _idf(frequency: int, total: int) -> float:
    return 1 + math.log((total + 1) / (frequency + 1))


def _vector(terms: Sequence[str], frequencies: Mapping[str, int],
            limits: tuple[int, float, int]) -> dict[str, float]:
    """A paper's unit tf-idf vector over the terms that tell papers apart."""
    rarest, commonest, total = limits
    weights = {}
    for term, n in Counter(terms).items():
        frequency = frequencies.get(term, 0)
        if rarest <= frequency <= commonest * total:
            weights[term] = (1 + math.log(n)) * _idf(frequency, total)
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {term: weight / norm for term, weight in weights.items()}


def word_scores(texts: Texts, liked: Sequence[Sequence[str]] | Encoded,
                disliked: Sequence[Sequence[str]] | Encoded = (), *, generic: float = GENERIC,
                nearest: float = NEAREST, disliked_weight: float = DISLIKED_WORDS
                ) -> np.ndarray:
    """How close each of ``texts``' papers is in words to a person's liked papers (their
    terms with pairs): the mean similarity to them less ``generic`` times the paper's
    similarity to the average paper, and less ``disliked_weight`` times the mean
    similarity to disliked papers (Rocchio's formula), as z-scores; plus ``nearest`` times
    the z-scored similarity to the single nearest liked paper, so that a person's every
    topic counts and not only their average."""
    if _count(liked) == 0:
        return np.zeros(texts.papers, dtype=np.float32)
    near = texts.similarities(liked)
    centroid = near.mean(axis=0) - generic * texts.typical
    if _count(disliked):
        centroid -= disliked_weight * texts.similarities(disliked).mean(axis=0)
    return (_z(centroid) + nearest * _z(near.max(axis=0))).astype(np.float32)


def _count(documents: Sequence[Sequence[str]] | Encoded) -> int:
    return documents.count if isinstance(documents, Encoded) else len(documents)


def _z(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    spread = scores.std() if len(scores) else 0.0
    return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)


def fuse(words: np.ndarray, dense: np.ndarray, *, dense_weight: float = DENSE_WEIGHT) -> np.ndarray:
    """One score per paper from the words score and the embedding model's score: each as
    z-scores over the papers ranked together, added (the embedding's weighted)."""
    return (_z(words) + dense_weight * _z(dense)).astype(np.float32)
