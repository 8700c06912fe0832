"""The personal feed: the glue between the stores and :mod:`papersift.recommend`.

This is the one place that reads what the model needs (a person's ratings, votes and saved
papers from the user store; vectors from the dense ranker; listings from the paper store)
and turns the model's scores back into papers. For a day or a date range::

    user store .feedback(user)              liked: upvoted, thumbs-up, saved; disliked: down
    dense ranker .vectors(keys)             their vectors, and the range's papers' vectors
    Background (cached per library)         the library's vectors summarised, the negatives
    recommend.train -> Model.score          a few milliseconds
    top papers + "why": the liked papers closest to each

Without any liked paper the feed is the range's listing by upvotes, and says how to start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from papersift import recommend
from papersift.backends.base import DenseRanker, PaperStore, UserStore
from papersift.papers import Paper
from papersift.people import User
from papersift.query import Filters

__all__ = ["BackgroundCache", "FeedItem", "PersonalFeed", "Taste", "personal_feed",
           "questions", "taste"]


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


@dataclass(frozen=True, slots=True)
class Taste:
    """What the model learns from: liked and disliked papers' keys and vectors."""

    liked: np.ndarray
    liked_vectors: np.ndarray
    disliked: np.ndarray
    disliked_vectors: np.ndarray
    rated: frozenset[int]  # every paper they rated, upvoted or saved


class BackgroundCache:
    """The library's vectors summarised (:class:`recommend.Background`), from a sample of
    ``size`` papers, computed on first use and again when the vectors changed by more than
    2% or an hour passed. Shared by every request of a process."""

    def __init__(self, size: int = 20_000, seed: int = 7) -> None:
        self.size = size
        self.seed = seed
        self._lock = threading.Lock()
        self._value: tuple[recommend.Background, int, float] | None = None

    def get(self, store: PaperStore, dense: DenseRanker) -> recommend.Background | None:
        count = dense.count
        with self._lock:
            cached = self._value
            if cached is not None:
                background, seen, made = cached
                if abs(count - seen) <= 0.02 * max(seen, 1) and time.time() - made < 3600:
                    return background
            if count == 0:
                return None
            keys = store.current_keys(dense.name)
            if len(keys) > self.size:
                rng = np.random.default_rng(self.seed)
                keys = np.sort(rng.choice(keys, self.size, replace=False))
            found, vectors = dense.vectors(keys)
            if not found.any():
                return None
            background = recommend.Background.of(vectors)
            self._value = (background, count, time.time())
            return background


def taste(users: UserStore, dense: DenseRanker, user: User) -> Taste:
    """A person's liked and disliked papers (a thumbs-down outweighs a vote or a save)."""
    values: dict[int, int] = {}
    for item in sorted(users.feedback(user.id), key=lambda f: f.kind != "rating"):
        values.setdefault(item.key, item.value)  # ratings first: they decide
    liked = np.array(sorted(k for k, v in values.items() if v > 0), dtype=np.int64)
    disliked = np.array(sorted(k for k, v in values.items() if v < 0), dtype=np.int64)
    liked_found, liked_vectors = dense.vectors(liked)
    disliked_found, disliked_vectors = dense.vectors(disliked)
    return Taste(liked[liked_found], liked_vectors, disliked[disliked_found], disliked_vectors,
                 frozenset(values))


def _known(likes: Taste) -> np.ndarray:
    return np.fromiter(likes.rated, dtype=np.int64, count=len(likes.rated))


def default_range(store: PaperStore, days: int) -> tuple[date | None, date | None]:
    """The last ``days`` listing days up to the newest one."""
    latest = store.latest_day()
    if latest is None:
        return None, None
    return latest - timedelta(days=max(days, 1) - 1), latest


def personal_feed(store: PaperStore, users: UserStore, dense: DenseRanker, user: User, *,
                  since: date, until: date, limit: int, offset: int,
                  background: BackgroundCache) -> PersonalFeed:
    """The papers listed in ``[since, until]`` that the person has not rated, upvoted or
    saved yet, best first for them."""
    total = store.count_between(since, until)
    likes = taste(users, dense, user)
    summary = background.get(store, dense) if len(likes.liked) else None
    if summary is None:
        why = ("rate or save a few papers to start your feed: until then it lists the "
               "most upvoted") if not len(likes.liked) else (
               "the feed starts when the library's papers have vectors "
               "(`papersift embed`); until then it lists the most upvoted")
        papers = store.ranked_between(since, until, limit=limit, offset=offset)
        return PersonalFeed(since, until, total, [FeedItem(p, 0.0) for p in papers],
                            len(likes.liked), len(likes.disliked), False, why)
    model = recommend.train(likes.liked_vectors, likes.disliked_vectors, summary)
    keys = store.matching(Filters(since=since, until=until))
    keys = keys[~np.isin(keys, _known(likes))]  # what they rated, voted or saved is no news
    found, vectors = dense.vectors(keys)
    scores = model.score(vectors)
    keys = keys[found]
    end = min(offset + limit, len(keys))
    notice = None
    if not found.all():
        notice = (f"{int((~found).sum()):,} papers of these days have no vector yet and are "
                  "not in your feed until they are embedded")
    if end <= offset:
        return PersonalFeed(since, until, total, [], len(likes.liked), len(likes.disliked),
                            True, notice)
    top = np.argpartition(-scores, end - 1)[:end] if end < len(scores) else np.arange(len(keys))
    top = top[np.argsort(-scores[top], kind="stable")][offset:end]
    items = _items(store, keys[top], scores[top], vectors[top], likes)
    return PersonalFeed(since, until, total, items, len(likes.liked), len(likes.disliked),
                        True, notice)


def _items(store: PaperStore, keys: np.ndarray, scores: np.ndarray, vectors: np.ndarray,
           likes: Taste) -> list[FeedItem]:
    """Papers for the top keys, each with the (up to two) liked papers nearest to it."""
    near = recommend.closest(vectors, likes.liked_vectors, k=2)
    reasons = likes.liked[near] if near.size else np.empty((len(keys), 0), dtype=np.int64)
    papers = store.papers([*keys.tolist(), *np.unique(reasons).tolist()])
    items = []
    for key, score, why in zip(keys.tolist(), scores.tolist(), reasons.tolist(), strict=True):
        if key in papers:
            because = tuple(papers[k] for k in why if k in papers and k != key)
            items.append(FeedItem(papers[key], float(score), because))
    return items


def questions(store: PaperStore, users: UserStore, dense: DenseRanker, user: User, *,
              since: date, until: date, n: int,
              background: BackgroundCache) -> list[Paper]:
    """Papers of ``[since, until]`` the person has not rated that their model is least
    sure about (an active-learning round); empty until they like at least one paper."""
    likes = taste(users, dense, user)
    summary = background.get(store, dense) if len(likes.liked) else None
    if summary is None:
        return []
    model = recommend.train(likes.liked_vectors, likes.disliked_vectors, summary)
    keys = store.matching(Filters(since=since, until=until))
    keys = keys[~np.isin(keys, _known(likes))]
    found, vectors = dense.vectors(keys)
    picked = keys[found][recommend.uncertain(model, vectors, n)]
    papers = store.papers(picked.tolist())
    return [papers[k] for k in picked.tolist() if k in papers]
