"""Listing periods (a day, an ISO week, a month) and trending that widens when empty.

The daily feed shows one listing day; the weekly and monthly views show every paper listed
in a week (Monday to Sunday, ISO numbering) or a calendar month, most upvoted first, with
the neighbouring periods that have papers, as the Hugging Face Daily Papers page does.

Trending ranks the upvoted papers of the last ``days`` days (see
:func:`papersift.feeds.trending`). When that window holds fewer than :data:`ENOUGH` (or
``limit``, when smaller) upvoted papers (an archive whose upvoted papers are older than its
newest listings, a quiet week), the window doubles until it holds that many or covers the
whole library, and the result says so (``requested_days``, ``notice``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from papersift import feeds
from papersift.backends.base import PaperStore
from papersift.papers import Paper

__all__ = ["KINDS", "Kind", "Period", "PeriodListing", "listing", "parse_period", "trending"]

Kind = Literal["day", "week", "month"]
KINDS: tuple[Kind, ...] = ("day", "week", "month")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: Upvoted papers a trending window should hold before it is widened.
ENOUGH = 5


@dataclass(frozen=True, slots=True)
class Period:
    """A day, an ISO week or a calendar month."""

    kind: Kind
    start: date
    end: date

    @classmethod
    def of(cls, kind: Kind, day: date) -> Period:
        """The period of ``kind`` holding ``day``."""
        if kind == "day":
            return cls(kind, day, day)
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=6))
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return cls(kind, start, following - timedelta(days=1))

    @property
    def slug(self) -> str:
        """``2026-07-01``, ``2026-W27`` or ``2026-07``: the period's part of its URL."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        """``Jul 1, 2026``, ``Week 27, 2026 (Jun 29 – Jul 5)`` or ``July 2026``."""
        if self.kind == "day":
            return f"{self.start:%b} {self.start.day}, {self.start.year}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return (f"Week {week}, {year} ({self.start:%b} {self.start.day} – "
                    f"{self.end:%b} {self.end.day})")
        return f"{self.start:%B %Y}"


def parse_period(kind: Kind, text: str) -> Period:
    """A period from its slug (or, for any kind, a day inside it); ValueError when neither."""
    text = text.strip()
    week, month = _WEEK.match(text), _MONTH.match(text)
    if kind == "week" and week:
        return Period.of("week", date.fromisocalendar(int(week[1]), int(week[2]), 1))
    if kind == "month" and month:
        return Period.of("month", date(int(month[1]), int(month[2]), 1))
    return Period.of(kind, date.fromisoformat(text))


@dataclass(frozen=True, slots=True)
class PeriodListing:
    """The papers listed in one period, most upvoted first, and the periods around it."""

    period: Period | None
    papers: list[Paper]
    total: int
    previous: Period | None = None
    next: Period | None = None


def listing(store: PaperStore, kind: Kind, day: date | None = None, *, limit: int = 50,
            offset: int = 0) -> PeriodListing:
    """The period of ``kind`` holding ``day`` (the newest listing day when None)."""
    day = day or store.latest_day()
    if day is None:
        return PeriodListing(None, [], 0)
    period = Period.of(kind, day)
    papers = store.ranked_between(period.start, period.end, limit=limit, offset=offset)
    before, _ = store.adjacent_days(period.start)
    _, after = store.adjacent_days(period.end)
    return PeriodListing(period, papers, store.count_between(period.start, period.end),
                         Period.of(kind, before) if before else None,
                         Period.of(kind, after) if after else None)


def trending(store: PaperStore, *, days: int = 7, limit: int = 20,
             today: date | None = None) -> feeds.Trending:
    """Trending over ``days`` days, widened (doubling) while the window holds fewer than
    ``min(limit, ENOUGH)`` upvoted papers and the library has older listings; ``notice``
    says when and how it was widened."""
    enough = min(limit, ENOUGH)
    found = feeds.trending(store, days=days, limit=limit, today=today)
    reference = found.reference
    if len(found.papers) >= enough or reference is None:
        return found
    _, first = store.adjacent_days(date.min)
    span = (reference - (first or reference)).days + 1
    wider = days
    while len(found.papers) < enough and wider < span:
        wider = min(wider * 2, span)
        found = feeds.trending(store, days=wider, limit=limit, today=today)
    if wider == days:
        return found
    when = f"{reference:%b} {reference.day}, {reference.year}"
    notice = (f"fewer than {enough} upvoted papers in the {days:,} days up to {when}; "
              f"widened to the {wider:,} days up to then (doubling until it had {enough}"
              f"{'' if len(found.papers) >= enough else ', or the whole library'})")
    return replace(found, requested_days=days, notice=notice)
