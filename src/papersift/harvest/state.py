"""What a harvest did (:class:`HarvestReport`) and what each source's harvests have done so
far (:class:`HarvestState`, kept in the library so that ``stats`` and pages can show it)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from papersift.backends.base import UpsertCounts
from papersift.papers import Rejected

__all__ = ["HarvestReport", "HarvestState"]


@dataclass
class HarvestReport:
    """One harvest run: requests made, pages committed, papers added/updated/deleted."""

    source: str
    requests: int = 0
    pages: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    deleted: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    position: str = ""
    stopped: bool = False

    @property
    def brought(self) -> int:
        """Papers new or changed in this run."""
        return self.counts.added + self.counts.updated

    def summary(self) -> str:
        c = self.counts
        end = "stopped" if self.stopped else "done"
        where = f"; {self.position}" if self.position else ""
        return (f"{self.source}: {end} after {self.pages} pages ({self.requests} requests): "
                f"{c.added} added, {c.updated} updated, {c.unchanged} unchanged, "
                f"{self.deleted} deleted, {len(self.rejected)} rejected{where}")


def _now() -> datetime:
    return datetime.now(UTC)  # to the microsecond: back-offs may be shorter than a second


@dataclass(frozen=True)
class HarvestState:
    """Where a source stands: when it last ran, what it brought, its last error."""

    source: str
    last_run: datetime | None = None
    last_success: datetime | None = None
    added: int = 0
    updated: int = 0
    deleted: int = 0
    total: int = 0
    last_error: str | None = None
    position: str = ""
    failures: int = 0  # failed runs in a row (a scheduler backs off by it)

    @property
    def papers(self) -> int:
        """Papers the latest run brought (new or changed)."""
        return self.added + self.updated

    def started(self) -> HarvestState:
        """The state as a new run begins (its counts start at zero)."""
        return replace(self, last_run=_now(), added=0, updated=0, deleted=0)

    def with_page(self, report: HarvestReport) -> HarvestState:
        """The state after the pages of ``report`` so far."""
        c = report.counts
        grown = c.added + c.updated - self.added - self.updated
        return replace(self, added=c.added, updated=c.updated, deleted=report.deleted,
                       total=self.total + grown, position=report.position)

    def succeeded(self) -> HarvestState:
        return replace(self, last_success=_now(), last_error=None, failures=0)

    def failed(self, error: str) -> HarvestState:
        return replace(self, last_error=error, failures=self.failures + 1)

    def interrupted(self, why: str | None = None) -> HarvestState:
        """Stopped before the end (Ctrl-C, a server shutting down): neither a failure nor a
        success, so a scheduler runs it again at its next check."""
        return replace(self, last_error=why)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("last_run", "last_success"):
            data[key] = data[key].isoformat() if data[key] else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, source: str, text: str | None) -> HarvestState:
        """The stored state (a fresh one when there is none or it cannot be read)."""
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("last_run", "last_success"):
            if known.get(key):
                known[key] = datetime.fromisoformat(known[key])
        known["source"] = source
        return cls(**known)
