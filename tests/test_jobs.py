"""The job runner: one owner per job across processes, state every process can read."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from papersift.catalog import Catalog
from papersift.errors import LockBusy
from papersift.jobs import JobContext, JobRunner, JobState


@pytest.fixture
def store(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite")


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_job_reports_progress_rate_and_its_end(store: Catalog) -> None:
    def work(ctx: JobContext) -> None:
        for done in range(0, 101, 20):
            ctx.progress(done, 100, unit="papers")
            time.sleep(0.3)

    final = JobRunner(store).run("embed", work)
    assert final.status == "done" and final.done == 100 and final.total == 100
    assert final.finished_at is not None and final.owner and "pid" in final.owner
    [seen] = Catalog(store.path).jobs()  # another connection, as another process sees it
    assert seen.status == "done" and seen.done == 100


def test_heartbeats_and_rate_while_running(store: Catalog) -> None:
    gate = threading.Event()

    def work(ctx: JobContext) -> None:
        ctx.progress(10, 1000, unit="papers")
        time.sleep(1.1)
        ctx.progress(40, 1000)
        gate.wait(10)

    runner = JobRunner(store, heartbeat=0.1)
    assert runner.start("embed", work)
    _wait_for(lambda: (store.jobs() or [JobState("x", "done")])[0].done == 40)
    first = store.jobs()[0]
    assert first.status == "running" and first.rate and 15 < first.rate < 35
    assert first.eta_seconds and first.eta_seconds > 10 and "papers" in first.describe()
    time.sleep(0.35)
    assert store.jobs()[0].updated_at > first.updated_at  # type: ignore[operator]
    assert not first.stalled()
    gate.set()
    _wait_for(lambda: not runner.active("embed"))
    runner.close()
    assert store.jobs()[0].status == "done"


def test_one_owner_at_a_time(store: Catalog) -> None:
    gate = threading.Event()
    runner, other = JobRunner(store), JobRunner(Catalog(store.path))
    assert runner.start("embed", lambda ctx: gate.wait(10) and None)
    assert not runner.start("embed", lambda ctx: None)  # this process runs it already
    assert not other.start("embed", lambda ctx: None)  # another one does
    with pytest.raises(LockBusy):
        other.run("embed", lambda ctx: None, wait=False)
    gate.set()
    runner.close()
    assert other.run("embed", lambda ctx: None, wait=False).status == "done"


def test_a_failed_job_keeps_its_error_and_a_dead_one_shows_as_stalled(store: Catalog) -> None:
    def broken(ctx: JobContext) -> None:
        ctx.progress(3, 10)
        raise ValueError("disk full")

    runner = JobRunner(store)
    assert runner.start("embed", broken)
    _wait_for(lambda: store.jobs() and store.jobs()[0].status == "failed")
    assert store.jobs()[0].error == "ValueError: disk full" and store.jobs()[0].done == 3
    old = datetime.now(UTC) - timedelta(minutes=5)
    store.save_job(replace(store.jobs()[0], status="running", error=None, updated_at=old))
    dead = store.jobs()[0]
    assert dead.stalled() and dead.describe().startswith("embed: stalled")


def test_a_kept_job_runs_when_work_appears_and_close_stops_it(store: Catalog) -> None:
    pending = threading.Event()
    runs: list[float] = []

    def work(ctx: JobContext) -> None:
        runs.append(time.monotonic())
        pending.clear()
        while not ctx.stopping:
            time.sleep(0.01)

    runner = JobRunner(store)
    runner.keep("embed", work, wanted=pending.is_set, every=0.05)
    time.sleep(0.2)
    assert runs == []  # nothing to do
    pending.set()
    _wait_for(lambda: runs)
    assert runner.active("embed")
    started = time.monotonic()
    runner.close()
    assert time.monotonic() - started < 5 and not runner.active("embed")
    assert store.jobs()[0].status == "stopped"


def test_a_kept_job_that_keeps_failing_is_retried_with_back_off(store: Catalog) -> None:
    attempts: list[float] = []

    def broken(ctx: JobContext) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("model missing")

    runner = JobRunner(store)
    runner.keep("embed", broken, wanted=lambda: True, every=0.05)
    time.sleep(1.5)
    runner.close()
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert 3 <= len(attempts) <= 6  # 0.1, 0.2, 0.4, 0.8 s apart: not every 0.05 s
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps))
    assert store.jobs()[0].status == "failed" and "model missing" in (store.jobs()[0].error or "")
