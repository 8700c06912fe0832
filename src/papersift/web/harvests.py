"""The harvest sources as the web shows them: a line per source on the home page and
``harvests`` in ``/api/status`` (when each last ran, what it brought, its last error)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from papersift.harvest import SourceStatus, how_long, source_statuses
from papersift.library import Library

__all__ = ["HarvestOut", "SourceLine", "harvest_out", "harvests", "source_lines"]


class HarvestOut(BaseModel):
    """A harvest source: its last run, what that run brought, its last error."""

    source: str = Field(description="arxiv:SET, arxiv, arxiv-api or daily-papers.")
    last_run: datetime | None = None
    last_success: datetime | None = None
    papers: int = Field(0, description="New or changed papers its last run brought.")
    added: int = 0
    updated: int = 0
    deleted: int = 0
    total: int = Field(0, description="New or changed papers of all its runs.")
    last_error: str | None = None
    failures: int = Field(0, description="Failed runs in a row.")
    every: float | None = Field(None, description="Seconds between scheduled runs (null: "
                                "not in the schedule).")
    due: datetime | None = Field(None, description="When it is due next (null: now, or "
                                 "not scheduled); a scheduler runs it then.")
    summary: str = Field(description="One line for people.")


def harvest_out(status: SourceStatus) -> HarvestOut:
    """The API shape of a source."""
    s = status.state
    return HarvestOut(
        source=s.source, last_run=s.last_run, last_success=s.last_success, papers=s.papers,
        added=s.added, updated=s.updated, deleted=s.deleted, total=s.total,
        last_error=s.last_error, failures=s.failures, every=status.every, due=status.due,
        summary=status.describe(),
    )


def harvests(library: Library) -> list[HarvestOut]:
    """Every source that has run, for ``/api/status``."""
    return [harvest_out(s) for s in source_statuses(library)]


@dataclass(frozen=True)
class SourceLine:
    """One source on the home page (the template escapes every field)."""

    source: str
    ran: str  # ISO time of the last run
    ago: str  # "3 h"
    papers: int
    error: str | None


def source_lines(library: Library, now: datetime | None = None) -> list[SourceLine]:
    """The sources that have run, for the home page's sources line."""
    now = now or datetime.now(UTC)
    lines = []
    for status in source_statuses(library):
        s = status.state
        if s.last_run is None:
            continue
        lines.append(SourceLine(s.source, s.last_run.isoformat(), how_long(now - s.last_run),
                                s.papers, s.last_error))
    return lines

