"""`papersift migrate` carries everything a library holds, both ways: the vote ledger's
details, votes, ratings and saves kept for papers a source deleted, aliases, people with
their community preferences, digest subscriptions (and the links mailed for them), the
digest outbox, submissions and comments; and a copy stopped halfway resumes without
doubling anything.

The source library is made through the library's own functions on the embedded backend,
copied into a real PostgreSQL and from there into a new directory; every kind of row is
read out of all three and compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.copy_records import COMMUNITY_KINDS
from papersift.identity import title_key
from papersift.library import Library
from papersift.migration import copy_library
from papersift.papers import Paper
from papersift.people import PersonRecord
from tests.contracts.conftest import sample_papers
from tests.postgres_fixtures import drop_database, new_database

ALIAS = "sha256:" + "ab" * 32
LATER = "2501.99999"
GONE = 5  # the paper the source deletes (its marks are kept)


@dataclass
class Source:
    """The source library's place and what the checks need from it."""

    path: Path
    papers: list[Paper]
    gone: Paper
    unsubscribe: tuple[int, str]  # a subscription's id and the token mailed for it


def _build(path: Path) -> Source:
    """A library with one of everything, through the library's public functions."""
    papers = sample_papers(12)
    with Library(path) as lib:
        lib.add(papers[:11], state={"harvest.state:feed": "cursor-41"})
        ids = [p.id for p in papers]
        # the same paper under a content hash first, then its arXiv record: an alias
        lib.add([replace(papers[11], id=ALIAS)])
        lib.add([papers[11]])
        assert lib.get(ALIAS) == lib.get(ids[11])
        for n in range(6):  # a burst from one network: what the audit reports
            lib.upvote(ids[0], f"cookie-{n}", network="203.0.113.7")
        lib.upvote(ids[1], "cookie-0", network="198.51.100.1")
        lib.upvote(ids[GONE], "cookie-9", network="198.51.100.1")
        ada = lib.add_user("ada@example.org", admin=True)
        bob = lib.add_user("bob@example.org")
        lib.create_api_token(ada, "script")
        lib.member_upvote(ids[0], bob)
        lib.member_upvote(ids[GONE], bob)
        lib.rate(ada, ids[2], 1)
        lib.rate(ada, ids[GONE], -1)
        reading = lib.create_collection(ada, "Reading")
        lib.save(ada, ids[3], collection_id=reading.id, note="first")
        lib.save(ada, ids[GONE], collection_id=reading.id, note="kept note")
        lib.set_community_prefs(bob, name="Bob B.", notify_replies=True)
        first = lib.comment(bob, ids[0], "Nice **result**.")
        lib.comment(ada, ids[0], "Agreed.", parent=first.id)
        lib.comment(bob, ids[GONE], "on a paper that goes away")
        day = papers[0].published or date(2025, 1, 1)
        submitted = lib.submit_paper(bob, day, paper_id=ids[4])
        lib.moderate_submission(ada, submitted.id, "featured")
        asked = lib.subscribe(bob.email, link_for=lambda secret: secret)
        confirmed = lib.confirm_subscription(asked.link)
        assert confirmed is not None and confirmed.active
        lib.add_saved_search(bob, "gradient descent", "lexical")
        lib.subscribe("carol@example.org", link_for=lambda secret: secret)  # stays pending
        latest = lib.store.latest_day()
        assert latest is not None
        lib.add([replace(papers[10], id=LATER, title="A later paper on grids",
                         published=latest + timedelta(days=1))])
        assert len(lib.plan_digests("https://papers.example.org")) == 1  # into the outbox
        lib.remove([ids[GONE]], keep_votes=True)  # a source deleted it: its marks are kept
        token = lib.unsubscribe_token(confirmed)
        assert lib.suspicious_votes(), "the burst must be reported"
    return Source(path, papers, papers[GONE], (confirmed.id, token))


def _person(record: PersonRecord | None) -> PersonRecord:
    """A person as any library holds them: without the ids that library gave."""
    assert record is not None
    return replace(record, user=replace(record.user, id=0), collections=tuple(
        (replace(c, id=0), items) for c, items in record.collections))


