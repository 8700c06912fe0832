"""Harvest arXiv over OAI-PMH: ``arXivRaw`` records of one set, incrementally, resumably.

Each run continues from the newest datestamp the library has seen for the set (inclusive,
as OAI-PMH's ``from`` is; records seen again change nothing), or from where an interrupted
list stopped. Each page's papers, deletions and the position after it (the resumption token
and the datestamps) are committed together, so a run killed at any point goes on from the
last committed page. A token the server no longer knows (``badResumptionToken``) starts the
list again from the newest committed datestamp while the list has come in datestamp order
(so nothing before it is missing), else from the start of the list.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta

from papersift.library import Library

from . import store
from .fetcher import HarvestError
from .oai import OaiPage, list_params, parse_page, resume_params
from .run import HarvestRun, Progress, no_progress
from .settings import HarvestSettings
from .state import HarvestReport

__all__ = ["PREFIX", "OaiCursor", "harvest_oai"]

log = logging.getLogger("papersift.harvest")

#: The metadata format asked for: every version with its date, so versions are exact.
PREFIX = "arXivRaw"
@dataclass(frozen=True)
class OaiCursor:
    """Where a set's harvest stands; stored as JSON with every committed page."""

    since: str | None = None  # the current list's from (None: from the start of the set)
    until: str | None = None
    token: str | None = None  # None: no list in progress
    last: str | None = None  # newest datestamp committed in the current list
    ordered: bool = True  # whether the current list has come in datestamp order so far
    high: str | None = None  # newest datestamp ever committed: where the next list starts
    done: int = 0
    size: int | None = None

    def new_list(self, since: str | None, until: str | None) -> OaiCursor:
        return OaiCursor(since=since, until=until, high=self.high)

    def restarted(self) -> OaiCursor:
        """A new list from where nothing can have been missed (the token was lost)."""
        start = self.last if self.ordered and self.last else self.since
        return replace(self.new_list(start, self.until), high=self.high)

    def after(self, page: OaiPage) -> OaiCursor:
        stamps = [d for d in page.datestamps if d]
        in_order = stamps == sorted(stamps) and (not stamps or not self.last
                                                 or stamps[0] >= self.last)
        last = max([*stamps, self.last or ""]) or None
        high = max(self.high or "", last or "") or None
        size = page.size if page.size is not None else self.size
        return replace(self, token=page.token, last=last, ordered=self.ordered and in_order,
                       high=high, done=self.done + page.count, size=size)

    def next_from(self) -> str | None:
        return self.high[:10] if self.high else None

    def describe(self) -> str:
        if self.token:
            return f"stopped at record {self.done} of the list from {self.since or 'the start'}"
        return f"next run from {self.next_from() or 'the start'}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, data: dict[str, object] | None) -> OaiCursor:
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]


def _first(cursor: OaiCursor, since: date | None, until: date | None,
           settings: HarvestSettings, today: date) -> OaiCursor:
    """The cursor this run starts from: a list to resume, or a new one."""
    if since is None and until is None and cursor.token:
        return cursor
    if since is None:
        start = cursor.next_from()
        if start is None and settings.oai_first_days > 0:
            start = (today - timedelta(days=settings.oai_first_days)).isoformat()
    else:
        start = since.isoformat()
    return cursor.new_list(start, until.isoformat() if until else None)


def harvest_oai(
    library: Library,
    *,
    set_spec: str | None = "cs",
    since: date | None = None,
    until: date | None = None,
    settings: HarvestSettings | None = None,
    progress: Progress = no_progress,
    stop: threading.Event | None = None,
    today: date | None = None,
) -> HarvestReport:
    """Harvest one arXiv set (``None``: all of arXiv) into ``library``; see the module doc.

    ``since``/``until`` (inclusive) start a new list; without them the run resumes an
    interrupted list or continues from the newest datestamp seen. ``stop`` ends the run
    after the page in hand. Raises :class:`HarvestError` (one line) when the source cannot
    be harvested; what was committed before stays, and the next run resumes.

    Example: ``harvest_oai(papersift.open("lib"), set_spec="cs")``
    """
    settings = settings or HarvestSettings()
    source = f"arxiv:{set_spec}" if set_spec else "arxiv"
    today = today or datetime.now(UTC).date()
    cursor = _first(OaiCursor.load(store.load_cursor(library, source)), since, until,
                    settings, today)
    with HarvestRun(library, source, settings, stop) as run:
        run.report.position = cursor.describe()
        _pages(run, cursor, set_spec, progress)
    return run.report


def _pages(run: HarvestRun, cursor: OaiCursor, set_spec: str | None,
           progress: Progress) -> None:
    """Fetch and commit pages until the list ends (or the run is stopped)."""
    source, url, restarts = run.report.source, run.settings.oai_url, 0
    while not run.stopped():
        params = (resume_params(cursor.token) if cursor.token
                  else list_params(PREFIX, set_spec, _day(cursor.since), _day(cursor.until)))
        page = run.fetcher.get(url, params, parse_page)
        if page.error == "badResumptionToken":
            if not cursor.token or restarts >= run.settings.retries:
                raise HarvestError(f"{url}: the server keeps refusing its own resumption "
                                   "tokens (badResumptionToken); try again later")
            restarts += 1
            cursor = cursor.restarted()
            log.warning("%s: resumption token expired; listing again from %s", source,
                        cursor.since or "the start")
            store.save(run.library, {store.cursor_key(source): cursor.to_json()})
            continue
        cursor = cursor.after(page)
        run.commit(page.papers, deleted=page.deleted, rejected=page.rejected,
                   position={store.cursor_key(source): cursor.to_json()},
                   where=cursor.describe())
        progress(source, cursor.done, cursor.size)
        if cursor.token is None:
            return


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None
