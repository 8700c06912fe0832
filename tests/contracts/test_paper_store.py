"""The paper-store contract: every backend's store behaves the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from papersift.backends import Backend, LockBusy
from papersift.jobs import JobState
from papersift.papers import Paper
from papersift.query import Filters
from tests.contracts.conftest import sample_papers


def test_upsert_is_idempotent_and_merges_what_a_source_leaves_empty(backend: Backend) -> None:
    store = backend.store
    papers = sample_papers(30)
    assert store.upsert(papers).added == 30
    seq = store.seq
    assert store.upsert(papers).unchanged == 30 and store.seq == seq  # nothing changed
    daily = Paper(id=papers[0].id, title=papers[0].title, abstract="", upvotes=42,
                  organization="Lab")
    assert store.upsert([daily]).updated == 1 and store.seq == seq + 1
    merged = store.get(papers[0].id)
    assert merged is not None
    assert merged.upvotes == 42 and merged.organization == "Lab"
    assert merged.categories == papers[0].categories and merged.abstract == papers[0].abstract
    assert len(store) == 30


def test_keys_papers_and_the_change_log(backend: Backend) -> None:
    store = backend.store
    papers = sample_papers(20)
    store.upsert(papers[:10])
    first = store.seq
    store.upsert(papers[10:])
    keys = store.keys_of([p.id for p in papers] + ["nope"])
    assert len(keys) == 20 and "nope" not in keys
    assert store.key_of(papers[3].id) == keys[papers[3].id]
    fetched = store.papers(list(keys.values()))
    assert {p.id for p in fetched.values()} == {p.id for p in papers}
    assert store.dates_of(list(keys.values())) == {keys[p.id]: p.published for p in papers}
    assert store.ids_of([keys[papers[2].id], 10**9]) == {keys[papers[2].id]: papers[2].id}
    later = [c for batch in store.changes_since(first) for c in batch]
    assert {c.paper.id for c in later if c.paper} == {p.id for p in papers[10:]}
    assert store.count_since(first) == 10
    cursor = store.written_after(0, 0, limit=7)
    assert len(cursor) == 7 and store.count_after(cursor[-1].seq, cursor[-1].key) == 13
    assert store.remove([papers[0].id, "nope"]) == 1
    assert store.removed_since(first) == [keys[papers[0].id]]
    assert store.get(papers[0].id) is None and len(store) == 19


def test_state_is_written_in_the_same_transaction_as_the_papers(backend: Backend) -> None:
    store = backend.store
    store.upsert(sample_papers(5), state={"harvest:test": "token-1"})
    assert store.get_meta("harvest:test") == "token-1" and len(store) == 5

    bad = replace(sample_papers(9)[8], id="broken", title=None)  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - the store's own error type
        store.upsert([*sample_papers(8)[5:], bad], state={"harvest:test": "token-2"})
    assert store.get_meta("harvest:test") == "token-1" and len(store) == 5  # all or nothing
    assert store.set_meta_once("secret", "a") == "a" and store.set_meta_once("secret", "b") == "a"


def test_a_removed_paper_keeps_its_votes_until_it_returns(backend: Backend) -> None:
    store = backend.store
    papers = sample_papers(3)
    store.upsert(papers)
    assert store.add_vote(papers[0].id, "ann") and store.add_vote(papers[0].id, "bob")
    assert store.remove([papers[0].id, papers[1].id], keep_votes=True) == 2
    assert store.get(papers[0].id) is None and store.kept_votes(papers[0].id) == 2
    store.upsert([replace(papers[0], version=2)])
    back = store.get(papers[0].id)
    assert back is not None and back.votes_here == 2 and store.kept_votes(papers[0].id) == 0
    assert store.voted([papers[0].id], "bob") == {papers[0].id}
    store.add_vote(papers[2].id, "ann")
    store.remove([papers[2].id])  # a plain removal: the votes go with the paper
    store.upsert([papers[2]])
    again = store.get(papers[2].id)
    assert again is not None and again.votes_here == 0


def test_meta_entries_by_prefix(backend: Backend) -> None:
    store = backend.store
    store.upsert([], state={"harvest.state:a": "1", "harvest.state:b": "2", "harvest.x": "3"})
    assert store.meta_items("harvest.state:") == {"harvest.state:a": "1", "harvest.state:b": "2"}
    assert store.meta_items("nothing") == {}


FILTERS = [
    Filters(since=date(2025, 1, 10)),
    Filters(until=date(2025, 1, 5)),
    Filters(since=date(2025, 1, 3), until=date(2025, 1, 12)),
    Filters(categories=("cs.IR",)),
    Filters(categories=("cs.IR", "q-bio.NC")),
    Filters(authors=("Li",)),
    Filters(authors=("wei li",)),
    Filters(authors=("Li Wei",)),
    Filters(authors=("lin",)),
    Filters(authors=("jose muller",)),
    Filters(authors=("Müller-Lüdenscheidt",)),
    Filters(authors=("obrien",)),
    Filters(authors=("O'Brien",)),
    Filters(authors=("李伟",)),
    Filters(authors=("Li", "Anna")),
    Filters(authors=("!!",)),
    Filters(ids=("2501.00003", "2501.00050", "9999.99999")),
    Filters(since=date(2025, 1, 2), categories=("cs.CL",), authors=("wang",)),
]


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_matching_is_what_filters_accept(backend: Backend, filters: Filters) -> None:
    store = backend.store
    papers = sample_papers()
    store.upsert(papers)
    keys = store.keys_of([p.id for p in papers])
    expected = sorted(keys[p.id] for p in papers if filters.accepts(p))
    assert store.matching(filters).tolist() == expected


def test_listings_rank_by_all_votes(backend: Backend) -> None:
    store = backend.store
    papers = sample_papers(60)
    store.upsert(papers)
    day = date(2025, 1, 4)
    on_day = [p for p in papers if p.published == day]
    assert store.count_between(day, day) == len(on_day)
    quiet = min(on_day, key=lambda p: p.upvotes)
    for voter in range(30):  # votes cast here lift a paper above its source's count
        assert store.add_vote(quiet.id, f"v{voter}")
    ranked = store.ranked_between(day, day, limit=50)
    assert ranked[0].id == quiet.id and ranked[0].total_upvotes == quiet.upvotes + 30
    totals = [p.total_upvotes for p in ranked]
    assert totals == sorted(totals, reverse=True)
    assert store.latest_day() == max(p.published for p in papers if p.published)
    before, after = store.adjacent_days(day)
    assert before == date(2025, 1, 3) and after == date(2025, 1, 5)
    voted = {key: total for key, _, total in store.voted_between(day, day)}
    assert voted[store.key_of(quiet.id)] == quiet.upvotes + 30  # type: ignore[index]
    listed, total = store.in_category("cs.IR", limit=5)
    assert total == sum("cs.IR" in p.categories for p in papers) and len(listed) == 5
    by, count = store.by_author("JOSE MULLER", limit=100)
    assert count == sum("Jose Muller" in p.authors for p in papers)
    assert all("Jose Muller" in p.authors for p in by)
    stats = store.stats()
    assert stats.papers == 60 and stats.votes == 30 and stats.last_date == store.latest_day()


def test_votes_are_exact_under_concurrent_voters(backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()  # two processes' views
    first.store.upsert(sample_papers(3))
    paper = sample_papers(3)[1].id

    def vote(store_backend: Backend, voters: range) -> None:
        for v in voters:
            store_backend.store.add_vote(paper, f"voter-{v}")
            store_backend.store.add_vote(paper, f"voter-{v}")  # twice: counted once

    threads = [threading.Thread(target=vote, args=(b, range(i * 40, i * 40 + 40)))
               for i, b in enumerate([first, second, first, second])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first.store.get(paper).votes_here == 160  # type: ignore[union-attr]
    assert first.store.voted([paper, "x"], "voter-7") == {paper}
    assert second.store.remove_vote(paper, "voter-7") and not first.store.remove_vote(paper,
                                                                                      "voter-7")
    assert second.store.get(paper).votes_here == 159  # type: ignore[union-attr]
    assert not first.store.add_vote("unknown-paper", "voter-1")


def test_rate_limit_buckets_are_shared(backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()
    waits = [b.store.take_token("net:x", 3, 1.0) for b in (first, second, first, second)]
    assert waits[:3] == [0.0, 0.0, 0.0] and 50 < waits[3] <= 60
    assert first.store.take_token("net:y", 3, 1.0) == 0.0  # another key, its own bucket


def test_job_states_are_visible_to_every_process(backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()
    state = JobState("embed", "running", done=5, total=10, unit="papers", rate=2.0)
    first.store.save_job(state)
    assert second.store.jobs() == [state]
    first.store.save_job(replace(state, status="done", done=10))
    assert [j.status for j in second.store.jobs()] == ["done"]


def test_locks_exclude_others_and_say_who_holds_them(
        backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()
    held = first.store.lock("ingest")
    held.acquire()
    other = second.store.lock("ingest")
    with pytest.raises(LockBusy) as busy:
        other.acquire(wait=False)
    assert busy.value.holder and "pid" in busy.value.holder
    assert other.holder() == busy.value.holder and not other.held
    with pytest.raises(LockBusy):
        other.acquire(timeout=0.2)
    held.release()
    other.acquire(wait=False)
    assert other.held and first.store.lock("ingest").holder() is not None
    other.release()
    assert first.store.lock("ingest").holder() is None


def test_a_lock_dies_with_its_process(backend: Backend) -> None:
    import signal
    import subprocess
    import sys

    script = ("import sys, time; from papersift.backends import open as o; "
              "lock = o(sys.argv[1]).store.lock('ingest'); lock.acquire(); "
              "print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", script, backend.location],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = backend.store.lock("ingest")
        with pytest.raises(LockBusy):
            lock.acquire(wait=False)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        lock.acquire(timeout=5)  # the kernel released it with the process
        lock.release()
    finally:
        child.kill()
        child.wait()
