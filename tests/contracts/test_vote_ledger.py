"""The vote ledger contract: every backend keeps each anonymous vote's network tag and
time for the audit, and withdraws a network's or a voter's votes exactly."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from papersift.backends import Backend
from tests.contracts.conftest import sample_papers


def _cast(backend: Backend) -> list[str]:
    """Votes on four papers: 'bad' tags six voters, 'good' and 'other' one each, and one
    vote from before networks were recorded."""
    store = backend.store
    papers = sample_papers(6)
    store.upsert(papers)
    ids = [p.id for p in papers]
    for i in range(6):
        assert store.add_vote(ids[i % 2], f"bot{i}", "bad")
    assert store.add_vote(ids[0], "alice", "good")
    assert store.add_vote(ids[2], "bob", "other")
    assert store.add_vote(ids[3], "carol")
    return ids


def test_the_ledger_holds_network_time_and_day_of_anonymous_votes(backend: Backend) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    ids = _cast(backend)
    ledger = backend.store.vote_ledger()
    assert len(ledger) == 9
    assert {(v.paper_id, v.voter, v.network) for v in ledger} >= {
        (ids[0], "bot0", "bad"), (ids[0], "alice", "good"), (ids[3], "carol", None)}
    assert all(before <= v.cast <= datetime.now(UTC) + timedelta(seconds=2) for v in ledger)
    assert all(v.cast.tzinfo is not None for v in ledger)
    published = {p.id: p.published for p in sample_papers(6)}
    assert all(v.day == published[v.paper_id] for v in ledger)
    assert [v.cast for v in ledger] == sorted(v.cast for v in ledger)
    assert backend.store.vote_ledger(datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(backend.store.vote_ledger(before)) == 9


def test_removing_a_networks_votes_keeps_every_count_exact(backend: Backend) -> None:
    store = backend.store
    ids = _cast(backend)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.remove_votes(networks=["bad"], since=later) == 0  # none cast since then
    assert store.remove_votes(networks=["bad"], voters=["bob"]) == 7
    counts = {i: store.get(i).votes_here for i in ids[:4]}  # type: ignore[union-attr]
    assert counts == {ids[0]: 1, ids[1]: 0, ids[2]: 0, ids[3]: 1}
    assert store.vote_count() == 2 and store.stats().votes == 2  # type: ignore[attr-defined]
    assert {(v.voter, v.network) for v in store.vote_ledger()} == {("alice", "good"),
                                                                  ("carol", None)}
    assert store.remove_votes(networks=["nowhere"]) == 0
    assert store.remove_votes() == 0  # naming nobody removes nothing


def test_removal_races_with_voting_and_loses_nothing(
        backend_factory: Callable[..., Backend]) -> None:
    """One process removes a network's votes while another keeps voting from other
    networks: the counts end equal to the rows left."""
    first, second = backend_factory(), backend_factory()
    papers = sample_papers(3)
    first.store.upsert(papers)
    target = papers[0].id
    for i in range(60):
        first.store.add_vote(target, f"bot{i}", "bad")

    def vote() -> None:
        for i in range(60):
            second.store.add_vote(target, f"person{i}", f"net{i}")

    voting = threading.Thread(target=vote)
    voting.start()
    removed = first.store.remove_votes(networks=["bad"])
    voting.join()
    assert removed == 60
    assert first.store.get(target).votes_here == 60  # type: ignore[union-attr]
    assert len(first.store.vote_ledger()) == 60


def test_kept_votes_keep_their_network(backend: Backend) -> None:
    store = backend.store
    ids = _cast(backend)
    store.remove([ids[0]], keep_votes=True)
    assert store.kept_votes(ids[0]) == 4
    store.upsert([p for p in sample_papers(6) if p.id == ids[0]])
    back = {(v.voter, v.network) for v in store.vote_ledger() if v.paper_id == ids[0]}
    assert back == {("bot0", "bad"), ("bot2", "bad"), ("bot4", "bad"), ("alice", "good")}


def test_votes_copied_in_keep_their_time_and_network_once(backend: Backend) -> None:
    """What `papersift migrate` writes: anonymous votes with the source's time and tag,
    counted once however often the import runs; kept votes likewise."""
    from papersift.copy_records import VoteRecord

    store = backend.store
    papers = sample_papers(3)
    store.upsert(papers)
    ids = [p.id for p in papers]
    cast = datetime(2025, 3, 18, 9, 30, 5, tzinfo=UTC)
    votes = [VoteRecord(ids[0], "ann", cast, "tag1"), VoteRecord(ids[0], "bob", cast, None),
             VoteRecord(ids[1], "ann", cast + timedelta(minutes=1), "tag2"),
             VoteRecord("2501.99999", "ann", cast)]  # a paper this store lacks: skipped
    assert store.import_votes(votes) == 3
    assert store.import_votes(votes) == 0  # again: nothing new, nothing counted twice
    assert store.vote_records(ids) == votes[:3]
    assert sorted((v.cast, v.voter, v.network or "") for v in store.vote_ledger()) == [
        (cast, "ann", "tag1"), (cast, "bob", ""), (cast + timedelta(minutes=1), "ann", "tag2")]
    assert store.get(ids[0]).votes_here == 2  # type: ignore[union-attr]
    store.add_vote(ids[2], "cid", "tag3")
    assert store.import_votes([VoteRecord(ids[2], "cid", cast, "tag4")]) == 0
    assert store.vote_records([ids[2]]) == [VoteRecord(ids[2], "cid", cast, "tag4")]
    assert store.get(ids[2]).votes_here == 1  # type: ignore[union-attr]
    kept = [VoteRecord("2501.99998", "dan", cast, "tag5")]
    assert store.import_kept_votes(kept) == 1 and store.import_kept_votes(kept) == 0
    assert store.kept_vote_records() == kept
    store.upsert([replace(papers[0], id="2501.99998")])  # the paper returns
    assert store.vote_records(["2501.99998"]) == kept and store.kept_vote_records() == []
