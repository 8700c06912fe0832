"""Feeds: the daily listing, trending papers, category and author listings, digests.

Functions over a :class:`~papersift.backends.base.PaperStore`; the faces reach them through
:class:`~papersift.library.Library` (``library.daily()``, ``library.trending()``, ...).
Every listing counts all upvotes a paper has (``Paper.total_upvotes``): those its source
reported (a Daily Papers entry) plus those cast on this server.

Trending ranks the upvoted papers of the last ``days`` days by votes decayed with age, in
the manner of Hacker News::

    score = votes / (age_days + 2) ** 1.5

``age_days`` is counted from a reference day: today, or the newest listing day in the
library when that is earlier (an archive of past listings still has a trending page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from papersift.backends.base import PaperStore
from papersift.papers import Paper

__all__ = [
    "GRAVITY",
    "Daily",
    "Listing",
    "Trending",
    "by_author",
    "by_category",
    "daily",
    "digest",
    "reference_day",
    "trending",
    "trending_score",
]

#: How fast age wears a paper's votes down in :func:`trending_score`.
GRAVITY = 1.5


@dataclass(frozen=True, slots=True)
class Daily:
    """The papers listed on one day, with the neighbouring listing days."""

    day: date | None
    papers: list[Paper]
    total: int
    previous: date | None = None
    next: date | None = None


@dataclass(frozen=True, slots=True)
class Trending:
    """Papers by decayed votes, with their scores (same order)."""

    reference: date | None
    days: int
    papers: list[Paper]
    scores: list[float]
    #: the window asked for, when it held no upvoted paper and ``days`` is a wider one
    requested_days: int | None = None
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the papers of a category or an author, newest first."""

    papers: list[Paper]
    total: int


def daily(store: PaperStore, day: date | None = None, *, limit: int = 50,
          offset: int = 0) -> Daily:
    """The listing for ``day`` (the newest listing day when None): most upvoted first."""
    day = day or store.latest_day()
    if day is None:
        return Daily(None, [], 0)
    papers = store.ranked_between(day, day, limit=limit, offset=offset)
    previous, following = store.adjacent_days(day)
    return Daily(day, papers, store.count_between(day, day), previous, following)


def reference_day(store: PaperStore, today: date | None = None) -> date | None:
    """The day ages are counted from: ``today`` or the newest listing day, the earlier."""
    latest = store.latest_day()
    today = today or date.today()
    return min(today, latest) if latest else None


def trending_score(votes: int, age_days: float, gravity: float = GRAVITY) -> float:
    """Votes decayed by age: ``votes / (age_days + 2) ** gravity``.

    >>> trending_score(10, 0) > trending_score(10, 3) > trending_score(3, 3)
    True
    """
    return votes / (max(age_days, 0.0) + 2.0) ** gravity


def trending(store: PaperStore, *, days: int = 7, limit: int = 20,
             today: date | None = None) -> Trending:
    """The upvoted papers of the last ``days`` days, by :func:`trending_score`."""
    reference = reference_day(store, today)
    if reference is None:
        return Trending(None, days, [], [])
    since = reference - timedelta(days=max(days - 1, 0))
    scored = sorted(
        ((trending_score(votes, (reference - published).days), key)
         for key, published, votes in store.voted_between(since, reference)),
        reverse=True,
    )[:limit]
    papers = store.papers([key for _, key in scored])
    found = [(papers[key], score) for score, key in scored if key in papers]
    return Trending(reference, days, [p for p, _ in found], [s for _, s in found])


def by_category(store: PaperStore, category: str, *, limit: int = 20,
                offset: int = 0) -> Listing:
    """Papers listed in ``category`` (e.g. ``cs.CL``), newest first."""
    papers, total = store.in_category(category, limit=limit, offset=offset)
    return Listing(papers, total)


def by_author(store: PaperStore, name: str, *, limit: int = 20, offset: int = 0) -> Listing:
    """Papers by an author of this full name (any case, accents), newest first."""
    papers, total = store.by_author(name, limit=limit, offset=offset)
    return Listing(papers, total)


def digest(store: PaperStore, since: date, *, limit: int = 10,
           until: date | None = None) -> list[Paper]:
    """The ``limit`` most upvoted papers published since ``since`` (for e-mail digests)."""
    return store.ranked_between(since, until or date.max, limit=limit)
