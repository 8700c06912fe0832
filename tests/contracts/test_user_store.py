"""The user-store contract: accounts, links, sessions, tokens, votes, ratings, collections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from papersift.backends import Backend
from papersift.people import digest, new_secret, utcnow
from tests.contracts.conftest import sample_papers


@pytest.fixture
def papers(backend: Backend) -> list[str]:
    found = sample_papers(12)
    backend.store.upsert(found)
    return [p.id for p in found]


def test_accounts(backend: Backend) -> None:
    users = backend.users
    ada = users.add_user("ada@example.org", admin=True)
    assert ada.admin and ada.active and ada.email == "ada@example.org"
    assert users.add_user("ada@example.org") == ada  # the account it has
    bob = users.add_user("bob@example.org", status="pending")
    assert not bob.active and bob.id != ada.id
    assert users.user_by_email("bob@example.org") == bob and users.get_user(ada.id) == ada
    assert users.user_by_email("nobody@example.org") is None and users.get_user(999) is None
    assert [u.email for u in users.list_users()] == ["ada@example.org", "bob@example.org"]
    approved = users.update_user(bob.id, status="active", admin=False)
    assert approved is not None and approved.active and not approved.admin
    assert users.update_user(999, status="active") is None
    assert users.remove_user(bob.id) and not users.remove_user(bob.id)
    assert users.get_user(bob.id) is None


def test_a_sign_in_link_works_once_and_expires(backend: Backend) -> None:
    users = backend.users
    now = utcnow()
    link, old = new_secret(), new_secret()
    users.add_sign_in(digest(link), "ada@example.org", sign_up=True,
                      expires=now + timedelta(minutes=15), next_path="/feed")
    users.add_sign_in(digest(old), "ada@example.org", sign_up=False,
                      expires=now + timedelta(seconds=1))
    assert users.use_sign_in(link, now=now) is None  # the secret itself is no key
    spent = users.use_sign_in(digest(link), now=now)
    assert spent is not None and spent.email == "ada@example.org" and spent.sign_up
    assert spent.next_path == "/feed"
    assert users.use_sign_in(digest(link), now=now) is None  # once
    assert users.use_sign_in(digest(old), now=now + timedelta(seconds=2)) is None  # expired
    assert users.use_sign_in(digest("never issued"), now=now) is None


def test_a_link_raced_by_two_processes_signs_in_once(
        backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()
    links = [new_secret() for _ in range(20)]
    for link in links:
        first.users.add_sign_in(digest(link), "ada@example.org", sign_up=False,
                                expires=utcnow() + timedelta(minutes=5))
    wins: list[str] = []

    def spend(backend: Backend) -> None:
        for link in links:
            if backend.users.use_sign_in(digest(link), now=utcnow()) is not None:
                wins.append(link)

    threads = [threading.Thread(target=spend, args=(b,)) for b in (first, second, first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(links)  # each link spent exactly once


def test_sessions_end_one_by_one_or_everywhere(backend: Backend) -> None:
    users = backend.users
    ada = users.add_user("ada@example.org")
    now = utcnow()
    phone, laptop, stale = new_secret(), new_secret(), new_secret()
    for secret, life in ((phone, 30), (laptop, 30), (stale, -1)):
        users.add_session(digest(secret), ada.id, expires=now + timedelta(days=life))
    assert users.session_user(digest(phone), now=now) == ada
    assert users.session_user(phone, now=now) is None
    assert users.session_user(digest(stale), now=now) is None
    assert users.count_sessions(ada.id, now=now) == 2
    assert users.remove_session(digest(phone)) and not users.remove_session(digest(phone))
    assert users.session_user(digest(phone), now=now) is None
    assert users.session_user(digest(laptop), now=now) == ada
    assert users.remove_sessions(ada.id) >= 1
    assert users.session_user(digest(laptop), now=now) is None
    assert users.count_sessions(ada.id, now=now) == 0


def test_api_tokens(backend: Backend) -> None:
    users = backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    secret = new_secret("pst_")
    token = users.add_api_token(ada.id, "laptop script", digest(secret))
    assert [t.name for t in users.api_tokens(ada.id)] == ["laptop script"]
    assert users.api_tokens(bob.id) == []
    assert users.api_token_user(digest(secret)) == ada
    assert users.api_tokens(ada.id)[0].last_used is not None
    assert users.api_token_user(digest("pst_other")) is None
    assert not users.remove_api_token(bob.id, token.id)  # not bob's to revoke
    assert users.remove_api_token(ada.id, token.id)
    assert users.api_token_user(digest(secret)) is None


def test_member_votes_are_counted_apart_from_anonymous_ones(backend: Backend,
                                                            papers: list[str]) -> None:
    store, users = backend.store, backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    paper = papers[0]
    assert store.add_vote(paper, "cookie-1") and store.add_vote(paper, "cookie-2")
    assert users.add_member_vote(paper, ada.id) and not users.add_member_vote(paper, ada.id)
    assert users.add_member_vote(paper, bob.id)
    assert not users.add_member_vote("unknown-paper", ada.id)
    counted = store.get(paper)
    assert counted is not None and (counted.votes_here, counted.votes_members) == (4, 2)
    assert counted.votes_anonymous == 2
    assert users.member_voted([paper, papers[1]], ada.id) == {paper}
    assert store.voted([paper], f"user:{ada.id}") == set()  # a member's row is no cookie's
    assert not store.remove_vote(paper, f"user:{ada.id}")
    assert users.remove_member_vote(paper, ada.id) and not users.remove_member_vote(paper, ada.id)
    counted = store.get(paper)
    assert counted is not None and (counted.votes_here, counted.votes_members) == (3, 1)
    assert users.remove_user(bob.id)  # a removed member's votes leave the counts
    counted = store.get(paper)
    assert counted is not None and (counted.votes_here, counted.votes_members) == (2, 0)
    assert store.stats().votes == 2


def test_member_votes_are_exact_under_concurrent_voters(
        backend_factory: Callable[..., Backend]) -> None:
    first, second = backend_factory(), backend_factory()
    first.store.upsert(sample_papers(3))
    paper = sample_papers(3)[1].id
    members = [first.users.add_user(f"m{i}@example.org").id for i in range(40)]

    def vote(backend: Backend, ids: list[int]) -> None:
        for user_id in ids:
            backend.users.add_member_vote(paper, user_id)
            backend.users.add_member_vote(paper, user_id)
            backend.store.add_vote(paper, f"cookie-{user_id}")

    threads = [threading.Thread(target=vote, args=(b, members[i::4]))
               for i, b in enumerate([first, second, first, second])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counted = second.store.get(paper)
    assert counted is not None and (counted.votes_here, counted.votes_members) == (80, 40)


def test_ratings_are_private_and_undoable(backend: Backend, papers: list[str]) -> None:
    users = backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    assert users.set_rating(ada.id, papers[0], 1) and users.set_rating(ada.id, papers[1], -1)
    assert users.set_rating(ada.id, papers[0], -1)  # changed its mind
    assert not users.set_rating(ada.id, "unknown-paper", 1)
    with pytest.raises(ValueError):
        users.set_rating(ada.id, papers[2], 5)
    mine = {r.paper_id: r.value for r in users.ratings(ada.id)}
    assert mine == {papers[0]: -1, papers[1]: -1}
    assert [r.paper_id for r in users.ratings(ada.id, [papers[1], papers[5]])] == [papers[1]]
    assert users.ratings(ada.id, []) == [] and users.ratings(bob.id) == []
    assert users.set_rating(ada.id, papers[0], 0)  # undone
    assert [r.paper_id for r in users.ratings(ada.id)] == [papers[1]]
    unchanged = backend.store.get(papers[1])
    assert unchanged is not None and unchanged.votes_here == 0  # ratings are not votes


def test_collections_belong_to_their_owner(backend: Backend, papers: list[str]) -> None:
    users = backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    reading = users.add_collection(ada.id, "Reading list")
    assert users.add_collection(ada.id, "Reading list").id == reading.id
    theirs = users.add_collection(bob.id, "Reading list")
    assert theirs.id != reading.id
    added = users.add_items(ada.id, reading.id, [(papers[0], "read first"), (papers[1], None),
                                                 ("unknown-paper", "x"), (papers[0], None)])
    assert added == 2
    assert users.add_items(ada.id, reading.id, [(papers[1], "a <b>note</b> & more")]) == 0
    items = {i.paper_id: i.note for i in users.items(ada.id, reading.id)}
    assert items == {papers[0]: "read first", papers[1]: "a <b>note</b> & more"}
    assert users.items(bob.id, reading.id) == []  # someone else's id: nothing
    with pytest.raises(KeyError):
        users.add_items(bob.id, reading.id, [(papers[2], None)])
    assert not users.remove_item(bob.id, reading.id, papers[0])
    assert not users.set_note(bob.id, reading.id, papers[0], "mine now")
    assert not users.rename_collection(bob.id, reading.id, "Stolen")
    assert not users.remove_collection(bob.id, reading.id)
    assert users.set_note(ada.id, reading.id, papers[0], "")
    assert users.items(ada.id, reading.id)[-1].note is None
    other = users.add_collection(ada.id, "Later")
    users.add_items(ada.id, other.id, [(papers[1], None)])
    assert not users.rename_collection(ada.id, other.id, "Reading list")  # name taken
    assert users.rename_collection(ada.id, other.id, "Someday")
    listed = users.collections(ada.id)
    assert [(c.name, c.size) for c in listed] == [("Someday", 1), ("Reading list", 2)]
    assert users.saved_in(ada.id, [papers[0], papers[1], papers[3]]) == {
        papers[0]: [reading.id], papers[1]: sorted([reading.id, other.id])}
    assert users.remove_item(ada.id, reading.id, papers[0])
    assert users.remove_collection(ada.id, other.id)
    assert [c.name for c in users.collections(ada.id)] == ["Reading list"]
    assert [c.name for c in users.collections(bob.id)] == ["Reading list"]


def test_feedback_has_every_rating_vote_and_save(backend: Backend, papers: list[str]) -> None:
    users = backend.users
    ada = users.add_user("ada@example.org")
    users.set_rating(ada.id, papers[0], 1)
    users.set_rating(ada.id, papers[1], -1)
    users.add_member_vote(papers[2], ada.id)
    saved = users.add_collection(ada.id, "Saved")
    users.add_items(ada.id, saved.id, [(papers[3], None)])
    backend.store.add_vote(papers[4], "cookie")  # anonymous: not hers
    found = {(f.paper_id, f.kind, f.value) for f in users.feedback(ada.id)}
    assert found == {(papers[0], "rating", 1), (papers[1], "rating", -1),
                     (papers[2], "vote", 1), (papers[3], "saved", 1)}
    keys = backend.store.keys_of(papers)
    assert all(f.key == keys[f.paper_id] for f in users.feedback(ada.id))


def test_removing_a_user_removes_everything_of_theirs(backend: Backend,
                                                      papers: list[str]) -> None:
    users = backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    secret, session = new_secret(), new_secret()
    for user in (ada, bob):
        users.set_rating(user.id, papers[0], 1)
        users.add_member_vote(papers[1], user.id)
        users.add_items(user.id, users.add_collection(user.id, "C").id, [(papers[2], "n")])
    users.add_api_token(ada.id, "t", digest(secret))
    users.add_session(digest(session), ada.id, expires=utcnow() + timedelta(days=1))
    users.add_sign_in(digest("link"), "ada@example.org", sign_up=False,
                      expires=utcnow() + timedelta(minutes=5))
    assert users.remove_user(ada.id)
    assert users.feedback(ada.id) == [] and users.collections(ada.id) == []
    assert users.api_token_user(digest(secret)) is None
    assert users.session_user(digest(session), now=utcnow()) is None
    assert users.use_sign_in(digest("link"), now=utcnow()) is None
    assert len(users.feedback(bob.id)) == 3  # bob keeps his
    voted = backend.store.get(papers[1])
    assert voted is not None and (voted.votes_here, voted.votes_members) == (1, 1)


def test_removed_papers_leave_collections_and_ratings(backend: Backend,
                                                      papers: list[str]) -> None:
    users = backend.users
    ada = users.add_user("ada@example.org")
    kept = users.add_collection(ada.id, "Kept")
    users.add_items(ada.id, kept.id, [(papers[0], None), (papers[1], None)])
    users.set_rating(ada.id, papers[0], 1)
    backend.store.remove([papers[0]])
    assert [i.paper_id for i in users.items(ada.id, kept.id)] == [papers[1]]
    assert users.ratings(ada.id) == []


def test_member_votes_of_a_paper_its_source_deleted_come_back_as_theirs(
        backend: Backend, papers: list[str]) -> None:
    store, users = backend.store, backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    paper = papers[0]
    store.add_vote(paper, "cookie-1")
    users.add_member_vote(paper, ada.id)
    users.add_member_vote(paper, bob.id)
    original = store.get(paper)
    assert original is not None
    assert store.remove([paper], keep_votes=True) == 1 and store.kept_votes(paper) == 3
    assert users.remove_user(bob.id)  # gone while the paper was away: his vote goes too
    store.upsert([original])
    back = store.get(paper)
    assert back is not None and (back.votes_here, back.votes_members) == (2, 1)
    assert users.member_voted([paper], ada.id) == {paper} and store.kept_votes(paper) == 0


def test_two_records_made_one_paper_keep_its_members_votes_ratings_and_saves(
        backend: Backend) -> None:
    from papersift.papers import Paper

    store, users = backend.store, backend.users
    seed = Paper(id="sha256:00000000000000aa", title="Matryoshka Representation Learning",
                 abstract="Nested embeddings.")
    arxiv = Paper(id="2205.13147", title="Matryoshka Representation Learning",
                  abstract="Nested embeddings.", categories=("cs.LG",))
    store.upsert([seed, arxiv])
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    users.add_member_vote(seed.id, ada.id)
    users.add_member_vote(seed.id, bob.id)
    users.add_member_vote(arxiv.id, bob.id)  # bob voted for both records: one vote after
    users.set_rating(ada.id, seed.id, 1)
    group = users.add_collection(ada.id, "Reading")
    users.add_items(ada.id, group.id, [(seed.id, "read first")])
    store.identify(seed.id, arxiv.id)
    paper = store.get(arxiv.id)
    assert paper is not None and (paper.votes_here, paper.votes_members) == (2, 2)
    assert users.member_voted([arxiv.id], ada.id) == {arxiv.id}
    assert {(f.paper_id, f.kind) for f in users.feedback(ada.id)} == {
        (arxiv.id, "rating"), (arxiv.id, "vote"), (arxiv.id, "saved")}
    assert [(i.paper_id, i.note) for i in users.items(ada.id, group.id)] == [
        (arxiv.id, "read first")]


def test_ratings_and_saves_of_a_paper_its_source_deleted_come_back(
        backend: Backend, papers: list[str]) -> None:
    store, users = backend.store, backend.users
    ada, bob = users.add_user("ada@example.org"), users.add_user("bob@example.org")
    paper = papers[0]
    original = store.get(paper)
    assert original is not None
    users.set_rating(ada.id, paper, 1)
    users.set_rating(bob.id, paper, -1)
    reading = users.add_collection(ada.id, "Reading")
    dropped = users.add_collection(ada.id, "Dropped later")
    users.add_items(ada.id, reading.id, [(paper, "read first")])
    users.add_items(ada.id, dropped.id, [(paper, None)])
    assert store.remove([paper], keep_votes=True) == 1
    assert users.items(ada.id, reading.id) == [] and users.ratings(ada.id) == []
    assert users.remove_user(bob.id)  # gone meanwhile: his rating does not come back
    assert users.remove_collection(ada.id, dropped.id)
    store.upsert([original])
    assert [(r.paper_id, r.value) for r in users.ratings(ada.id)] == [(paper, 1)]
    assert [(i.paper_id, i.note) for i in users.items(ada.id, reading.id)] == [
        (paper, "read first")]
    kinds = sorted(f.kind for f in users.feedback(ada.id))
    assert kinds == ["rating", "saved"]
