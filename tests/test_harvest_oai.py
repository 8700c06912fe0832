"""Harvesting arXiv over OAI-PMH from a loopback repository of real arXiv records."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from papersift.harvest import (
    HarvestError,
    HarvestSettings,
    harvest_oai,
    harvest_states,
)
from papersift.library import Library
from papersift.query import Filters
from tests.protocol_servers import Answer, LoopbackServer, OaiRepository, Record, records_from_jsonl

TODAY = date(2025, 3, 25)
SINCE = date(2025, 3, 1)


@pytest.fixture(scope="module")
def records(arxiv_sample: Path) -> list[Record]:
    return records_from_jsonl(arxiv_sample, 300)


def settings(server: LoopbackServer, **changes: object) -> HarvestSettings:
    """Fast politeness for tests: the same rules, small numbers."""
    base = HarvestSettings(oai_url=server.url + "/oai", min_interval=0.02, backoff=0.02,
                           backoff_cap=0.1, retries=3, timeout=5.0)
    return base.replace(**changes)


def expected_ids(repo: OaiRepository, since: date = SINCE, set_spec: str = "cs") -> set[str]:
    """What the repository lists for the set (the server is the reference), deletions aside."""
    return {r.id for r in repo.records.values()
            if any(s == set_spec or s.startswith(set_spec + ":") for s in r.sets)
            and r.datestamp >= since and r.deleted_on is None}


def stored(lib: Library) -> dict[str, tuple[int | None, str, date | None]]:
    every = lib.store.papers(lib.store.matching(Filters()).tolist())
    return {p.id: (p.version, p.abstract, p.published) for p in every.values()}


def harvest(lib: Library, server: LoopbackServer, **kwargs: object) -> object:
    options: dict[str, object] = {"since": SINCE, "today": TODAY, "settings": settings(server)}
    options.update(kwargs)
    return harvest_oai(lib, set_spec="cs", **options)  # type: ignore[arg-type]


def test_a_set_is_harvested_page_by_page_with_exact_versions(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records, page_size=40)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        report = harvest(lib, server)
        want = expected_ids(repo)
        assert set(stored(lib)) == want and len(want) > 120
        assert report.pages == -(-len(want) // 40) and report.counts.added == len(want)
        several = next(r for r in repo.records.values() if len(r.versions) == 3
                       and r.id in want)
        paper = lib.get(several.id)
        assert paper is not None
        assert (paper.version, paper.published) == (3, several.versions[0].date())
        assert paper.authors == several.authors and paper.categories == several.categories
        first = repo.requests[0]
        assert first == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs",
                         "from": SINCE.isoformat()}
        assert all(set(r) == {"verb", "resumptionToken"} for r in repo.requests[1:])
        assert lib.search("gaussian splatting", mode="lexical")  # searchable at once


def test_the_next_run_starts_from_the_newest_datestamp(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records[:200], page_size=50)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        harvest(lib, server)
        newest = max(r.datestamp for r in repo.records.values() if r.id in stored(lib))
        late = replace(records[250], versions=(datetime(2025, 3, 24, 9, tzinfo=UTC),))
        repo.records[late.id] = late
        before = len(repo.requests)
        report = harvest_oai(lib, set_spec="cs", today=TODAY, settings=settings(server))
        assert repo.requests[before]["from"] == newest.isoformat()
        assert late.id in stored(lib) and report.counts.added == 1
        assert report.counts.unchanged == len(
            [r for r in repo.records.values() if r.datestamp >= newest]) - 1
        state = harvest_states(lib)[0]
        assert (state.papers, state.total) == (1, len(stored(lib)))
        assert state.position == f"next run from {late.datestamp.isoformat()}"


def test_retry_after_in_seconds_is_honoured(tmp_path: Path, records: list[Record]) -> None:
    repo = OaiRepository.of(records[:100], page_size=50)
    with LoopbackServer(repo, retry_after="1") as server, Library(tmp_path) as lib:
        server.fail_next("503")
        report = harvest(lib, server)
        assert [e.status for e in server.log] == [503, 200, 200]
        assert server.gaps()[0] >= 1.0
        assert report.requests == 3 and set(stored(lib)) == expected_ids(repo)


def test_retry_after_as_an_http_date_is_honoured(tmp_path: Path, records: list[Record]) -> None:
    repo = OaiRepository.of(records[:100], page_size=100)
    when = datetime.now(UTC) + timedelta(seconds=3)
    with LoopbackServer(repo, retry_after=format_datetime(when, usegmt=True)) as server, \
            Library(tmp_path) as lib:
        server.fail_next("503")
        harvest(lib, server)
        # the date has whole seconds: the retry comes no earlier than that second
        assert server.gaps()[0] >= 1.5 and [e.status for e in server.log] == [503, 200]


def test_a_retry_after_beyond_the_limit_stops_the_run(tmp_path: Path,
                                                      records: list[Record]) -> None:
    repo = OaiRepository.of(records[:50])
    with LoopbackServer(repo, retry_after="86400") as server, Library(tmp_path) as lib:
        server.fail_next("503")
        with pytest.raises(HarvestError, match="retry after 86400 s"):
            harvest(lib, server)
        assert len(server.log) == 1


@pytest.mark.parametrize("fault", ["malformed", "cut", "reset"])
def test_a_bad_response_is_asked_for_again(tmp_path: Path, records: list[Record],
                                           fault: str) -> None:
    repo = OaiRepository.of(records, page_size=60)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        server.at[2] = fault  # the second page
        harvest(lib, server)
        assert [e.fault for e in server.log][:3] == [None, fault, None]
        assert server.log[1].target == server.log[2].target  # the same page again
        assert set(stored(lib)) == expected_ids(repo)


def test_a_page_that_stays_malformed_stops_and_the_next_run_resumes_there(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records, page_size=60)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        server.at.update({n: "malformed" for n in range(3, 7)})  # page 3, all 4 tries
        with pytest.raises(HarvestError, match=r"malformed XML at line \d+.*after 4 tries"):
            harvest(lib, server)
        assert len(stored(lib)) == 120  # pages 1 and 2 were committed
        state = {s.source: s for s in harvest_states(lib)}["arxiv:cs"]
        assert state.last_error and "malformed XML" in state.last_error
        assert state.papers == 120 and state.last_success is None
        resumed_from = len(repo.requests)
        harvest_oai(lib, set_spec="cs", today=TODAY, settings=settings(server))
        assert "resumptionToken" in repo.requests[resumed_from]  # not the list again
        assert set(stored(lib)) == expected_ids(repo)
        assert {s.source: s for s in harvest_states(lib)}["arxiv:cs"].last_error is None


def test_an_expired_token_restarts_from_the_last_committed_datestamp(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records, page_size=50)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        server.at[4] = "expire"  # page 4's token was issued before the server forgot them
        harvest(lib, server)
        committed = sorted(r.datestamp for r in repo.records.values()
                           if r.id in expected_ids(repo))[149]
        restart = repo.requests[4]
        assert repo.requests[3].keys() == {"verb", "resumptionToken"}
        assert restart["from"] == committed.isoformat() and "resumptionToken" not in restart
        assert set(stored(lib)) == expected_ids(repo)


def test_an_expired_token_in_a_list_out_of_order_restarts_the_list(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records, page_size=50)
    repo.by_datestamp = False  # datestamps jump about: later pages may hold earlier ones
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        server.at[3] = "expire"
        harvest(lib, server)
        assert repo.errors == ["badResumptionToken"]
        assert repo.requests[3]["from"] == SINCE.isoformat()  # from the start of the list
        assert set(stored(lib)) == expected_ids(repo)


def test_an_empty_range_is_no_records_match(tmp_path: Path, records: list[Record]) -> None:
    repo = OaiRepository.of(records)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        report = harvest(lib, server, since=date(2030, 1, 1))
        assert repo.errors == ["noRecordsMatch"]
        assert (len(lib), report.pages, report.counts.added) == (0, 1, 0)
        state = harvest_states(lib)[0]
        assert state.last_error is None and state.last_success is not None


def test_a_bad_argument_is_a_clear_error(tmp_path: Path, records: list[Record]) -> None:
    repo = OaiRepository.of(records)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        with pytest.raises(HarvestError, match=r"badArgument: from is after until \(check "):
            harvest(lib, server, until=date(2025, 2, 1))
        assert len(server.log) == 1  # not retried: it will not change


def test_a_page_that_is_not_oai_pmh_is_refused(tmp_path: Path, records: list[Record]) -> None:
    def html(path: str, query: dict[str, list[str]]) -> Answer:
        return Answer(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html")

    with LoopbackServer(html) as server, Library(tmp_path) as lib, \
            pytest.raises(HarvestError, match="the answer is <html>, not an OAI-PMH response"):
        harvest(lib, server)


def test_stopping_between_pages_then_rerunning_gives_the_same_records(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records, page_size=30)
    with LoopbackServer(repo) as server:
        with Library(tmp_path / "whole") as lib:
            harvest(lib, server)
            whole = stored(lib)
        with Library(tmp_path / "stopped") as lib:
            stop = threading.Event()

            def progress(task: str, done: int, total: int | None) -> None:
                if done >= 90:
                    stop.set()

            first = harvest(lib, server, progress=progress, stop=stop)
            assert first.stopped and len(lib) == 90  # type: ignore[attr-defined]
            harvest_oai(lib, set_spec="cs", today=TODAY, settings=settings(server))
            assert stored(lib) == whole


def test_one_log_line_per_request(tmp_path: Path, records: list[Record],
                                  caplog: pytest.LogCaptureFixture) -> None:
    repo = OaiRepository.of(records[:120], page_size=50)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        server.fail_next("503")
        with caplog.at_level(logging.INFO, logger="papersift.harvest"):
            harvest(lib, server)
    lines = [r.getMessage() for r in caplog.records if r.name == "papersift.harvest"]
    assert len(lines) == len(server.log)
    assert lines[0] == (f"503, 0 records, waited 0.00 s (HTTP 503; try 1): GET {server.url}"
                        f"/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=cs&from={SINCE}")
    assert lines[1].startswith("200, 50 records, waited 1.")
    assert lines[2].startswith("200, 50 records, waited 0.") and "resumptionToken=" in lines[2]


def test_the_gap_between_requests_is_kept_across_runs(tmp_path: Path,
                                                      records: list[Record]) -> None:
    repo = OaiRepository.of(records, page_size=60)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        gap = settings(server, min_interval=0.3)
        harvest(lib, server, settings=gap)
        harvest(lib, server, settings=gap)  # starts at once: must still wait its turn
        assert len(server.log) == 2 * -(-len(expected_ids(repo)) // 60)
        assert min(server.gaps()) >= 0.3


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Library(tmp_path) as lib:
        s = HarvestSettings(oai_url=f"http://127.0.0.1:{port}/oai", min_interval=0,
                            backoff=0.01, retries=1)
        with pytest.raises(HarvestError) as caught:
            harvest_oai(lib, settings=s, today=TODAY)
        message = str(caught.value)
        assert message.startswith(f"http://127.0.0.1:{port}/oai: cannot connect")
        assert "after 2 tries" in message and "\n" not in message
        assert harvest_states(lib)[0].last_error == message


def test_a_deleted_record_leaves_search_and_listings_but_keeps_its_votes(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records[:80], page_size=100)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        harvest(lib, server)
        gone = next(r for r in repo.records.values() if r.id in expected_ids(repo))
        for voter in ("alice", "bob"):
            assert lib.upvote(gone.id, voter).voted
        day = lib.get(gone.id).published  # type: ignore[union-attr]
        assert gone.id in [p.id for p in lib.daily(day, limit=100).papers]
        repo.records[gone.id] = replace(gone, deleted_on=date(2025, 3, 24))
        report = harvest(lib, server)
        assert report.deleted == 1 and lib.get(gone.id) is None  # type: ignore[attr-defined]
        assert gone.id not in [r.paper.id for r in lib.search(gone.title, mode="lexical")]
        assert gone.id not in [p.id for p in lib.daily(day, limit=100).papers]
        assert lib.store.kept_votes(gone.id) == 2
        back = replace(gone, deleted_on=None).revised(datetime(2025, 3, 25, tzinfo=UTC))
        repo.records[gone.id] = back
        harvest(lib, server)
        returned = lib.get(gone.id)
        assert returned is not None and returned.votes_here == 2
        assert lib.store.kept_votes(gone.id) == 0
        assert lib.store.voted([gone.id], "alice") == {gone.id}
        assert lib.check() == []  # the lexical index holds exactly the catalog's papers


def test_a_revised_record_is_found_by_its_new_text_only_and_once(
    tmp_path: Path, records: list[Record]
) -> None:
    repo = OaiRepository.of(records[:80], page_size=100)
    with LoopbackServer(repo) as server, Library(tmp_path) as lib:
        harvest(lib, server)
        old = next(r for r in repo.records.values() if r.id in expected_ids(repo))
        repo.records[old.id] = old.revised(datetime(2025, 3, 26, tzinfo=UTC),
                                           "Zeppelin logistics with tensor sketches.")
        harvest(lib, server)
        found = [r.paper.id for r in lib.search("zeppelin logistics", mode="lexical")]
        assert found == [old.id]
        title_hits = [r.paper.id for r in lib.search(old.title, mode="lexical", limit=50)]
        assert title_hits.count(old.id) == 1  # one document per paper, not one per version
        first_words = " ".join(old.abstract.split()[:12])
        stale = [r.paper.id for r in lib.search(f'"{first_words}"', mode="lexical")]
        assert old.id not in stale and lib.check() == []
