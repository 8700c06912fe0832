"""What to harvest and how often: ``arxiv:cs@6h, daily-papers@1h``, and when each is due.

A schedule is written as comma-separated ``SOURCE@EVERY`` entries (the ``schedule``
harvest setting). ``SOURCE`` is ``arxiv:SET`` (an arXiv OAI set such as ``cs``, ``math`` or
``physics:hep-th``), ``arxiv`` (every set) or ``daily-papers``; ``EVERY`` is a duration:
a number and a unit, ``s``, ``m``, ``h`` or ``d`` (``90s``, ``30m``, ``6h``, ``1d``).
The arXiv API is for one-off queries (``papersift harvest arxiv-api``), not scheduled.

A source is due when it has never run, when its last run did not finish (stopped or
killed), ``EVERY`` after its last complete run started, or, after failures, sooner: the
``retry_failed`` back-off, doubled per failure in a row, never beyond ``EVERY``.

>>> parse_schedule("arxiv:cs@6h, daily-papers@30m")
(Entry(source='arxiv:cs', every=21600.0), Entry(source='daily-papers', every=1800.0))
>>> parse_duration("90s"), format_duration(5400.0)
(90.0, '90m')
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from papersift.library import Library

from .arxiv import harvest_oai
from .daily import SOURCE as DAILY
from .daily import harvest_daily_papers
from .fetcher import HarvestError
from .run import Progress, no_progress
from .settings import HarvestSettings
from .state import HarvestReport, HarvestState

__all__ = [
    "Entry",
    "ScheduleError",
    "format_duration",
    "next_due",
    "parse_duration",
    "parse_schedule",
    "run_source",
]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_SET = re.compile(r"^[a-z][a-z-]*(:[a-zA-Z][a-zA-Z.-]*)?$")
_EXAMPLE = 'e.g. "arxiv:cs@6h, daily-papers@1h"'


class ScheduleError(HarvestError):
    """A schedule that cannot be read; ``str(err)`` says which entry and how to write it."""


@dataclass(frozen=True)
class Entry:
    """One scheduled source and its interval in seconds."""

    source: str
    every: float


def parse_duration(text: str) -> float:
    """Seconds in ``90s``, ``30m``, ``6h`` or ``1d`` (ValueError, one line, otherwise)."""
    match = _DURATION.match(text.strip().lower())
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds < 1:
        raise ValueError(f"{text.strip()!r} is not a duration of at least a second; write "
                         "a number and a unit, e.g. 90s, 30m, 6h or 1d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest whole form: ``21600`` -> ``6h``, ``5400`` -> ``90m``."""
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _source(text: str) -> str:
    if text == DAILY or text == "arxiv":
        return text
    kind, sep, set_spec = text.partition(":")
    if kind == "arxiv" and sep and _SET.match(set_spec):
        return text
    if kind == "arxiv-api":
        raise ValueError("the arXiv API is for one-off queries (papersift harvest "
                         "arxiv-api); schedule arxiv:SET or daily-papers")
    raise ValueError(f"unknown source {text!r}: write arxiv:SET (an OAI set, e.g. arxiv:cs "
                     "or arxiv:physics:hep-th), arxiv (every set) or daily-papers")


def parse_schedule(text: str) -> tuple[Entry, ...]:
    """The entries of a schedule; :class:`ScheduleError` (one line) when one is wrong."""
    entries: list[Entry] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        source, sep, every = item.rpartition("@")
        try:
            if not sep:
                raise ValueError(f"say how often, e.g. {item}@6h")
            entry = Entry(_source(source.strip()), parse_duration(every))
        except ValueError as error:
            raise ScheduleError(f"schedule entry {item!r}: {error}") from None
        if any(e.source == entry.source for e in entries):
            raise ScheduleError(f"schedule entry {item!r}: {entry.source} is scheduled twice; "
                                "keep one entry per source")
        entries.append(entry)
    return tuple(entries)


def next_due(state: HarvestState | None, every: float, retry: float) -> datetime | None:
    """When a source is due next (None: now, as it has never run)."""
    if state is None or state.last_run is None:
        return None
    if state.failures:
        wait = min(every, retry * 2 ** (state.failures - 1))
        return state.last_run + timedelta(seconds=wait)
    if state.last_success is None or state.last_success < state.last_run:
        return state.last_run  # it did not finish (stopped, killed): go on now
    return state.last_run + timedelta(seconds=every)


def is_due(state: HarvestState | None, every: float, retry: float,
           now: datetime | None = None) -> bool:
    due = next_due(state, every, retry)
    return due is None or due <= (now or datetime.now(UTC))


def run_source(library: Library, source: str, settings: HarvestSettings, *,
               stop: threading.Event | None = None,
               progress: Progress = no_progress) -> HarvestReport:
    """Harvest one scheduled source as its own command would, from where it stands."""
    if source == DAILY:
        return harvest_daily_papers(library, settings=settings, stop=stop, progress=progress)
    set_spec = source.partition(":")[2] or None
    return harvest_oai(library, set_spec=set_spec, settings=settings, stop=stop,
                       progress=progress)
