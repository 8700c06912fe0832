"""Scheduled harvests as the ``harvest`` job of the library's job runner.

There is no scheduler of its own: :meth:`Scheduler.start` asks the runner to keep the job
(``JobRunner.keep``), which checks every ``schedule_check`` seconds whether a source is
due, and runs the job when one is and no process runs it. The job's lock makes one
process the owner across web workers, ``harvest run`` and cron, and whether a source is
due is asked again once the lock is held, so a harvest another process has just done is
not done twice. The job harvests each due source in turn; its :class:`~papersift.jobs.JobState`
(read by ``papersift stats``, ``/api/status``) ends with the papers brought and a line per
source. A source that fails is recorded in its harvest state and tried again after the
back-off of :func:`~papersift.harvest.schedule.next_due`; the job then ends *failed*
(after the other sources ran), which the runner backs off from as well.

What the harvests bring is embedded by the library's ``embed`` job (``start_jobs``), which
sees papers without vectors, and the lexical index and vector store publish to every reader
as they grow, so a running server shows the new papers without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from papersift.jobs import JobContext, JobState
from papersift.library import Library

from . import store
from .config import load_settings
from .fetcher import HarvestError, _require_httpx
from .run import Progress, no_progress
from .schedule import Entry, format_duration, is_due, next_due, parse_schedule, run_source
from .settings import HarvestSettings
from .state import HarvestReport, HarvestState

__all__ = ["JOB", "Scheduler", "SourceStatus", "how_long", "source_statuses"]

#: The job's name in the job runner (and its lock: ``job-harvest``).
JOB = "harvest"


@dataclass(frozen=True)
class SourceStatus:
    """A source as people see it: its harvest state, its interval and when it is due."""

    state: HarvestState
    every: float | None = None  # None: not in the schedule
    due: datetime | None = None  # None: now (or not scheduled)

    @property
    def source(self) -> str:
        return self.state.source

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON: the state's fields, ``papers`` brought, ``every`` (seconds),
        ``due`` (ISO time; null: now or not scheduled), ``summary`` (one line)."""
        s = self.state
        return {
            "source": s.source, "last_run": _iso(s.last_run),
            "last_success": _iso(s.last_success), "papers": s.papers, "added": s.added,
            "updated": s.updated, "deleted": s.deleted, "total": s.total,
            "last_error": s.last_error, "failures": s.failures, "position": s.position,
            "every": self.every, "due": _iso(self.due), "summary": self.describe(),
        }

    def describe(self, now: datetime | None = None) -> str:
        """One line: ``arxiv:cs: ran 3 h ago (2026-07-01 06:15 UTC), 120 new or changed
        papers, 1 deleted (5,120 in all); every 6h, next due in 3 h`` (then failures in a
        row and the last error, when there are)."""
        s, now = self.state, now or datetime.now(UTC)
        if s.last_run is None:
            text = f"{s.source}: never ran"
        else:
            text = (f"{s.source}: ran {how_long(now - s.last_run)} ago "
                    f"({s.last_run:%Y-%m-%d %H:%M} UTC), {s.papers:,} new or changed papers, "
                    f"{s.deleted:,} deleted ({s.total:,} in all)")
        if self.every is not None:
            due = self.due or now
            text += (f"; every {format_duration(self.every)}, next due "
                     + (f"in {how_long(due - now)}" if due > now else "now"))
        if s.failures:
            text += f"; {s.failures} failed run{'s' if s.failures > 1 else ''} in a row"
        return text + (f" · error: {s.last_error}" if s.last_error else "")


