"""Progress a person can read in a terminal: one bar per job, with a rate and an ETA.

The library reports progress as ``progress(task, done, total)`` calls (see
:data:`papersift.embedding.Progress`). :class:`Bars` draws one rich bar per task, named
once and never renamed, redrawn four times a second: the count (with its unit), the rate
over the last half minute, and the time left when the total is known (the elapsed time
while it is not). Ingest counts records: its total is an estimate from the share of the
input bytes read so far (shown with ``~``), or unknown for standard input (a pulsing bar).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["TASKS", "Bars"]

#: How each task the library reports is shown: its label and what it counts. Tasks mapped
#: to None are not drawn (``store`` follows ``read`` within one batch).
TASKS: dict[str, tuple[str, str] | None] = {
    "read": ("ingest", "papers"),
    "store": None,
    "index": ("index", "papers"),
    "embed": ("embed", "papers"),
    "build index": ("vector index", ""),
    "import": ("import", "vectors"),
    "export": ("export", "vectors"),
}
#: Tasks whose total is an estimate while they run.
ESTIMATED = {"read"}


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if not unit:  # a step without a count (building an index): the bar pulses
            return Text("")
        if task.total is None:
            return Text(f"{task.completed:,.0f} {unit}")
        about = "~" if task.fields.get("estimated") and not task.finished else ""
        return Text(f"{task.completed:,.0f} / {about}{task.total:,.0f} {unit}")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:,.1f} {unit}/s" if speed else "", style="progress.data.speed")


class _Left(ProgressColumn):
    """Time left when the total is known, else the time so far."""

    def __init__(self) -> None:
        super().__init__()
        self._left = TimeRemainingColumn(elapsed_when_finished=True)
        self._elapsed = TimeElapsedColumn()

    def render(self, task: Task) -> Text:
        if task.total is None:
            return self._elapsed.render(task)
        return self._left.render(task)


class Bars:
    """``with Bars(console) as progress: library.embed(progress=progress)``."""

    def __init__(self, console: Console, *, get_time: Callable[[], float] | None = None,
                 refresh_per_second: float = 4, unit: str = "items") -> None:
        self.unit = unit  # what a task not in TASKS counts (a harvest's records)
        self.progress = Progress(
            TextColumn("{task.description:>12}"), BarColumn(), _Count(), _Rate(), _Left(),
            console=console, transient=False, refresh_per_second=refresh_per_second,
            speed_estimate_period=30.0, get_time=get_time,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, task: str, done: int, total: int | None) -> None:
        shown = TASKS.get(task, (task, self.unit))
        if shown is None:
            return
        label, unit = shown
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(
                label, total=total, unit=unit, estimated=task in ESTIMATED)
        self.progress.update(self.tasks[task], completed=done, total=total)

    def finish(self, task: str) -> None:
        """Mark a task complete (its total is what was done)."""
        if task in self.tasks:
            found = self.progress.tasks[self.tasks[task]]
            self.progress.update(self.tasks[task], total=found.completed)

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for task in ESTIMATED:
            self.finish(task)
        self.progress.stop()
