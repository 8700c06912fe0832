"""Background work (embedding, index builds, harvests, digests) with state others can see.

A job is a function ``work(ctx)`` that reports progress through its :class:`JobContext` and
returns when done or when ``ctx.stopping`` is set. Jobs are resumable by construction (each
keeps its own cursor in the store), so a job that dies is simply run again.

One process owns a job at a time: :class:`JobRunner` takes the job's lock from the store
(a file lock for a library directory, an advisory lock in PostgreSQL) before running it,
and writes its :class:`JobState` (progress, rate, heartbeat, last error) to the store, where
every other process (``papersift stats``, ``/api/status``, another web worker) reads it. A
state that says *running* but whose heartbeat stopped belongs to a process that died: it is
shown as stalled, and the next runner that finds the lock free runs the job again.

>>> from papersift.jobs import JobState
>>> JobState("embed", "running", done=10, total=40, rate=2.0).eta_seconds
15.0
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from papersift.errors import LibraryError

if TYPE_CHECKING:
    from papersift.backends.base import PaperStore

__all__ = ["HEARTBEAT", "JobContext", "JobRunner", "JobState", "JobStatus", "owner_name"]

log = logging.getLogger("papersift.jobs")

JobStatus = Literal["running", "done", "failed", "stopped"]
#: Seconds between heartbeats of a running job; three missed ones mean its process died.
HEARTBEAT = 5.0


def owner_name() -> str:
    """This process, as job states and locks name it."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobState:
    """What a job is doing, as stored for every process to read."""

    name: str
    status: JobStatus
    done: int = 0
    total: int | None = None
    unit: str = "items"
    rate: float | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    owner: str | None = None
    message: str = ""

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate (None when unknown)."""
        if self.total is None or not self.rate or self.status != "running":
            return None
        return max(self.total - self.done, 0) / self.rate

    def stalled(self, now: datetime | None = None, *, after: float = 3 * HEARTBEAT) -> bool:
        """Running by its state, but its heartbeat stopped: its process is gone."""
        if self.status != "running" or self.updated_at is None:
            return False
        return ((now or _now()) - self.updated_at).total_seconds() > after

    def describe(self) -> str:
        """One line for people: ``embed: 1,024 of 75,521 (1%) · 38/s · about 32 min left``."""
        parts = [f"{self.name}: {self.status}"]
        if self.stalled():
            parts[0] = f"{self.name}: stalled (its process stopped; it resumes on the next run)"
        if self.total:
            share = 100 * self.done / self.total if self.total else 0
            parts.append(f"{self.done:,} of {self.total:,} {self.unit} ({share:.0f}%)")
        elif self.done:
            parts.append(f"{self.done:,} {self.unit}")
        if self.rate and self.status == "running":
            parts.append(f"{self.rate:,.1f}/s")
        eta = self.eta_seconds
        if eta is not None:
            parts.append(f"about {_duration(eta)} left")
        if self.message:
            parts.append(self.message)
        if self.error:
            parts.append(f"error: {self.error}")
        return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class JobContext:
    """What a running job sees: progress reporting and the stop signal."""

    def __init__(self, runner: JobRunner, state: JobState, stop: threading.Event) -> None:
        self._runner = runner
        self._state = state
        self._stop = stop
        self._lock = threading.Lock()
        self._window: list[tuple[float, int]] = []

    @property
    def stopping(self) -> bool:
        """Set when the job should stop at its next safe point (its work so far is kept)."""
        return self._stop.is_set()

    @property
    def stop_event(self) -> threading.Event:
        """The stop signal as an event, for work that takes one (harvests check it between
        pages)."""
        return self._stop

    @property
    def state(self) -> JobState:
        return self._state

    def progress(self, done: int, total: int | None = None, *, unit: str | None = None,
                 message: str | None = None) -> None:
        """Report progress; the rate is measured over the last minute of reports."""
        now = time.monotonic()
        with self._lock:
            self._window = [(t, d) for t, d in self._window if now - t <= 60] + [(now, done)]
            t0, d0 = self._window[0]
            rate = (done - d0) / (now - t0) if now - t0 >= 1 else self._state.rate
            self._state = replace(
                self._state, done=done, total=total if total is not None else self._state.total,
                unit=unit or self._state.unit, rate=rate,
                message=self._state.message if message is None else message,
            )
            state = self._state
        self._runner._save(state)

    def heartbeat(self) -> None:
        with self._lock:
            state = self._state
        self._runner._save(state)


Work = Callable[[JobContext], None]


@dataclass
class _Running:
    thread: threading.Thread
    stop: threading.Event
    context: JobContext | None = None


class JobRunner:
    """Runs jobs in threads of this process, one owner per job across processes."""

    def __init__(self, store: PaperStore, *, heartbeat: float = HEARTBEAT) -> None:
        self.store = store
        self.heartbeat = heartbeat
        self._running: dict[str, _Running] = {}
        self._guard = threading.Lock()
        self._closed = threading.Event()
        self._supervisors: list[threading.Thread] = []
        self._finals: dict[str, JobState] = {}  # how each job's last run here ended

    # -- running --------------------------------------------------------------------------
    def run(self, name: str, work: Work, *, wait: bool = True,
            stop: threading.Event | None = None) -> JobState:
        """Run a job in this thread (the CLI's foreground jobs); returns its final state.

        Raises :class:`~papersift.backends.base.LockBusy` when another process runs it and
        ``wait`` is False; with ``wait`` it waits for that process to finish first.
        ``stop`` ends it at its next safe point.
        """
        lock = self.store.lock(f"job-{name}")
        lock.acquire(wait=wait)
        stop = stop or threading.Event()
        try:
            return self._execute(name, work, stop, reraise=True)
        finally:
            lock.release()

    def start(self, name: str, work: Work, *, wanted: Callable[[], bool] | None = None) -> bool:
        """Run a job in a background thread if no process runs it; False when one does.

        ``wanted`` is asked again once the lock is held (False: the lock is let go and
        nothing runs), so work another process finished a moment ago is not done twice.
        """
        with self._guard:
            current = self._running.get(name)
            if self._closed.is_set() or (current and current.thread.is_alive()):
                return False
            lock = self.store.lock(f"job-{name}")
            try:
                lock.acquire(wait=False)
            except Exception:  # LockBusy: another process owns it
                return False
            try:
                if wanted is not None and not wanted():
                    lock.release()
                    return False
            except BaseException:
                lock.release()
                raise
            stop = threading.Event()

            def target() -> None:
                try:
                    self._execute(name, work, stop)
                finally:
                    lock.release()

            thread = threading.Thread(target=target, name=f"papersift-job-{name}", daemon=True)
            self._running[name] = _Running(thread, stop)
            thread.start()
            return True

    def keep(self, name: str, work: Work, *, wanted: Callable[[], bool],
             every: float = 10.0) -> None:
        """Supervise a job: every ``every`` seconds, start it when ``wanted()`` says there is
        work and no process runs it (a job whose process died is run again this way)."""

        def supervise() -> None:
            delay, failures = 0.0, 0  # the first check at once, then every ``every`` s
            while not self._closed.wait(delay):
                delay = every
                try:
                    if self.active(name):
                        continue
                    final = self._finals.pop(name, None)
                    if final is not None and final.status == "failed":
                        failures += 1  # back off: a job that keeps failing must not spin
                        delay = min(every * 2**failures, 600.0)
                        continue
                    if final is not None:
                        failures = 0
                    if wanted():
                        self.start(name, work, wanted=wanted)
                except Exception:  # a failing check must not end the supervision
                    log.exception("checking job %s", name)

        thread = threading.Thread(target=supervise, name=f"papersift-keep-{name}",
                                  daemon=True)
        self._supervisors.append(thread)
        thread.start()

    def active(self, name: str) -> bool:
        """Whether this process runs the job now."""
        with self._guard:
            current = self._running.get(name)
            return bool(current and current.thread.is_alive())

    def stop(self, name: str | None = None, *, timeout: float = 30.0) -> None:
        """Ask a job (or all) to stop at its next safe point and wait for it."""
        with self._guard:
            chosen = [r for n, r in self._running.items() if name in (None, n)]
        for running in chosen:
            running.stop.set()
        for running in chosen:
            running.thread.join(timeout)

    def close(self, *, timeout: float = 30.0) -> None:
        """Stop every job and supervisor of this runner; their work so far is kept."""
        self._closed.set()
        self.stop(timeout=timeout)
        for thread in self._supervisors:
            thread.join(timeout)

    # -- internals ------------------------------------------------------------------------
    def _execute(self, name: str, work: Work, stop: threading.Event, *,
                 reraise: bool = False) -> JobState:
        started = _now()
        state = JobState(name, "running", started_at=started, updated_at=started,
                         owner=owner_name())
        context = JobContext(self, state, stop)
        with self._guard:
            if name in self._running:
                self._running[name].context = context
        self._save(state)
        beat = threading.Event()
        beater = threading.Thread(target=self._beat, args=(context, beat), daemon=True,
                                  name=f"papersift-heartbeat-{name}")
        beater.start()
        log.info("job %s started (%s)", name, owner_name())
        try:
            work(context)
        except BaseException as error:
            interrupted = not isinstance(error, Exception)  # Ctrl-C, SystemExit
            final = replace(context.state, status="stopped" if interrupted else "failed",
                            error=None if interrupted else f"{type(error).__name__}: {error}",
                            finished_at=_now(), rate=None)
            if not interrupted:  # a traceback only for a bug, not for an error people act on
                log.error("job %s failed: %s", name, final.error,
                          exc_info=not reraise and not isinstance(error, LibraryError))
            self._finish(final, beat, beater)
            if reraise or interrupted:
                raise
            return final
        status: JobStatus = "stopped" if stop.is_set() else "done"
        final = replace(context.state, status=status, finished_at=_now(), rate=None)
        log.info("job %s %s: %s", name, status, final.describe())
        self._finish(final, beat, beater)
        return final

    def _finish(self, final: JobState, beat: threading.Event, beater: threading.Thread) -> None:
        beat.set()
        beater.join()
        self._save(final)
        self._finals[final.name] = final

    def _beat(self, context: JobContext, done: threading.Event) -> None:
        while not done.wait(self.heartbeat):
            context.heartbeat()

    def _save(self, state: JobState) -> None:
        try:
            self.store.save_job(replace(state, updated_at=_now()))
        except Exception:  # a busy store must not kill the job; the next beat saves again
            log.warning("could not save the state of job %s", state.name, exc_info=True)
