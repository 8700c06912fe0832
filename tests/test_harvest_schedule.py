"""Scheduled harvesting: the schedule setting, the ``harvest`` job (once across processes,
back-off after failures), what stats, /api/status and the home page show, a running server
showing harvested papers without a restart, and ``harvest run --every`` stopping cleanly.

The sources are the loopback protocol servers of ``tests/protocol_servers`` over real
arXiv records and Daily Papers entries; the libraries, servers and processes are real.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.harvest import (
    JOB,
    HarvestSettings,
    HarvestState,
    ScheduleError,
    Scheduler,
    load_settings,
    parse_schedule,
    save_settings,
    source_statuses,
)
from papersift.harvest.schedule import next_due
from papersift.harvest.store import state_key
from papersift.library import Library
from papersift.web import create_app
from tests.protocol_servers import (
    Answer,
    DailyItem,
    DailyPapersApi,
    LoopbackServer,
    OaiRepository,
    Record,
    daily_items,
    records_from_jsonl,
)
from tests.web_fixtures import RunningServer, arxiv_papers

PAPERSIFT = [sys.executable, "-m", "papersift.cli"]
FAST = HarvestSettings(min_interval=0.02, backoff=0.02, backoff_cap=0.1, retries=2, timeout=5,
                       oai_first_days=0, schedule_check=0.05)


@pytest.fixture(scope="module")
def records(arxiv_sample: Path) -> list[Record]:
    """60 cs records the libraries below do not hold yet (papers 40..99 of the sample)."""
    return [r for r in records_from_jsonl(arxiv_sample, 400)[40:]
            if any(s == "cs" for s in r.sets)][:60]


@pytest.fixture(scope="module")
def today_items(daily_papers_json: Path) -> list[DailyItem]:
    """Daily Papers entries listed today and yesterday (a scheduled run asks for recent days)."""
    today = datetime.now(UTC).date()
    items = daily_items(daily_papers_json, 12)
    return [replace(item, day=today - timedelta(days=n % 2)) for n, item in enumerate(items)]


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _list_starts(repo: OaiRepository) -> int:
    """ListRecords requests that start a list (one per harvest run)."""
    return sum(1 for r in repo.requests
               if r.get("verb") == "ListRecords" and "resumptionToken" not in r)


# -- the schedule, due times, kept settings -------------------------------------------------


def test_a_schedule_reads_and_a_wrong_one_is_one_line_naming_the_entry() -> None:
    entries = parse_schedule(" arxiv:cs@6h,daily-papers@90m , arxiv:physics:hep-th@1d, arxiv@45s")
    assert [(e.source, e.every) for e in entries] == [
        ("arxiv:cs", 21600.0), ("daily-papers", 5400.0), ("arxiv:physics:hep-th", 86400.0),
        ("arxiv", 45.0)]
    assert parse_schedule("") == ()
    wrong = {
        "arxiv:cs@6x": "'6x' is not a duration",
        "arxiv:cs": "say how often, e.g. arxiv:cs@6h",
        "papers@1h": "unknown source 'papers'",
        "arxiv-api:cat:cs.IR@1h": "the arXiv API is for one-off queries",
        "arxiv:cs@1h, arxiv:cs@2h": "arxiv:cs is scheduled twice",
        "daily-papers@0.5s": "at least a second",
    }
    for text, message in wrong.items():
        with pytest.raises(ScheduleError) as caught:
            parse_schedule(text)
        assert message in str(caught.value) and "\n" not in str(caught.value), text
        assert str(caught.value).startswith("schedule entry '")


def test_due_after_the_interval_sooner_after_failures_and_at_once_after_a_stop() -> None:
    start = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    done = HarvestState("arxiv:cs", last_run=start, last_success=start + timedelta(minutes=2))
    assert next_due(None, 3600, 300) is None  # never ran: now
    assert next_due(done, 3600, 300) == start + timedelta(hours=1)
    failing = [replace(done, failures=n, last_success=None) for n in (1, 2, 3, 5)]
    assert [next_due(s, 3600, 300) for s in failing] == [
        start + timedelta(seconds=w) for w in (300, 600, 1200, 3600)]  # doubling, capped
    stopped = replace(done, last_success=start - timedelta(days=1))
    assert next_due(stopped, 3600, 300) == start  # it did not finish: go on now


def test_settings_are_kept_in_the_library_checked_and_shown(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as lib:
        kept = save_settings(lib, {"schedule": "daily-papers@2h", "min_interval": "5"})
        assert kept.schedule == "daily-papers@2h" and kept.min_interval == 5.0
        assert load_settings(lib, {"retries": "1"}).replace(retries=6) == kept
        save_settings(lib, {}, reset=["min_interval"])
        assert load_settings(lib).min_interval == 3.0
    runner = CliRunner()
    base = ["-L", str(tmp_path / "lib"), "harvest", "config"]
    shown = runner.invoke(main, base)
    assert shown.exit_code == 0
    assert "schedule = 'daily-papers@2h'  (kept in this library)" in shown.output
    for setting, message in [("schedule=arxiv:cs@soon", "'soon' is not a duration"),
                             ("retries=-1", "retries=-1: expected 0 or more"),
                             ("oai_url=ftp://x", "expected an http(s) URL"),
                             ("colour=blue", "unknown harvest setting(s): colour")]:
        refused = runner.invoke(main, [*base, "--setting", setting])
        assert refused.exit_code == 1 and message in refused.output, refused.output
        assert "Traceback" not in refused.output and refused.output.count("error:") == 1
    with Library(tmp_path / "lib") as lib:  # nothing refused was kept
        assert load_settings(lib).schedule == "daily-papers@2h"


# -- the job: once across processes, back-off, what it reports ------------------------------


def test_a_due_harvest_runs_once_though_two_processes_keep_the_schedule(
        tmp_path: Path, records: list[Record], today_items: list[DailyItem]) -> None:
    repo, daily = OaiRepository.of(records, page_size=20), DailyPapersApi.of(today_items)
    with LoopbackServer(repo) as oai, LoopbackServer(daily) as hf:
        settings = FAST.replace(oai_url=oai.url + "/oai", schedule="arxiv:cs@1h, daily-papers@1h",
                                daily_papers_url=hf.url + "/api/daily_papers")
        Library(tmp_path / "lib").close()
        # two libraries opened separately hold separate locks, as two processes do
        first, second = Library(tmp_path / "lib"), Library(tmp_path / "lib")
        try:
            for lib in (first, second):
                Scheduler(lib, settings=settings).start()
            _wait_for(lambda: {s.source for s in source_statuses(first, settings)
                               if s.state.last_success} == {"arxiv:cs", "daily-papers"},
                      30, "both sources harvested")
            time.sleep(1.0)  # 20 more checks in each process
            assert _list_starts(repo) == 1 and len(repo.requests) == 3  # 60 records, pages of 20
            assert len(hf.log) == 3  # today and the two days before it, once each
            [job] = [j for j in first.status().jobs if j.name == JOB]
            assert job.status == "done" and job.done == 60 + len(today_items)
            assert job.unit == "new or changed papers"
            assert "arxiv:cs 60 added, 0 updated, 0 deleted" in job.message
            assert f"daily-papers {len(today_items)} added" in job.message
            assert len(first) == 60 + len(today_items)
        finally:
            first.close()
            second.close()


def test_a_failing_source_is_reported_and_retried_with_a_doubling_back_off(
        tmp_path: Path, records: list[Record]) -> None:
    repo = OaiRepository.of(records, page_size=30)
    broken = {"on": True}

    def app(path: str, query: dict[str, list[str]]) -> Answer:
        if broken["on"]:
            return Answer(500, b"<html>upstream <b>down</b></html>", "text/html")
        return repo(path, query)

    with LoopbackServer(app) as server, Library(tmp_path / "lib") as lib:
        settings = FAST.replace(oai_url=server.url + "/oai", schedule="arxiv:cs@1h", retries=0,
                                retry_failed=0.4)
        save_settings(lib, {"schedule": "arxiv:cs@1h"})  # what stats shows as the interval
        Scheduler(lib, settings=settings).start()
        _wait_for(lambda: len(server.log) >= 4, 20, "four tries")
        arrived = [e.arrived for e in server.log[:4]]
        gaps = [b - a for a, b in itertools.pairwise(arrived)]
        for gap, wanted in zip(gaps, (0.4, 0.8, 1.6), strict=True):
            assert wanted * 0.95 <= gap <= wanted + 1.0, gaps  # back-off kept, doubling
        # the fourth try reached the server; its failure is recorded just after
        _wait_for(lambda: [j.status for j in lib.status().jobs if j.name == JOB] == ["failed"]
                  and {s.source: s for s in source_statuses(lib)}["arxiv:cs"].state.failures
                  >= 4, 10, "the fourth failure recorded")
        state = {s.source: s for s in source_statuses(lib)}["arxiv:cs"]
        assert state.state.failures >= 4 and "500" in (state.state.last_error or "")
        [job] = [j for j in lib.status().jobs if j.name == JOB]
        assert job.status == "failed" and "arxiv:cs:" in (job.error or "")

        shown = CliRunner().invoke(main, ["-L", str(tmp_path / "lib"), "stats"])
        line = next(x for x in shown.output.splitlines() if x.startswith("  harvest arxiv:cs"))
        assert "failed runs in a row" in line and "error: " in line and "500" in line
        data = json.loads(CliRunner().invoke(main, ["-L", str(tmp_path / "lib"), "stats",
                                                    "--json"]).output)
        [entry] = data["harvests"]
        assert entry["source"] == "arxiv:cs" and entry["failures"] >= 4
        assert entry["every"] == 3600 and entry["last_success"] is None

        broken["on"] = False  # the source comes back: the next try succeeds
        _wait_for(lambda: {s.source: s for s in source_statuses(lib)}["arxiv:cs"]
                  .state.last_success is not None, 30, "a successful retry")
        state = {s.source: s for s in source_statuses(lib)}["arxiv:cs"]
        assert state.state.failures == 0 and state.state.last_error is None
        assert state.state.added == 60 and len(lib) == 60


# -- what a running server shows ----------------------------------------------------------


def test_a_running_server_shows_harvested_papers_and_its_sources(
        tmp_path: Path, arxiv_sample: Path, records: list[Record]) -> None:
    lib = Library(tmp_path / "lib")
    lib.add(arxiv_papers(arxiv_sample, 20))
    lib.embed()
    hostile = '<script>alert("x")</script>'
    lib.store.set_meta(state_key("daily-papers"), HarvestState(
        "daily-papers", last_run=datetime.now(UTC) - timedelta(hours=3),
        last_error=f"the Daily Papers API answered: {hostile}", failures=1).to_json())
    repo = OaiRepository.of(records[:30], page_size=10)
    with LoopbackServer(repo) as oai, RunningServer(create_app(lib)) as web:
        base = httpx.get(f"{web.url}/api/status").json()
        assert base["papers"] == 20 and base["embedded"] == 20
        # as `serve --harvest` does: the schedule and the embedding kept by the server's library
        Scheduler(lib, settings=FAST.replace(oai_url=oai.url + "/oai",
                                             schedule="arxiv:cs@6h")).start()
        lib.start_jobs(embed=True, every=0.2)
        newest = records[29]

        def shown() -> bool:
            status = httpx.get(f"{web.url}/api/status").json()
            return bool(status["papers"] == status["embedded"] == 50)
        _wait_for(shown, 120, "the harvested papers embedded and served")
        paper = httpx.get(f"{web.url}/api/papers/{newest.id}")
        assert paper.status_code == 200
        title = paper.json()["paper"]["title"]
        for mode in ("lexical", "semantic"):
            found = httpx.get(f"{web.url}/api/search", params={"q": title, "mode": mode}).json()
            assert found["mode_used"] == mode
            assert newest.id in [r["paper"]["id"] for r in found["results"][:3]], mode
        harvests = {h["source"]: h for h in httpx.get(f"{web.url}/api/status").json()["harvests"]}
        assert harvests["arxiv:cs"]["added"] == 30 and harvests["arxiv:cs"]["every"] == 21600
        assert harvests["daily-papers"]["last_error"].endswith(hostile)
        home = httpx.get(f"{web.url}/").text
        box = home[home.index('aria-label="Harvest sources"'):]
        box = box[: box.index("</aside>")]
        assert "<strong>arxiv:cs</strong> ran" in box and "30 new or changed papers" in box
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in box and hostile not in home
    lib.close()


# -- `harvest run` in the foreground -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def slow_repository(records: list[Record]) -> Iterator[tuple[LoopbackServer, OaiRepository]]:
    repo = OaiRepository.of(records, page_size=5)  # 12 pages, 0.4 s apart
    with LoopbackServer(repo) as server:
        yield server, repo


def _communicate_or_dump_stacks(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's stderr once it ends; if it is still running after `timeout`, fail with
    every thread's stack (faulthandler, on in the child, prints them on SIGABRT)."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, stderr = process.communicate(timeout=30)
        raise AssertionError(f"still running {timeout:.0f} s after SIGINT; its stacks:\n"
                             f"{stderr[-6000:]}") from None


def _as_at_a_terminal() -> None:
    """Ctrl-C's default disposition in the child, whatever this process inherited: a suite
    started as a background job of a non-interactive shell (`cmd &`) runs with SIGINT
    ignored, and so would every process it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_harvest_run_every_stops_cleanly_on_ctrl_c_and_goes_on_later(
        tmp_path: Path, slow_repository: tuple[LoopbackServer, OaiRepository]) -> None:
    server, repo = slow_repository
    library = str(tmp_path / "lib")
    settings = ["--setting", f"oai_url={server.url}/oai", "--setting", "schedule=arxiv:cs@1d",
                "--setting", "oai_first_days=0", "--setting", "schedule_check=0.1",
                "--setting", "min_interval=0.4"]
    loop = subprocess.Popen([*PAPERSIFT, "-L", library, "harvest", "run", "--every", "6h",
                             "--no-embed", *settings], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1",
                                 "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=_as_at_a_terminal)
    try:
        _wait_for(lambda: len(server.log) >= 3, 60, "the harvest to start")
        loop.send_signal(signal.SIGINT)
        stopped_at = time.monotonic()
        stderr = _communicate_or_dump_stacks(loop, 30)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert loop.returncode == 0, stderr
    assert time.monotonic() - stopped_at < 10
    assert "Traceback" not in stderr and "stopped; the next run goes on" in stderr
    pages = len(server.log)
    assert 3 <= pages < 12  # it stopped between pages, before the end
    with Library(library) as lib:
        [job] = [j for j in lib.status().jobs if j.name == JOB]
        assert job.status == "stopped"
        [state] = source_statuses(lib)
        assert state.state.last_success is None and state.state.failures == 0
        held = len(lib)
        assert 0 < held < 60 and held % 5 == 0  # whole pages, as committed
    again = subprocess.run([*PAPERSIFT, "-L", library, "harvest", "run", "--no-embed",
                            "--no-progress", *settings], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "arxiv:cs: ran" in again.stderr and "60 in all" in again.stderr
    with Library(library) as lib:
        assert len(lib) == 60
    assert _list_starts(repo) == 1  # the second run resumed the list with its token


def test_harvest_run_every_started_with_sigint_ignored_keeps_ignoring_it(
        tmp_path: Path, slow_repository: tuple[LoopbackServer, OaiRepository]) -> None:
    server, _ = slow_repository
    loop = subprocess.Popen([*PAPERSIFT, "-L", str(tmp_path / "lib"), "harvest", "run",
                             "--every", "6h", "--no-embed", "--setting",
                             f"oai_url={server.url}/oai", "--setting", "schedule=arxiv:cs@1d",
                             "--setting", "oai_first_days=0", "--setting", "min_interval=0.4"],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        _wait_for(lambda: len(server.log) >= 2, 60, "the harvest to start")
        loop.send_signal(signal.SIGINT)
        time.sleep(2)
        assert loop.poll() is None  # as a shell's `cmd &` asks: SIGINT does not stop it
        loop.terminate()
        _, stderr = loop.communicate(timeout=30)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert "stopping" not in stderr


@pytest.mark.slow
def test_serve_harvest_with_two_workers_harvests_once_and_serves_the_new_papers(
        tmp_path: Path, arxiv_sample: Path, records: list[Record],
        today_items: list[DailyItem]) -> None:
    lib = Library(tmp_path / "lib")
    lib.add(arxiv_papers(arxiv_sample, 20))
    lib.embed()
    repo, daily = OaiRepository.of(records, page_size=20), DailyPapersApi.of(today_items)
    with LoopbackServer(repo) as oai, LoopbackServer(daily) as hf:
        save_settings(lib, {"oai_url": oai.url + "/oai",
                            "daily_papers_url": hf.url + "/api/daily_papers",
                            "schedule": "arxiv:cs@1h, daily-papers@1h", "oai_first_days": "0",
                            "min_interval": "0.05", "schedule_check": "0.2"})
        lib.close()
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*PAPERSIFT, "-L", str(tmp_path / "lib"), "serve", "--port",
                                   str(port), "--workers", "2", "--harvest"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        every = 20 + 60 + len(today_items)
        try:
            def ready() -> bool:
                try:
                    status = httpx.get(f"{url}/api/status", timeout=5).json()
                except httpx.HTTPError:
                    return False
                done = [h for h in status["harvests"] if h["last_success"]]
                return len(done) == 2 and status["papers"] == status["embedded"] == every
            _wait_for(ready, 240, "both sources harvested and embedded")
            time.sleep(3.0)  # 15 more checks in each worker
            assert _list_starts(repo) == 1 and len(repo.requests) == 3
            assert len(hf.log) == 3
            for _ in range(6):  # fresh connections: both workers answer
                found = httpx.get(f"{url}/api/search", params={
                    "q": records[59].title, "mode": "hybrid"}).json()
                assert found["mode_used"] == "hybrid"
                assert records[59].id in [r["paper"]["id"] for r in found["results"][:3]]
            jobs = {j["name"]: j for j in httpx.get(f"{url}/api/status").json()["jobs"]}
            assert jobs[JOB]["status"] == "done" and jobs[JOB]["done"] == every - 20
        finally:
            server.terminate()
            server.wait(timeout=30)
