"""What every harvest does around its pages: state at the start, each page committed and
counted, the outcome (success or the error) stored for ``stats`` and the home page."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from papersift.library import Library
from papersift.papers import Paper, Rejected

from . import store
from .fetcher import Fetcher, HarvestError
from .settings import HarvestSettings
from .state import HarvestReport

__all__ = ["HarvestRun", "Progress", "no_progress"]

#: ``progress(task, done, total)``, as in :mod:`papersift.library`; total may be unknown.
Progress = Callable[[str, int, int | None], None]


def no_progress(task: str, done: int, total: int | None) -> None:
    return None


class HarvestRun:
    """One run of one source: ``run.fetcher.get(...)`` pages, ``run.commit(...)`` each.

    On entry the source's state records the start and the lexical index catches up with
    the store (a killed run may have left it behind); on exit it records success, or the
    :class:`HarvestError` that ended the run (which is raised on).
    """

    def __init__(self, library: Library, source: str, settings: HarvestSettings,
                 stop: threading.Event | None = None) -> None:
        self.library = library
        self.settings = settings
        self.report = HarvestReport(source)
        self.stop = stop
        self._key = store.state_key(source)
        self._state = store.load_state(library, source).started()
        self.fetcher: Fetcher

    def __enter__(self) -> HarvestRun:
        store.save(self.library, {self._key: self._state.to_json()})
        store.sync(self.library)
        s = self.settings
        gate = store.host_gate(self.library, s.min_interval,
                               max(s.max_retry_after, s.backoff_cap))
        self.fetcher = Fetcher(self.settings, gate=gate)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 *_: object) -> None:
        self.fetcher.close()
        self.report.requests = self.fetcher.requests
        state = self._state.with_page(self.report)
        if error is None and not self.report.stopped:
            state = state.succeeded()
        elif error is None:  # asked to stop between pages
            state = state.interrupted()
        elif isinstance(error, HarvestError):
            state = state.failed(str(error))
        elif isinstance(error, Exception):
            first = (str(error).strip().splitlines() or [""])[0]
            state = state.failed(f"{type(error).__name__}: {first}")
        else:  # Ctrl-C, SystemExit
            state = state.interrupted(f"interrupted: {type(error).__name__}")
        store.save(self.library, {self._key: state.to_json()})

    def stopped(self) -> bool:
        """Whether the caller asked the run to end (checked between pages)."""
        if self.stop is not None and self.stop.is_set():
            self.report.stopped = True
        return self.report.stopped

    def commit(self, papers: Sequence[Paper], *, deleted: Sequence[str] = (),
               rejected: Sequence[Rejected] = (), position: Mapping[str, str] | None = None,
               where: str = "") -> None:
        """Store one page with the position after it (in one transaction), then count it."""
        counts, removed = store.commit_page(self.library, papers, deleted, position or {})
        report = self.report
        report.counts += counts
        report.deleted += removed
        report.pages += 1
        report.rejected += rejected
        report.position = where or report.position
        store.save(self.library, {self._key: self._state.with_page(report).to_json()})
        store.sync(self.library)

