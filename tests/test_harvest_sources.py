"""The arXiv API and Daily Papers harvests against loopback servers, a changed record's
vector, the politeness rules, and the harvest commands."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.encoders import load_encoder
from papersift.harvest import (
    HarvestError,
    HarvestSettings,
    harvest_arxiv_api,
    harvest_daily_papers,
    harvest_oai,
    harvest_states,
)
from papersift.harvest.daily import days_to_fetch
from papersift.harvest.politeness import HostGate, backoff_delay, retry_after_seconds
from papersift.library import Library
from papersift.papers import document_text
from papersift.query import Filters
from tests.protocol_servers import (
    ArxivApi,
    DailyItem,
    DailyPapersApi,
    LoopbackServer,
    OaiRepository,
    Record,
    daily_items,
    records_from_jsonl,
)

FAST = HarvestSettings(min_interval=0.02, backoff=0.02, backoff_cap=0.1, retries=3, timeout=5)


@pytest.fixture(scope="module")
def records(arxiv_sample: Path) -> list[Record]:
    return records_from_jsonl(arxiv_sample, 300)


@pytest.fixture(scope="module")
def items(daily_papers_json: Path) -> list[DailyItem]:
    return daily_items(daily_papers_json)


# -- the arXiv API ---------------------------------------------------------------------------


def test_api_pages_through_every_result(tmp_path: Path, records: list[Record]) -> None:
    api = ArxivApi.of(records)
    query = "cat:cs.CV AND abs:diffusion"
    with LoopbackServer(api) as server, Library(tmp_path) as lib:
        found = api._search(query, "")
        assert found is not None and len(found) > 15
        s = FAST.replace(arxiv_api_url=server.url + "/api/query", api_page_size=7)
        report = harvest_arxiv_api(lib, query, settings=s)
        every = lib.store.papers(lib.store.matching(Filters()).tolist())
        assert {p.id for p in every.values()} == {r.id for r in found}
        assert report.requests == -(-len(found) // 7) and report.counts.added == len(found)
        starts = [int(e.target.split("start=")[1].split("&")[0]) for e in server.log]
        assert starts == list(range(0, len(found), 7))


def test_api_stops_at_max_and_asks_again_for_an_empty_page(tmp_path: Path,
                                                           records: list[Record]) -> None:
    api = ArxivApi.of(records)
    api.empty_pages = 1
    with LoopbackServer(api) as server, Library(tmp_path) as lib:
        s = FAST.replace(arxiv_api_url=server.url + "/api/query", api_page_size=10)
        report = harvest_arxiv_api(lib, "cat:cs.CV", max_results=25, settings=s)
        assert len(lib) == 25 and report.requests == 4  # one page asked for twice
        assert "max_results=5" in server.log[-1].target
        newest = max(r.versions[0] for r in records if "cs.CV" in r.categories)
        assert lib.get(next(r.id for r in records if r.versions[0] == newest)) is not None


def test_api_error_feed_is_the_error(tmp_path: Path, records: list[Record]) -> None:
    with LoopbackServer(ArxivApi.of(records)) as server, Library(tmp_path) as lib:
        s = FAST.replace(arxiv_api_url=server.url + "/api/query")
        with pytest.raises(HarvestError, match="the arXiv API refused the query: malformed"):
            harvest_arxiv_api(lib, "cat:cs.CV AND", settings=s)
        assert [e.status for e in server.log] == [400]  # not retried


# -- Daily Papers ------------------------------------------------------------------------------


def test_daily_papers_brings_a_day_and_refreshes_counts(tmp_path: Path,
                                                        items: list[DailyItem]) -> None:
    api = DailyPapersApi.of(items)
    day = date(2024, 2, 8)
    listed = [i for i in items if i.day == day]
    with LoopbackServer(api) as server, Library(tmp_path) as lib:
        s = FAST.replace(daily_papers_url=server.url + "/api/daily_papers", daily_page_size=5)
        report = harvest_daily_papers(lib, day=day, settings=s)
        assert report.counts.added == len(listed) == 17 and report.requests == 4
        first = listed[0]
        paper = lib.get(first.id)
        assert paper is not None
        assert (paper.upvotes, paper.submitter, paper.organization) == (
            first.upvotes, first.submitter, first.organization)
        changed = replace(first, upvotes=first.upvotes + 40, organization="NVIDIA",
                          submitter="Someone Else", github="https://github.com/new/code")
        api.items[first.id] = changed
        again = harvest_daily_papers(lib, day=day, settings=s)
        assert (again.counts.updated, again.counts.unchanged) == (1, 16)
        paper = lib.get(first.id)
        assert paper is not None
        assert (paper.upvotes, paper.organization, paper.submitter, paper.links.code) == (
            first.upvotes + 40, "NVIDIA", "Someone Else", ("https://github.com/new/code",))


def test_daily_papers_refreshes_recent_days_and_fills_missed_ones(
    tmp_path: Path, items: list[DailyItem]
) -> None:
    api = DailyPapersApi.of(items)
    with LoopbackServer(api) as server, Library(tmp_path) as lib:
        s = FAST.replace(daily_papers_url=server.url + "/api/daily_papers")
        harvest_daily_papers(lib, settings=s, today=date(2024, 2, 8))
        assert [e.target.split("date=")[1][:10] for e in server.log] == [
            "2024-02-06", "2024-02-07", "2024-02-08"]
        report = harvest_daily_papers(lib, settings=s, today=date(2024, 2, 14))
        days = [e.target.split("date=")[1][:10] for e in server.log[3:]]
        assert days == [(date(2024, 2, 8) + timedelta(d)).isoformat() for d in range(7)]
        expected = {i.id for i in items if date(2024, 2, 6) <= i.day <= date(2024, 2, 14)}
        assert len(lib) == len(expected) and report.counts.added == len(expected) - len(
            [i for i in items if date(2024, 2, 6) <= i.day <= date(2024, 2, 7)]) - len(
            [i for i in items if i.day == date(2024, 2, 8)])


def test_daily_days_to_fetch() -> None:
    s = HarvestSettings(daily_refresh_days=3, daily_catch_up_days=10)
    today = date(2026, 7, 1)
    assert days_to_fetch(today, None, s) == [date(2026, 6, 29), date(2026, 6, 30), today]
    assert days_to_fetch(today, date(2026, 6, 30), s)[0] == date(2026, 6, 29)
    assert days_to_fetch(today, date(2026, 6, 1), s)[0] == date(2026, 6, 21)  # at most 10
    assert days_to_fetch(today, date(2026, 6, 1), s, days=1) == [today]


@pytest.mark.parametrize("fault", ["503", "malformed", "cut"])
def test_daily_papers_rides_out_faults(tmp_path: Path, items: list[DailyItem],
                                       fault: str) -> None:
    with LoopbackServer(DailyPapersApi.of(items), retry_after="0") as server, \
            Library(tmp_path) as lib:
        server.fail_next(fault)
        s = FAST.replace(daily_papers_url=server.url + "/api/daily_papers")
        harvest_daily_papers(lib, day=date(2024, 2, 22), settings=s)
        assert len(lib) == 17 and [e.fault for e in server.log] == [fault, None]


def test_daily_papers_api_error_is_the_error(tmp_path: Path, items: list[DailyItem]) -> None:
    api = DailyPapersApi(DailyPapersApi.of(items).items, max_limit=50)
    with LoopbackServer(api) as server, Library(tmp_path) as lib:
        s = FAST.replace(daily_papers_url=server.url + "/api/daily_papers")
        with pytest.raises(HarvestError, match="the Daily Papers API answered: limit must be"):
            harvest_daily_papers(lib, day=date(2024, 2, 22), settings=s)
        assert [e.status for e in server.log] == [400]  # not retried
        state = harvest_states(lib)[0]
        assert state.source == "daily-papers" and "limit must be" in (state.last_error or "")


# -- a changed record is embedded again --------------------------------------------------------


def test_a_new_version_updates_the_paper_in_place_and_its_vector(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records[:60])
    s = FAST.replace(oai_url="")
    with LoopbackServer(repo) as server, Library(tmp_path, encoder=load_encoder()) as lib:
        s = s.replace(oai_url=server.url + "/oai")
        harvest_oai(lib, since=date(2025, 3, 1), settings=s, today=date(2025, 3, 25))
        lib.embed()
        target = next(r for r in repo.records.values() if lib.get(r.id) is not None)
        rowid, old = lib.store.key_of(target.id), lib.get(target.id)
        assert old is not None and rowid is not None
        before = lib.dense.vectors(np.asarray([rowid]))[1][0]
        new_abstract = "We replace the method with a quantum annealing scheduler for trains."
        repo.records[target.id] = target.revised(datetime(2025, 3, 26, tzinfo=UTC),
                                                 new_abstract)
        report = harvest_oai(lib, settings=s, today=date(2025, 3, 27))
        assert report.counts.updated == 1
        paper = lib.get(target.id)
        assert paper is not None and lib.store.key_of(target.id) == rowid
        assert (paper.version, paper.abstract) == (len(target.versions) + 1, new_abstract)
        assert lib.store.count_unembedded(lib.encoder.name) == 1 and not lib.semantic_ready()
        assert lib.embed() == 1
        after = lib.dense.vectors(np.asarray([rowid]))[1][0]
        expected = lib.encoder.encode([document_text(paper.title, new_abstract)])[0]
        assert float(np.dot(after, expected)) > 0.99 > float(np.dot(after, before))
        hits = lib.search("quantum annealing scheduler for trains", mode="semantic", limit=1)
        assert hits[0].paper.id == target.id


# -- politeness rules --------------------------------------------------------------------------


class Clock:
    """Time that passes only when slept through."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_gate_keeps_a_gap_per_host() -> None:
    clock = Clock()
    gate = HostGate(3.0, clock=clock, sleep=clock.sleep)
    assert gate.wait("export.arxiv.org") == 0.0
    assert gate.wait("huggingface.co") == 0.0  # another host: no wait
    clock.now += 1.0
    assert gate.wait("export.arxiv.org") == pytest.approx(2.0)
    gate.hold("export.arxiv.org", clock.now + 10.0)  # a back-off longer than the gap
    assert gate.wait("export.arxiv.org") == pytest.approx(10.0)
    gate.hold("export.arxiv.org", clock.now + 1.0)  # a shorter hold never shortens the gap
    assert gate.wait("export.arxiv.org") == pytest.approx(3.0)