class Scheduler:
    """The library's harvest schedule run as a job; settings are read from the library at
    each check unless given (``every`` replaces every source's own interval)."""

    def __init__(self, library: Library, *, settings: HarvestSettings | None = None,
                 every: float | None = None) -> None:
        self.library = library
        self._settings = settings
        self._every = every

    def plan(self) -> tuple[HarvestSettings, tuple[Entry, ...]]:
        """The settings and the scheduled sources, as they stand now."""
        settings = self._settings or load_settings(self.library)
        entries = parse_schedule(settings.schedule)
        if self._every is not None:
            entries = tuple(replace(e, every=self._every) for e in entries)
        return settings, entries

    def due(self, now: datetime | None = None) -> list[Entry]:
        """The scheduled sources due now."""
        settings, entries = self.plan()
        states = {s.source: s for s in store.states(self.library)}
        return [e for e in entries
                if is_due(states.get(e.source), e.every, settings.retry_failed, now)]

    def check(self) -> tuple[HarvestSettings, tuple[Entry, ...]]:
        """The plan, or :class:`HarvestError` (one line) when it cannot be run: an empty
        schedule, a bad stored setting, no HTTP client installed."""
        _require_httpx()
        settings, entries = self.plan()
        if not entries:
            raise HarvestError("the harvest schedule is empty: set one with `papersift "
                               'harvest config --setting schedule="arxiv:cs@6h, '
                               'daily-papers@1h"`')
        return settings, entries

    def start(self) -> tuple[Entry, ...]:
        """Keep harvesting in the background of this process (one process at a time runs
        the job); returns the schedule. Raises :class:`HarvestError` as :meth:`check`."""
        settings, entries = self.check()
        self.library.jobs.keep(JOB, self._due_work, wanted=lambda: bool(self.due()),
                               every=max(settings.schedule_check, 0.01))
        return entries

    def run_now(self, *, wait: bool = True, progress: Progress = no_progress) -> JobState:
        """Harvest every scheduled source now, in this thread (a cron run). With ``wait``
        another process's harvest is waited for, else
        :class:`~papersift.backends.base.LockBusy` is raised. A failed source raises
        :class:`HarvestError` after the others ran."""
        return self.library.jobs.run(
            JOB, lambda ctx: self._harvest(ctx, list(self.plan()[1]), progress), wait=wait)

    def _due_work(self, ctx: JobContext) -> None:
        self._harvest(ctx, self.due())

    def _harvest(self, ctx: JobContext, entries: list[Entry],
                 shown: Progress = no_progress) -> None:
        settings = self.plan()[0]
        reports: list[HarvestReport] = []
        errors: list[str] = []
        for number, entry in enumerate(entries, 1):
            if ctx.stopping:
                break
            where = f"{entry.source} ({number} of {len(entries)})"
            ctx.progress(0, unit=_unit(entry.source), message=where)

            def progress(task: str, done: int, total: int | None, where: str = where) -> None:
                ctx.progress(done, message=where + (f", of {total:,}" if total else ""))
                shown(task, done, total)

            try:
                reports.append(run_source(self.library, entry.source, settings,
                                          stop=ctx.stop_event, progress=progress))
            except Exception as error:  # recorded in the source's state; the others run
                errors.append(f"{entry.source}: {_one_line(error)}")
        brought = sum(r.brought for r in reports)
        ctx.progress(brought, unit="new or changed papers",
                     message="; ".join(_summary(r) for r in reports))
        if errors:
            raise HarvestError("; ".join(errors))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def how_long(delta: timedelta) -> str:
    """``timedelta`` for people: ``40 s``, ``12 min``, ``3 h``, ``2 days``."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _unit(source: str) -> str:
    return "days" if source == "daily-papers" else "records"


def _one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _summary(report: HarvestReport) -> str:
    c = report.counts
    text = f"{report.source} {c.added:,} added, {c.updated:,} updated, {report.deleted:,} deleted"
    return text + (" (stopped)" if report.stopped else "")


def source_statuses(library: Library, settings: HarvestSettings | None = None,
                    ) -> list[SourceStatus]:
    """Every source that has run, by name: its last run, the papers it brought, its last
    error, and (when scheduled) its interval and when it is due next."""
    try:
        settings = settings or load_settings(library)
        entries = {e.source: e for e in parse_schedule(settings.schedule)}
    except HarvestError:
        entries = {}  # a bad stored setting is reported where settings are used
    retry = settings.retry_failed if settings else HarvestSettings().retry_failed
    states = {s.source: s for s in store.states(library)}
    out = []
    for name in sorted(states):
        entry = entries.get(name)
        every = entry.every if entry else None
        due = next_due(states[name], every, retry) if every is not None else None
        out.append(SourceStatus(states[name], every, due))
    return out