def _contents(lib: Library, source: Source) -> dict[str, object]:
    """Every kind of row a copy carries, in terms that do not depend on the backend."""
    backend = lib.backend
    ids = [p.id for p in source.papers] + [LATER]
    community = {kind: backend.community.export_records(kind, after=0, limit=1000)
                 for kind in COMMUNITY_KINDS}
    return {
        "papers": [lib.get(i) for i in ids],
        "votes": backend.store.vote_records(ids),
        "kept votes": backend.store.kept_vote_records(),
        "aliases": backend.store.alias_records("", limit=1000),
        "titles": backend.store.titled([title_key(source.papers[11].title)]),
        "people": {u.email: _person(backend.users.export_person(u.id)) for u in lib.users()},
        **community,
        "meta": {k: backend.store.get_meta(k) for k in ("site_secret", "digest_key",
                                                         "harvest.state:feed")},
        "findings": lib.suspicious_votes(),
    }


@pytest.fixture
def source(tmp_path: Path) -> Source:
    return _build(tmp_path / "src")


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    url = new_database(postgres_server)
    yield url
    drop_database(postgres_server, url)


def test_everything_goes_there_and_back(source: Source, database: str, tmp_path: Path) -> None:
    runner = CliRunner()
    there = runner.invoke(main, ["migrate", str(source.path), database])
    assert there.exit_code == 0, there.output
    for line in ("votes with a network: 7 in the source, 7 in the copy",
                 "kept votes: 1 in the source, 1", "kept member votes: 1 in the source, 1",
                 "kept ratings: 1 in the source, 1", "kept saves: 1 in the source, 1",
                 "aliases: 1 in the source, 1", "community preferences: 1 in the source, 1",
                 "digest subscriptions: 2 in the source, 2", "saved searches: 1 in the source",
                 "digests in the outbox: 1 in the source, 1", "submissions: 1 in the source, 1",
                 "comments: 2 in the source, 2"):
        assert line in there.stderr, there.stderr
    back = tmp_path / "back"
    assert runner.invoke(main, ["migrate", database, str(back)]).exit_code == 0
    with Library(source.path) as original:
        expected = _contents(original, source)
    assert len(expected["findings"]) >= 1  # type: ignore[arg-type]
    for location in (database, str(back)):
        with Library(location) as copy:
            got = _contents(copy, source)
            for kind, rows in expected.items():
                assert got[kind] == rows, f"{kind} differs in {location}"
            assert copy.check() == []
    # nothing doubles when the same copy runs again
    again = runner.invoke(main, ["migrate", str(source.path), database])
    assert again.exit_code == 0 and "copied 0 papers, 0 votes" in again.stderr
    for location in (database, str(back)):
        with Library(location) as copy:
            _the_copy_works(copy, source)


def _the_copy_works(copy: Library, source: Source) -> None:
    """Links mailed by the source work on the copy, kept marks come back, new rows get
    new ids."""
    subscription_id, token = source.unsubscribe
    stopped = copy.unsubscribe(subscription_id, token)
    assert stopped is not None and stopped.status == "unsubscribed"
    assert copy.unsubscribe(subscription_id, token[:-1] + "x") is None
    copy.add([source.gone])  # the deleted paper returns
    back = copy.get(source.gone.id)
    assert back is not None and (back.votes_here, back.votes_members) == (2, 1)
    ada, bob = copy.user("ada@example.org"), copy.user("bob@example.org")
    assert ada is not None and bob is not None
    assert copy.ratings(ada, [source.gone.id]) == {source.gone.id: -1}
    assert source.gone.id in copy.member_voted([source.gone.id], bob)
    saved = copy.backend.users.saved_in(ada.id, [source.gone.id])
    assert len(saved[source.gone.id]) == 1
    assert copy.voted([source.gone.id], "cookie-9") == {source.gone.id}
    later = copy.comment(ada, source.papers[1].id, "a new comment on the copy")
    assert later.id > 2  # past the ids the copy brought
    again = copy.subscribe("dan@example.org", link_for=lambda secret: secret)
    assert again.subscription.id > 2
    assert copy.check() == []


def test_an_interrupted_copy_resumes_without_doubles(source: Source, database: str) -> None:
    class Stop(Exception):
        pass

    def stop_in_the_comments(task: str, done: int, total: int | None) -> None:
        if task == "comments" and done == 1:
            raise Stop

    with Library(source.path) as src, Library(database) as dest:
        with pytest.raises(Stop):
            copy_library(src.backend, dest.backend, progress=stop_in_the_comments, batch=1)
        assert len(dest.backend.community.export_records("comments", after=0, limit=9)) == 1
        report = copy_library(src.backend, dest.backend, progress=lambda *a: None, batch=1)
        assert report.matches and report.papers == 0 and report.votes == 0
        assert report.community.get("comments") == 1  # only the one not copied before
        assert report.community.get("subscriptions") == 0
        assert report.counts["comments"] == (2, 2)
        assert _contents(dest, source) == _contents(src, source)
