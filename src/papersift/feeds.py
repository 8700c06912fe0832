"""Feeds: the daily listing, trending papers, category and author listings, digests.

Every listing counts all upvotes a paper has: those its source reported (a Daily Papers
entry) plus those cast on this server (the catalog's ``votes`` table).

Trending ranks the upvoted papers of the last ``days`` days by votes decayed with age, in
the manner of Hacker News::

    score = votes / (age_days + 2) ** 1.5

``age_days`` is counted from a reference day: today, or the newest listing day in the
library when that is earlier (an archive of past listings still has a trending page).

>>> import papersift, papersift.feeds as feeds                  # doctest: +SKIP
>>> day = feeds.daily(papersift.open("papersift-data"))           # doctest: +SKIP
>>> [p.title for p in day.papers][:3]                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from papersift.library import Library
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
    "with_votes",
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


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the papers of a category or an author, newest first."""

    papers: list[Paper]
    total: int


def with_votes(library: Library, papers: Sequence[Paper]) -> list[Paper]:
    """The same papers with ``upvotes`` counting the votes cast on this server too."""
    local = library.catalog.local_votes([p.id for p in papers])
    return [replace(p, upvotes=p.upvotes + local[p.id]) if p.id in local else p for p in papers]


def daily(library: Library, day: date | None = None, *, limit: int = 50,
          offset: int = 0) -> Daily:
    """The listing for ``day`` (the newest listing day when None): most upvoted first."""
    catalog = library.catalog
    day = day or catalog.latest_day()
    if day is None:
        return Daily(None, [], 0)
    papers = catalog.ranked_between(day, day, limit=limit, offset=offset)
    previous, following = catalog.adjacent_days(day)
    return Daily(day, with_votes(library, papers), catalog.count_between(day, day),
                 previous, following)


def reference_day(library: Library, today: date | None = None) -> date | None:
    """The day ages are counted from: ``today`` or the newest listing day, the earlier."""
    latest = library.catalog.latest_day()
    today = today or date.today()
    return min(today, latest) if latest else None


def trending_score(votes: int, age_days: float, gravity: float = GRAVITY) -> float:
    """Votes decayed by age: ``votes / (age_days + 2) ** gravity``.

    >>> trending_score(10, 0) > trending_score(10, 3) > trending_score(3, 3)
    True
    """
    return votes / (max(age_days, 0.0) + 2.0) ** gravity


def trending(library: Library, *, days: int = 7, limit: int = 20,
             today: date | None = None) -> Trending:
    """The upvoted papers of the last ``days`` days, by :func:`trending_score`."""
    reference = reference_day(library, today)
    if reference is None:
        return Trending(None, days, [], [])
    since = reference - timedelta(days=max(days - 1, 0))
    scored = sorted(
        ((trending_score(votes, (reference - published).days), rowid)
         for rowid, published, votes in library.catalog.voted_between(since, reference)),
        reverse=True,
    )[:limit]
    papers = library.catalog.by_rowids([rowid for _, rowid in scored])
    found = [(papers[rowid], score) for score, rowid in scored if rowid in papers]
    return Trending(reference, days, with_votes(library, [p for p, _ in found]),
                    [s for _, s in found])


def by_category(library: Library, category: str, *, limit: int = 20,
                offset: int = 0) -> Listing:
    """Papers listed in ``category`` (e.g. ``cs.CL``), newest first."""
    papers, total = library.catalog.in_category(category, limit=limit, offset=offset)
    return Listing(with_votes(library, papers), total)


def by_author(library: Library, name: str, *, limit: int = 20, offset: int = 0) -> Listing:
    """Papers by an author (the exact name, in any case), newest first."""
    papers, total = library.catalog.by_author(name, limit=limit, offset=offset)
    return Listing(with_votes(library, papers), total)


def digest(library: Library, since: date, *, limit: int = 10,
           until: date | None = None) -> list[Paper]:
    """The ``limit`` most upvoted papers published since ``since`` (for e-mail digests)."""
    until = until or date.max
    papers = library.catalog.ranked_between(since, until, limit=limit)
    return with_votes(library, papers)
