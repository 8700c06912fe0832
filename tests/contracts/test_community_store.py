"""The community-store contract: subscriptions with double opt-in, saved searches, the
digest outbox (its states and cursors, recorded once under racing planners), submissions
and their moderation, comments, preferences, and what removing a person or a paper takes
with it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from papersift.backends import Backend
from papersift.community import Prefs
from papersift.people import digest, new_secret, utcnow
from tests.contracts.conftest import sample_papers

DAY = date(2025, 3, 18)


@pytest.fixture
def papers(backend: Backend) -> list[str]:
    found = sample_papers(6)
    backend.store.upsert(found)
    return [p.id for p in found]


def _active(backend: Backend, email: str, cursor: date | None = DAY) -> int:
    """An active subscription of ``email`` whose cursor is ``cursor``; its id."""
    link = digest(new_secret())
    backend.community.request_subscription(email, None, "daily", link,
                                           utcnow() + timedelta(days=1))
    found = backend.community.confirm_subscription(link, now=utcnow(), cursor=cursor)
    assert found is not None and found.active
    return found.id


def test_double_opt_in_then_unsubscribe(backend: Backend) -> None:
    store, now = backend.community, utcnow()
    ada = backend.users.add_user("ada@example.org")
    first, second = digest(new_secret()), digest(new_secret())
    asked = store.request_subscription("ada@example.org", ada.id, "daily", first,
                                       now + timedelta(days=1))
    assert asked.status == "pending" and not asked.active and asked.user_id == ada.id
    assert asked.cursor is None and asked.trending and asked.picks and not asked.searches
    again = store.request_subscription("ada@example.org", None, "weekly", second,
                                       now + timedelta(days=1))
    assert again.id == asked.id and again.frequency == "weekly"  # still pending: new settings
    assert again.user_id == ada.id  # an anonymous request keeps the member
    assert store.active_subscriptions() == []
    assert store.confirm_subscription(first, now=now, cursor=DAY) is None  # replaced link
    assert store.confirm_subscription(second, now=now + timedelta(days=2), cursor=DAY) is None
    confirmed = store.confirm_subscription(second, now=now, cursor=DAY)
    assert confirmed is not None and confirmed.active and confirmed.cursor == DAY
    assert store.confirm_subscription(second, now=now, cursor=DAY) is None  # once
    # asked again while active: stays active with its settings, a new link does no harm
    third = digest(new_secret())
    kept = store.request_subscription("ada@example.org", None, "daily", third,
                                      now + timedelta(days=1))
    assert kept.active and kept.frequency == "weekly" and kept.cursor == DAY
    relinked = store.confirm_subscription(third, now=now, cursor=DAY + timedelta(days=5))
    assert relinked is not None and relinked.cursor == DAY  # the cursor is never moved back
    assert store.update_subscription(asked.id, trending=False, frequency="daily")
    assert not store.update_subscription(asked.id) and not store.update_subscription(
        999, picks=False)
    changed = store.subscription(asked.id)
    assert changed is not None and changed.frequency == "daily" and not changed.trending
    assert changed.picks and store.subscription_by_email("ada@example.org") == changed
    assert [s.id for s in store.active_subscriptions()] == [asked.id]
    assert store.unsubscribe(asked.id) and not store.unsubscribe(asked.id)
    gone = store.subscription(asked.id)
    assert gone is not None and gone.status == "unsubscribed"
    assert store.active_subscriptions() == [] and not store.unsubscribe(999)
    assert store.remove_subscriptions("ada@example.org") == 1
    assert store.subscription(asked.id) is None and store.subscription_by_email("x@y.z") is None
    assert store.remove_subscriptions("ada@example.org") == 0


def test_saved_searches_belong_to_their_subscription(backend: Backend) -> None:
    store = backend.community
    mine, theirs = _active(backend, "ada@example.org"), _active(backend, "bob@example.org")
    first = store.add_saved_search(mine, "nested embeddings", "hybrid")
    assert store.add_saved_search(mine, "nested embeddings", "hybrid") == first  # idempotent
    other = store.add_saved_search(mine, "nested embeddings", "lexical")
    assert other.id != first.id
    found = store.subscription(mine)
    assert found is not None and found.searches == (first, other)
    assert not store.remove_saved_search(theirs, first.id)  # not theirs to remove
    assert store.remove_saved_search(mine, first.id)
    assert not store.remove_saved_search(mine, first.id)
    found = store.subscription(mine)
    assert found is not None and found.searches == (other,)
    assert store.remove_subscriptions("ada@example.org") == 1
    theirs_now = store.add_saved_search(theirs, "nested embeddings", "hybrid")
    found = store.subscription(theirs)
    assert found is not None and found.searches == (theirs_now,)


def test_the_outbox_records_each_digest_with_its_cursor(
        backend_factory: Callable[..., Backend]) -> None:
    backend, other = backend_factory(), backend_factory()
    store, day2 = backend.community, DAY + timedelta(days=1)
    sub = _active(backend, "ada@example.org")
    raw = b"Subject: digest\r\n\r\nbody\x00\xff"
    assert not store.record_digest(sub, None, day2, message_id="<a@x>", recipient="a@x",
                                   raw=raw)  # the cursor moved meanwhile: nothing recorded
    assert store.record_digest(sub, DAY, day2, message_id="<d1@x>", recipient="ada@example.org",
                               raw=raw)
    assert not store.record_digest(sub, DAY, day2, message_id="<d1@x>",
                                   recipient="ada@example.org", raw=raw)  # once
    moved = store.subscription(sub)
    assert moved is not None and moved.cursor == day2
    [mail] = store.outbox()
    assert (mail.subscription_id, mail.through, mail.message_id, mail.raw) == (
        sub, day2, "<d1@x>", raw)
    assert mail.state == "pending" and mail.attempts == 0 and mail.error is None
    seen: list[list[str]] = []
    store.hand_over(mail.id, lambda: seen.append(  # another process sees it committed
        [m.state for m in other.community.outbox(("handed",))]))
    assert seen == [["handed"]] and store.outbox() == []

    def broken() -> None:
        raise OSError("connection reset")

    store.mark_outbox(mail.id, "pending", error="451 try later")
    with pytest.raises(OSError):
        store.hand_over(mail.id, broken)
    [again] = store.outbox()
    assert again.state == "pending" and again.attempts == 2 and again.error == "451 try later"
    store.mark_outbox(mail.id, "failed", error="550 no such user", attempt=True)
    assert store.outbox(("failed",))[0].attempts == 3
    store.mark_outbox(mail.id, "sent")
    assert store.outbox_counts() == {"sent": 1}
    assert store.sent_digests(sub) == [(day2, "<d1@x>", "sent")]
    assert store.unsubscribe(sub)
    assert not store.record_digest(sub, day2, day2 + timedelta(days=1), message_id="<d2@x>",
                                   recipient="ada@example.org", raw=raw)  # not active
    assert store.remove_subscriptions("ada@example.org") == 1
    [kept] = store.outbox(("sent",))  # what was sent stays on record
    assert kept.subscription_id is None and kept.message_id == "<d1@x>"


def test_racing_planners_record_each_digest_once(
        backend_factory: Callable[..., Backend]) -> None:
    planners = [backend_factory(), backend_factory()]
    subs = [_active(planners[0], f"reader{i}@example.org") for i in range(15)]
    recorded: list[int] = []
    start = threading.Barrier(len(planners))

    def plan(backend: Backend, who: int) -> None:
        start.wait()
        for sub in subs:
            for through in (DAY + timedelta(days=1), DAY + timedelta(days=2)):
                cursor = through - timedelta(days=1)
                if backend.community.record_digest(
                        sub, cursor, through, message_id=f"<{sub}-{through}-{who}@x>",
                        recipient="r@x", raw=b"x"):
                    recorded.append(sub)

    threads = [threading.Thread(target=plan, args=(b, i)) for i, b in enumerate(planners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(recorded) == sorted(subs * 2)  # each day of each subscription once
    pending = planners[1].community.outbox(limit=100)
    assert sorted((m.subscription_id, m.through) for m in pending) == sorted(
        (s, DAY + timedelta(days=d)) for s in subs for d in (1, 2))
    for sub in subs:
        found = planners[1].community.subscription(sub)
        assert found is not None and found.cursor == DAY + timedelta(days=2)


def test_submissions_are_moderated_and_show_their_submitter(backend: Backend,
                                                             papers: list[str]) -> None:
    store = backend.community
    ada, bob = backend.users.add_user("ada@example.org"), backend.users.add_user("b@x.org")
    assert store.add_submission("no-such-paper", DAY, ada.id) is None
    first = store.add_submission(papers[0], DAY, ada.id)
    assert first is not None and store.add_submission(papers[0], DAY, bob.id) is None
    second = store.add_submission(papers[1], DAY, bob.id)
    later = store.add_submission(papers[0], DAY + timedelta(days=1), bob.id)
    assert second is not None and later is not None and len({first, second, later}) == 3
    shown = store.submissions(day=DAY)
    assert [(s.id, s.paper.id, s.state) for s in shown] == [
        (first, papers[0], "shown"), (second, papers[1], "shown")]
    assert shown[0].submitter == f"member {ada.id}" and shown[0].user_id == ada.id
    assert shown[0].day == DAY and shown[0].paper.title == backend.store.get(papers[0]).title
    store.set_prefs(ada.id, Prefs("Ada L.", notify_replies=True))
    assert store.set_submission_state(second, "featured")
    assert store.set_submission_state(first, "hidden") and not store.set_submission_state(
        999, "hidden")
    assert [(s.id, s.submitter) for s in store.submissions(day=DAY)] == [
        (second, f"member {bob.id}")]
    assert [(s.id, s.state, s.submitter) for s in store.submissions(day=DAY, hidden=True)] == [
        (second, "featured", f"member {bob.id}"), (first, "hidden", "Ada L.")]
    assert [s.id for s in store.submissions(user_id=bob.id)] == [second, later]
    assert [s.id for s in store.submissions(user_id=ada.id, hidden=True)] == [first]


def test_comments_edit_delete_hide_and_count(backend: Backend, papers: list[str]) -> None:
    store = backend.community
    ada, bob = backend.users.add_user("ada@example.org"), backend.users.add_user("b@x.org")
    assert store.add_comment("no-such-paper", ada.id, "hi") is None
    first = store.add_comment(papers[0], ada.id, "**Nice** result")
    assert first is not None
    assert store.add_comment(papers[1], bob.id, "off-paper reply", parent=first) is None
    reply = store.add_comment(papers[0], bob.id, "Thanks", parent=first)
    other = store.add_comment(papers[1], bob.id, "Another")
    assert reply is not None and other is not None
    [got] = store.comments(comment_id=first)
    assert (got.paper_id, got.user_id, got.author, got.body, got.parent, got.hidden,
            got.edited) == (papers[0], ada.id, f"member {ada.id}", "**Nice** result", None,
                            False, None)
    assert [c.id for c in store.comments(paper_id=papers[0])] == [first, reply]
    assert store.comments(comment_id=reply)[0].parent == first
    assert [c.id for c in store.comments(user_id=bob.id)] == [reply, other]
    assert store.comment_counts([papers[0], papers[1], papers[2], "nope"]) == {
        papers[0]: 2, papers[1]: 1}
    assert store.comment_counts([]) == {}
    assert not store.edit_comment(first, bob.id, "hijacked")  # only its author
    assert store.edit_comment(first, ada.id, "*Nice* result")
    [edited] = store.comments(comment_id=first)
    assert edited.body == "*Nice* result" and edited.edited is not None
    assert edited.created <= edited.edited
    store.set_prefs(bob.id, Prefs("Bob", notify_replies=False))
    assert store.comments(comment_id=reply)[0].author == "Bob"
    assert store.hide_comment(reply, True) and not store.hide_comment(999, True)
    assert store.comment_counts([papers[0]]) == {papers[0]: 1}
    assert [c.id for c in store.comments(paper_id=papers[0], hidden=False)] == [first]
    assert store.comments(comment_id=reply)[0].hidden  # admins still see it
    assert store.hide_comment(reply, False) and store.comment_counts([papers[0]]) == {
        papers[0]: 2}
    assert not store.remove_comment(first, bob.id)
    assert store.remove_comment(first, ada.id) and not store.remove_comment(first, ada.id)
    assert store.comments(comment_id=reply)[0].parent is None  # the reply stays, unparented
    assert store.comment_counts([papers[0]]) == {papers[0]: 1}


def test_preferences(backend: Backend) -> None:
    store = backend.community
    ada = backend.users.add_user("ada@example.org")
    assert store.prefs(ada.id) == Prefs() == Prefs(None, False)
    store.set_prefs(ada.id, Prefs("Ada", True))
    assert store.prefs(ada.id) == Prefs("Ada", True)
    store.set_prefs(ada.id, Prefs(None, False))
    assert store.prefs(ada.id) == Prefs()


def test_removing_a_person_or_a_paper_takes_their_community_rows(
        backend: Backend, papers: list[str]) -> None:
    store = backend.community
    ada, bob = backend.users.add_user("ada@example.org"), backend.users.add_user("b@x.org")
    link = digest(new_secret())
    store.request_subscription(ada.email, ada.id, "weekly", link, utcnow() + timedelta(days=1))
    sub = store.confirm_subscription(link, now=utcnow(), cursor=DAY)
    assert sub is not None
    store.add_saved_search(sub.id, "graph", "auto")
    store.set_prefs(ada.id, Prefs("Ada", True))
    mine = store.add_comment(papers[0], ada.id, "mine")
    reply = store.add_comment(papers[0], bob.id, "reply", parent=mine)
    store.add_submission(papers[0], DAY, ada.id)
    store.add_submission(papers[1], DAY, bob.id)
    bobs_on_gone = store.add_comment(papers[2], bob.id, "on a paper that goes")
    store.add_submission(papers[2], DAY, bob.id)
    assert backend.users.remove_user(ada.id)
    assert store.subscription_by_email(ada.email) is None  # a member's subscription goes too
    assert store.comments(user_id=ada.id) == [] and store.prefs(ada.id) == Prefs()
    assert store.submissions(user_id=ada.id, hidden=True) == []
    assert store.comments(comment_id=reply)[0].parent is None
    assert backend.store.remove([papers[2]]) == 1
    assert store.comments(comment_id=bobs_on_gone or 0) == []
    assert [s.paper.id for s in store.submissions(day=DAY)] == [papers[1]]
    assert [c.id for c in store.comments(user_id=bob.id)] == [reply]


def test_rows_copied_in_keep_their_ids(backend: Backend, papers: list[str]) -> None:
    """What `papersift migrate` writes: rows under the source's ids (links mailed name
    them), once however often the import runs; rows added afterwards get new ids; a
    different row under the same id is refused."""
    from papersift.copy_records import (
        CommentRecord,
        CopyConflict,
        OutboxRecord,
        SavedSearchRecord,
        SubmissionRecord,
        SubscriptionRecord,
    )

    store, now = backend.community, utcnow().replace(microsecond=0)  # what both store
    ada = backend.users.add_user("ada@example.org")
    records = [
        SubscriptionRecord(7, "ada@example.org", "ada@example.org", "weekly", "active", False,
                           True, DAY, now, now, searches=(SavedSearchRecord(4, "q", "lexical",
                                                                            now),)),
        OutboxRecord(3, 7, DAY, "<digest-7@x>", "ada@example.org", b"raw\r\n", "sent", 1,
                     None, now, now),
        SubmissionRecord(5, papers[0], DAY, "ada@example.org", "featured", now),
        CommentRecord(9, papers[1], "ada@example.org", None, "first", False, now),
        CommentRecord(12, papers[1], "ada@example.org", 9, "reply", True, now, now),
        CommentRecord(13, papers[1], "nobody@example.org", None, "no such author", False, now),
    ]
    assert store.import_records(records) == 5
    assert store.import_records(records) == 0
    for kind in ("subscriptions", "outbox", "submissions", "comments"):
        assert store.export_records(kind, after=0, limit=10) == [  # type: ignore[arg-type]
            r for r in records[:5] if type(r).__name__.lower().startswith(kind[:6])]
    found = store.subscription(7)
    assert found is not None and found.user_id == ada.id and found.searches[0].id == 4
    assert [c.parent for c in store.comments(paper_id=papers[1])] == [None, 9]
    assert store.add_comment(papers[1], ada.id, "new") == 13  # after the ids copied
    fresh = store.request_subscription("bo@example.org", None, "daily", "d", now)
    assert fresh.id == 8
    with pytest.raises(CopyConflict):
        store.import_records([replace(records[0], email="eve@example.org")])
    with pytest.raises(CopyConflict):
        store.import_records([replace(records[0], id=8)])
