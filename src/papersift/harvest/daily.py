"""Hugging Face Daily Papers: each day's list, new entries and fresh counts.

``GET <daily_papers_url>?date=YYYY-MM-DD&limit=N&p=K`` answers a JSON list of entries (see
:mod:`papersift.sources.daily_json`). Each run asks for the last ``daily_refresh_days``
days (today included) so upvotes, organizations, submitters and code links of recent papers
stay fresh, and for every day since the last run when runs were missed (up to
``daily_catch_up_days``). A refreshed count updates the stored paper (the store keeps the
newest non-empty value of each field). Each page is committed with the day it finished.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from papersift.library import Library
from papersift.papers import Paper, Rejected
from papersift.sources import SourceError
from papersift.sources.daily_json import read as read_daily
from papersift.sources.options import Options

from . import store
from .fetcher import HarvestError
from .pages import as_input
from .run import HarvestRun, Progress, no_progress
from .settings import HarvestSettings
from .state import HarvestReport

__all__ = ["DailyPage", "days_to_fetch", "harvest_daily_papers", "parse_page"]

SOURCE = "daily-papers"


@dataclass
class DailyPage:
    """One answer: the entries as papers, and those that could not be read."""

    papers: list[Paper] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.papers) + len(self.rejected)


def parse_page(body: bytes, name: str = "Daily Papers response") -> DailyPage:
    """Read one answer; an API error object raises :class:`HarvestError`, JSON cut short a
    :class:`~papersift.sources.SourceError` (worth asking again)."""
    try:
        value = json.loads(body)
    except ValueError as err:
        raise SourceError(f"{name}: malformed JSON ({err})") from None
    if isinstance(value, dict) and "error" in value:
        raise HarvestError(f"the Daily Papers API answered: {value['error']}")
    if not isinstance(value, list):
        raise HarvestError(f"{name}: expected a JSON list of entries, got a "
                           f"{type(value).__name__}; check daily_papers_url")
    page = DailyPage()
    for item in read_daily(as_input(body, name), Options()):
        if isinstance(item, Rejected):
            page.rejected.append(item)
        else:
            page.papers.append(item)
    return page


def days_to_fetch(today: date, last: date | None, settings: HarvestSettings,
                  days: int | None = None) -> list[date]:
    """The recent days to refresh, and the days missed since ``last`` (oldest first)."""
    first = today - timedelta(days=(days or settings.daily_refresh_days) - 1)
    if days is None and last is not None and last < first:
        first = max(last, today - timedelta(days=settings.daily_catch_up_days))
    return [first + timedelta(days=n) for n in range((today - first).days + 1)]


def harvest_daily_papers(
    library: Library,
    *,
    day: date | None = None,
    days: int | None = None,
    settings: HarvestSettings | None = None,
    progress: Progress = no_progress,
    stop: threading.Event | None = None,
    today: date | None = None,
) -> HarvestReport:
    """Fetch one ``day``, or the last ``days`` days (default: refresh and catch up).

    Example: ``harvest_daily_papers(lib, days=7)``
    """
    settings = settings or HarvestSettings()
    today = today or datetime.now(UTC).date()
    cursor = store.load_cursor(library, SOURCE) or {}
    last = date.fromisoformat(cursor["last_day"]) if cursor.get("last_day") else None
    dates = [day] if day else days_to_fetch(today, last, settings, days)
    with HarvestRun(library, SOURCE, settings, stop) as run:
        for n, current in enumerate(dates, 1):
            if run.stopped():
                break
            last = max(last or current, current)
            _one_day(run, current, last)
            progress(SOURCE, n, len(dates))
    return run.report


def _one_day(run: HarvestRun, current: date, newest: date) -> None:
    """Every page of one day's list; the last page commits ``newest`` as the newest day
    fetched whole."""
    size = max(1, min(run.settings.daily_page_size, 100))
    seen: set[str] = set()
    for number in range(10_000):  # a bound against a server that ignores ``p``
        params = {"date": current.isoformat(), "limit": str(size), "p": str(number)}
        page = run.fetcher.get(run.settings.daily_papers_url, params, parse_page)
        fresh = [p for p in page.papers if p.id not in seen]
        seen.update(p.id for p in page.papers)
        done = page.count < size or not fresh
        position = {store.cursor_key(SOURCE): json.dumps({"last_day": newest.isoformat()})}
        run.commit(fresh, rejected=page.rejected, position=position if done else None,
                   where=f"through {current.isoformat()}" if done else
                   f"part of {current.isoformat()}")
        if done:
            return
    raise HarvestError(f"{run.settings.daily_papers_url}: more than 10,000 pages for "
                       f"{current.isoformat()}; is the server ignoring p?")
