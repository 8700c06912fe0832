"""The personal feed: the glue between the stores and :mod:`papersift.recommend`.

This is the one place that reads what the models need (a person's ratings, votes and saved
papers from the user store; vectors from the dense ranker; words and their frequencies from
the lexical ranker; listings from the paper store) and turns scores back into papers. For a
day or a date range::

    user store .feedback(user)           liked: upvoted, thumbs-up, saved; disliked: down
    dense ranker .vectors(keys)          their vectors, and the range's papers' vectors
    FeedCache.background                 the library's vectors summarised (the negatives)
    recommend.train -> Model.score       the linear model over embeddings, milliseconds
    FeedCache.terms: the range's papers as tf-idf of their terms and term pairs
                                         (recommend.Texts; lexical .terms, .document_frequencies)
    recommend.word_scores                the person's liked papers' words in new papers
    recommend.fuse                       z-scores added (words 1, embeddings 1.5)
    top papers + "why": the liked papers closest to each in meaning

Without any liked paper the feed is the range's listing by upvotes, and says how to start.
The background, each range's term vectors and each person's liked papers' terms are cached
per process; the model is retrained on every request (a few milliseconds).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from papersift import recommend
from papersift.backends.base import DenseRanker, LexicalRanker, PaperStore, UserStore
from papersift.papers import Paper
from papersift.people import User
from papersift.query import Filters
from papersift.semantic import one_blas_thread

__all__ = ["FeedCache", "FeedItem", "PersonalFeed", "Stores", "Taste", "default_range",
           "personal_feed", "taste", "words"]

#: The most recent liked (and disliked) papers whose words the feed compares new ones with.
PROFILE_PAPERS = 100

Documents = list[list[str]]  # papers' index terms with their pairs
Encodings = tuple[recommend.Encoded, recommend.Encoded]  # liked, disliked


@dataclass(frozen=True, slots=True)
class FeedItem:
    """A paper in someone's feed: its score and the liked papers it is closest to."""

    paper: Paper
    score: float
    because: tuple[Paper, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonalFeed:
    """One page of a person's feed for a day or a date range."""

    since: date | None
    until: date | None
    total: int
    items: list[FeedItem]
    liked: int
    disliked: int
    personal: bool
    notice: str | None = None
    #: Papers of the range the linear model is least sure about (ask about these).
    questions: list[Paper] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Taste:
    """What the models learn from: liked and disliked papers' keys and vectors."""

    liked: np.ndarray  # keys, most recently liked first
    liked_vectors: np.ndarray
    disliked: np.ndarray
    disliked_vectors: np.ndarray
    known: np.ndarray  # every paper they rated, upvoted or saved


class FeedCache:
    """Per process: the library's vectors summarised (:class:`recommend.Background`, from a
    sample of ``size`` papers; made again when the vectors changed by more than 2% or an
    hour passed), the term vectors of recent ranges, and the terms of recent people's rated
    papers (until their ratings change)."""

    def __init__(self, size: int = 20_000, seed: int = 7, profiles: int = 256) -> None:
        self.size = size
        self.seed = seed
        self._lock = threading.Lock()
        self._background: tuple[recommend.Background, int, float] | None = None
        self._profiles: OrderedDict[tuple[int, bytes, object], Encodings] = OrderedDict()
        self._ranges: OrderedDict[tuple[date, date, int],
                                  tuple[np.ndarray, recommend.Texts]] = OrderedDict()
        self._keep = profiles

    def terms(self, store: PaperStore, lexical: LexicalRanker, since: date,
              until: date) -> tuple[np.ndarray, recommend.Texts]:
        """The keys of the papers listed in ``[since, until]`` and their words as tf-idf
        vectors (made once per range and store change: the same for every person)."""
        key = (since, until, store.seq)
        with self._lock:
            found = self._ranges.get(key)
            if found is not None:
                self._ranges.move_to_end(key)
                return found
        keys = store.matching(Filters(since=since, until=until))
        papers = store.papers(keys.tolist())
        keys = np.array([k for k in keys.tolist() if k in papers], dtype=np.int64)
        texts = [lexical.terms(f"{papers[k].title}\n{papers[k].abstract}")
                 for k in keys.tolist()]
        vocabulary = sorted({t for d in texts for t in d})
        frequencies, total = lexical.document_frequencies(vocabulary)
        matrix = recommend.Texts.of([recommend.with_pairs(t) for t in texts],
                                    dict(zip(vocabulary, frequencies, strict=True)), total)
        with self._lock:
            self._ranges[key] = (keys, matrix)
            while len(self._ranges) > 8:
                self._ranges.popitem(last=False)
        return keys, matrix

    def background(self, store: PaperStore, dense: DenseRanker) -> recommend.Background | None:
        count = dense.count
        with self._lock:
            cached = self._background
            if cached is not None:
                summary, seen, made = cached
                if abs(count - seen) <= 0.02 * max(seen, 1) and time.time() - made < 3600:
                    return summary
            if count == 0:
                return None
            keys = store.current_keys(dense.name)
            if len(keys) > self.size:
                keys = np.sort(np.random.default_rng(self.seed).choice(keys, self.size,
                                                                       replace=False))
            found, vectors = dense.vectors(keys)
            if not found.any():
                return None
            with one_blas_thread():
                summary = recommend.Background.of(vectors)
            self._background = (summary, count, time.time())
            return summary

    def profile(self, user: User, likes: Taste, scope: object,
                make: Callable[[], Encodings]) -> Encodings:
        """A person's liked and disliked papers as vectors over a range's terms (``scope``
        names the range), made again only when their ratings or the range change."""
        rated = np.concatenate([likes.liked, [-1], likes.disliked]).astype(np.int64)
        key = (user.id, rated.tobytes(), scope)
        with self._lock:
            found = self._profiles.get(key)
            if found is not None:
                self._profiles.move_to_end(key)
                return found
        found = make()
        with self._lock:
            self._profiles[key] = found
            while len(self._profiles) > self._keep:
                self._profiles.popitem(last=False)
        return found


def taste(users: UserStore, dense: DenseRanker, user: User) -> Taste:
    """A person's liked and disliked papers (a thumbs-down outweighs a vote or a save)."""
    values: dict[int, int] = {}
    latest: dict[int, float] = {}
    for item in sorted(users.feedback(user.id), key=lambda f: f.kind != "rating"):
        values.setdefault(item.key, item.value)  # ratings first: they decide
        latest[item.key] = max(latest.get(item.key, 0.0), item.at.timestamp())
    liked = np.array(sorted((k for k, v in values.items() if v > 0), key=lambda k: -latest[k]),
                     dtype=np.int64)
    disliked = np.array(sorted(k for k, v in values.items() if v < 0), dtype=np.int64)
    liked_found, liked_vectors = dense.vectors(liked)
    disliked_found, disliked_vectors = dense.vectors(disliked)
    return Taste(liked[liked_found], liked_vectors, disliked[disliked_found], disliked_vectors,
                 np.array(sorted(values), dtype=np.int64))


def words(store: PaperStore, lexical: LexicalRanker, keys: np.ndarray) -> Documents:
    """The index terms with their pairs of the first :data:`PROFILE_PAPERS` papers of
    ``keys`` (a person's most recently liked ones), for :func:`recommend.word_scores`."""
    papers = store.papers(keys[:PROFILE_PAPERS].tolist())
    return [recommend.with_pairs(lexical.terms(f"{p.title}\n{p.abstract}"))
            for p in papers.values()]


def default_range(store: PaperStore, days: int) -> tuple[date | None, date | None]:
    """The last ``days`` listing days up to the newest one."""
    latest = store.latest_day()
    if latest is None:
        return None, None
    return latest - timedelta(days=max(days, 1) - 1), latest


@dataclass(frozen=True, slots=True)
class Stores:
    """What the feed reads, in one value."""

    papers: PaperStore
    users: UserStore
    dense: DenseRanker
    lexical: LexicalRanker
    cache: FeedCache


def personal_feed(stores: Stores, user: User, *, since: date, until: date, limit: int,
                  offset: int, questions: int = 0) -> PersonalFeed:
    """The papers listed in ``[since, until]`` that the person has not rated, upvoted or
    saved yet, best first for them; with ``questions``, that many of them the linear model
    is least sure about (an active-learning round: rating these teaches it most)."""
    store = stores.papers
    total = store.count_between(since, until)
    likes = taste(stores.users, stores.dense, user)
    summary = stores.cache.background(store, stores.dense) if len(likes.liked) else None
    if summary is None:
        why = ("rate or save a few papers to start your feed: until then it lists the "
               "most upvoted") if not len(likes.liked) else (
               "the feed starts when the library's papers have vectors "
               "(`papersift embed`); until then it lists the most upvoted")
        papers = store.ranked_between(since, until, limit=limit, offset=offset)
        return PersonalFeed(since, until, total, [FeedItem(p, 0.0) for p in papers],
                            len(likes.liked), len(likes.disliked), False, why)
    listed, texts = stores.cache.terms(store, stores.lexical, since, until)
    liked, disliked = stores.cache.profile(
        user, likes, (since, until, store.seq),
        lambda: (texts.encode(words(store, stores.lexical, likes.liked)),
                 texts.encode(words(store, stores.lexical, likes.disliked))))
    new = ~np.isin(listed, likes.known)  # what they rated, voted or saved is no news
    keys, word_scores = listed[new], recommend.word_scores(texts, liked, disliked)[new]
    found, vectors = stores.dense.vectors(keys)
    keys, word_scores = keys[found], word_scores[found]
    with one_blas_thread():
        model = recommend.train(likes.liked_vectors, likes.disliked_vectors, summary)
        dense = model.score(vectors)
        unsure = recommend.uncertain(model, vectors, questions)
    scores = recommend.fuse(word_scores, dense)
    notice = None
    if not found.all():
        notice = (f"{int((~found).sum()):,} papers of these days have no vector yet and are "
                  "not in your feed until they are embedded")
    end = min(offset + limit, len(keys))
    top = np.argpartition(-scores, end - 1)[:end] if 0 < end < len(scores) else \
        np.arange(end)
    top = top[np.argsort(-scores[top], kind="stable")][offset:end]
    items = _items(store, keys[top], scores[top], vectors[top], likes)
    asked = store.papers(keys[unsure].tolist())
    return PersonalFeed(since, until, total, items, len(likes.liked), len(likes.disliked),
                        True, notice, [asked[k] for k in keys[unsure].tolist() if k in asked])


def _items(store: PaperStore, keys: np.ndarray, scores: np.ndarray, vectors: np.ndarray,
           likes: Taste) -> list[FeedItem]:
    """Papers for the top keys, each with the (up to two) liked papers nearest to it."""
    if len(keys) == 0:
        return []
    with one_blas_thread():
        near = recommend.closest(vectors, likes.liked_vectors, k=2)
    reasons = likes.liked[near] if near.size else np.empty((len(keys), 0), dtype=np.int64)
    papers = store.papers([*keys.tolist(), *np.unique(reasons).tolist()])
    items = []
    for key, score, why in zip(keys.tolist(), scores.tolist(), reasons.tolist(), strict=True):
        if key in papers:
            because = tuple(papers[k] for k in why if k in papers and k != key)
            items.append(FeedItem(papers[key], float(score), because))
    return items