def test_the_gate_remembers_an_earlier_run_and_survives_a_clock_set_back() -> None:
    clock = Clock()
    seen: list[tuple[str, float]] = []
    gate = HostGate(3.0, due={"h": clock.now + 2.5}, remember=lambda h, t: seen.append((h, t)),
                    clock=clock, sleep=clock.sleep)
    assert gate.wait("h") == pytest.approx(2.5) and seen == [("h", clock.now + 3.0)]
    late = HostGate(3.0, due={"h": clock.now + 86400}, longest=60, clock=clock,
                    sleep=clock.sleep)
    assert late.wait("h") == 60.0  # never more than the longest hold


def test_retry_after_forms() -> None:
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 01 Jul 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 01 Jul 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    for attempt, full in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (12, 60.0)]:
        delays = [backoff_delay(attempt, 2.0, 60.0, rng) for _ in range(200)]
        assert full / 2 <= min(delays) and max(delays) <= full
        assert max(delays) - min(delays) > full / 4  # jittered, not constant


# -- the commands ------------------------------------------------------------------------------


def test_harvest_commands_report_and_fail_in_one_line(tmp_path: Path, records: list[Record],
                                                      items: list[DailyItem]) -> None:
    repo = OaiRepository.of(records[:100])
    runner = CliRunner()
    library = str(tmp_path / "lib")
    with LoopbackServer(repo) as oai, LoopbackServer(DailyPapersApi.of(items)) as daily:
        result = runner.invoke(main, ["-L", library, "harvest", "arxiv", "--url",
                                      oai.url + "/oai", "--from", "2025-03-01",
                                      "--min-interval", "0", "--no-embed"])
        assert result.exit_code == 0, result.output
        added = len(Library(library))
        assert f"arxiv:cs: done after 1 pages (1 requests): {added} added" in result.output
        assert f"200, {added} records, waited " in result.output  # the request log
        assert f": GET {oai.url}/oai?verb=ListRecords" in result.output
        result = runner.invoke(main, ["-L", library, "harvest", "daily-papers", "--url",
                                      daily.url + "/api/daily_papers", "--date", "2024-02-08",
                                      "--min-interval", "0", "--no-embed", "--quiet"])
        assert result.exit_code == 0 and "17 added" in result.output
        assert "GET " not in result.output
    bad = runner.invoke(main, ["-L", library, "harvest", "daily-papers", "--date", "2024-02-08",
                               "--days", "2"])
    assert bad.exit_code == 1
    assert "give --date or --days, not both" in bad.output
    states = {s.source: s for s in harvest_states(Library(library))}
    assert set(states) == {"arxiv:cs", "daily-papers"} and states["daily-papers"].papers == 17


def test_harvest_of_a_dead_server_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["-L", str(tmp_path / "lib"), "harvest", "arxiv-api",
                                       "--query", "cat:cs.IR", "--url", "http://127.0.0.1:9/q",
                                       "--min-interval", "0", "--setting", "backoff=0.01",
                                       "--setting", "retries=2", "--quiet"])
    assert result.exit_code == 1
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("error: http://127.0.0.1:9/q: cannot connect")
    assert "after 3 tries" in error and "Traceback" not in result.output
    typo = CliRunner().invoke(main, ["-L", str(tmp_path / "lib"), "harvest", "arxiv",
                                     "--setting", "retrys=2"])
    assert typo.exit_code == 1 and "unknown harvest setting(s): retrys" in typo.output
    wrong = CliRunner().invoke(main, ["-L", str(tmp_path / "lib"), "harvest", "arxiv",
                                      "--setting", "retries=many"])
    assert wrong.exit_code == 1
    assert "--setting retries=many: expected a whole number" in wrong.output
