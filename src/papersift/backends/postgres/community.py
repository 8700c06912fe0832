"""The community's rows in PostgreSQL: digest subscriptions, saved searches, the digest
outbox, papers submitted to a day's feed, comments, members' preferences.

:class:`PostgresCommunityStore` implements :class:`papersift.backends.base.CommunityStore`
with the embedded catalog's rules (:mod:`papersift.catalog.community`), exact with any
number of processes on any number of machines, each step one statement where it can be:

- a digest is recorded by :meth:`~PostgresCommunityStore.record_digest` in the transaction
  that moves its subscription's cursor with a conditional ``UPDATE ... WHERE cursor IS NOT
  DISTINCT FROM`` the cursor the planner read. Of two planners racing, the second waits on
  the row lock the first holds and then finds the cursor moved: a digest is planned once
  or not at all, and ``UNIQUE (subscription, through)`` says so again;
- :meth:`~PostgresCommunityStore.hand_over` commits ``handed`` (one autocommit statement)
  and calls ``write`` at once after the server confirmed the commit (see
  :mod:`papersift.outbox`);
- a confirmation link is spent by one ``UPDATE ... RETURNING`` (once, before it expires);
  a submission and a saved search are inserts their unique keys make idempotent;
- rows are read out and written back by id for copying a library (:mod:`.community_copy`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from papersift.backends.postgres.community_copy import CommunityCopies
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.rows import COLUMNS, row_to_paper
from papersift.community import (
    Comment,
    Frequency,
    OutboxMail,
    OutboxState,
    Prefs,
    SavedSearch,
    Submission,
    SubmissionState,
    Subscription,
)

__all__ = ["PostgresCommunityStore"]

_SUB = "s.id, s.email, s.user_id, s.frequency, s.trending, s.picks, s.status, s.cursor, s.created"
_OUT = "id, subscription, through, message_id, recipient, raw, state, attempts, error"
#: A member's name beside what they wrote: the one they chose, else ``member N``.
_NAME = "coalesce(cp.name, 'member ' || {0}.user_id::text)"


def _outbox(row: Sequence[Any]) -> OutboxMail:
    return OutboxMail(id=int(row[0]), subscription_id=row[1], through=row[2],
                      message_id=str(row[3]), recipient=str(row[4]), raw=bytes(row[5]),
                      state=row[6], attempts=int(row[7]), error=row[8])


class PostgresCommunityStore(CommunityCopies):
    """Subscriptions, outbox, submissions, comments in a library's PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- subscriptions --------------------------------------------------------------------
    def _subscription(self, row: Sequence[Any] | None) -> Subscription | None:
        if row is None:
            return None
        searches = tuple(SavedSearch(int(r[0]), str(r[1]), str(r[2])) for r in self._db.rows(
            "SELECT id, query, mode FROM saved_searches WHERE subscription = %s ORDER BY id",
            (row[0],)))
        return Subscription(id=int(row[0]), email=str(row[1]), user_id=row[2],
                            frequency=row[3], trending=bool(row[4]), picks=bool(row[5]),
                            status=row[6], cursor=row[7], created=row[8], searches=searches)

    def request_subscription(self, email: str, user_id: int | None, frequency: Frequency,
                             confirm_digest: str, expires: datetime) -> Subscription:
        row = self._db.one(
            "INSERT INTO subscriptions AS s (email, user_id, frequency, status, confirm_digest, "
            "confirm_expires) VALUES (%s, %s, %s, 'pending', %s, %s) "
            "ON CONFLICT (email) DO UPDATE SET confirm_digest = excluded.confirm_digest, "
            "confirm_expires = excluded.confirm_expires, "
            "user_id = coalesce(excluded.user_id, s.user_id), "
            "frequency = CASE WHEN s.status = 'active' THEN s.frequency "
            "ELSE excluded.frequency END, "
            "status = CASE WHEN s.status = 'active' THEN 'active' ELSE 'pending' END "
            f"RETURNING {_SUB}", (email, user_id, frequency, confirm_digest, expires))
        found = self._subscription(row)
        assert found is not None
        return found

    def confirm_subscription(self, confirm_digest: str, *, now: datetime,
                             cursor: date | None) -> Subscription | None:
        return self._subscription(self._db.one(
            "UPDATE subscriptions s SET status = 'active', confirmed = %s, "
            "confirm_digest = NULL, cursor = coalesce(s.cursor, %s::date) "
            f"WHERE s.confirm_digest = %s AND s.confirm_expires > %s RETURNING {_SUB}",
            (now, cursor, confirm_digest, now)))

    def subscription(self, subscription_id: int) -> Subscription | None:
        return self._subscription(self._db.one(
            f"SELECT {_SUB} FROM subscriptions s WHERE s.id = %s", (subscription_id,)))

    def subscription_by_email(self, email: str) -> Subscription | None:
        return self._subscription(self._db.one(
            f"SELECT {_SUB} FROM subscriptions s WHERE s.email = %s", (email,)))

    def active_subscriptions(self) -> list[Subscription]:
        rows = self._db.rows(f"SELECT {_SUB} FROM subscriptions s WHERE s.status = 'active' "
                             "ORDER BY s.id")
        return [s for s in map(self._subscription, rows) if s is not None]

    def update_subscription(self, subscription_id: int, *, frequency: Frequency | None = None,
                            trending: bool | None = None, picks: bool | None = None) -> bool:
        if frequency is None and trending is None and picks is None:
            return False
        return self._db.one(
            "UPDATE subscriptions SET frequency = coalesce(%s, frequency), "
            "trending = coalesce(%s, trending), picks = coalesce(%s, picks) "
            "WHERE id = %s RETURNING 1",
            (frequency, trending, picks, subscription_id)) is not None

    def unsubscribe(self, subscription_id: int) -> bool:
        return self._db.one(
            "UPDATE subscriptions SET status = 'unsubscribed', confirm_digest = NULL "
            "WHERE id = %s AND status <> 'unsubscribed' RETURNING 1",
            (subscription_id,)) is not None

    def remove_subscriptions(self, email: str) -> int:
        return len(self._db.rows("DELETE FROM subscriptions WHERE email = %s RETURNING 1",
                                 (email,)))

    def add_saved_search(self, subscription_id: int, query: str, mode: str) -> SavedSearch:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO saved_searches (subscription, query, mode) "
                         "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (subscription_id, query, mode))
            row = conn.execute("SELECT id FROM saved_searches WHERE subscription = %s AND "
                               "query = %s AND mode = %s",
                               (subscription_id, query, mode)).fetchone()
        assert row is not None
        return SavedSearch(int(row[0]), query, mode)

    def remove_saved_search(self, subscription_id: int, search_id: int) -> bool:
        return self._db.one("DELETE FROM saved_searches WHERE id = %s AND subscription = %s "
                            "RETURNING 1", (search_id, subscription_id)) is not None

    # -- the digest outbox ----------------------------------------------------------------
    def record_digest(self, subscription_id: int, cursor: date | None, through: date, *,
                      message_id: str, recipient: str, raw: bytes) -> bool:
        with self._db.transaction() as conn:
            moved = conn.execute(
                "UPDATE subscriptions SET cursor = %s WHERE id = %s AND status = 'active' "
                "AND cursor IS NOT DISTINCT FROM %s::date RETURNING 1",
                (through, subscription_id, cursor)).fetchone()
            if moved is None:
                return False  # another sender recorded it, or the subscription changed
            conn.execute(
                "INSERT INTO digest_outbox (subscription, through, message_id, recipient, raw, "
                "state) VALUES (%s, %s, %s, %s, %s, 'pending')",
                (subscription_id, through, message_id, recipient, raw))
            return True

    def outbox(self, states: Sequence[OutboxState] = ("pending",),
               limit: int = 1000) -> list[OutboxMail]:
        rows = self._db.rows(f"SELECT {_OUT} FROM digest_outbox WHERE state = ANY(%s) "
                             "ORDER BY id LIMIT %s", (list(states), limit))
        return [_outbox(r) for r in rows]

    def mark_outbox(self, mail_id: int, state: OutboxState, *, error: str | None = None,
                    attempt: bool = False) -> None:
        self._db.one(
            "UPDATE digest_outbox SET state = %s, error = %s, attempts = attempts + %s, "
            "sent = CASE WHEN %s THEN coalesce(sent, now()) ELSE sent END "
            "WHERE id = %s RETURNING 1",
            (state, error, int(attempt), state in ("handed", "sent"), mail_id))

    def hand_over(self, mail_id: int, write: Callable[[], object]) -> None:
        with self._db.connection() as conn:  # autocommit: committed when execute returns
            conn.execute("UPDATE digest_outbox SET state = 'handed', attempts = attempts + 1, "
                         "sent = coalesce(sent, now()) WHERE id = %s", (mail_id,))
            try:
                write()  # straight after the commit: nothing else runs in between
            except BaseException:  # the line was not written: not handed after all
                conn.execute("UPDATE digest_outbox SET state = 'pending' WHERE id = %s "
                             "AND state = 'handed'", (mail_id,))
                raise

    def outbox_counts(self) -> dict[str, int]:
        rows = self._db.rows("SELECT state, count(*) FROM digest_outbox GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    def sent_digests(self, subscription_id: int) -> list[tuple[date, str, str]]:
        rows = self._db.rows("SELECT through, message_id, state FROM digest_outbox "
                             "WHERE subscription = %s ORDER BY id", (subscription_id,))
        return [(r[0], str(r[1]), str(r[2])) for r in rows]

    # -- submissions ----------------------------------------------------------------------
    def add_submission(self, paper_id: str, day: date, user_id: int) -> int | None:
        row = self._db.one(
            "INSERT INTO submissions (paper, day, user_id, state) "
            "SELECT key, %s, %s, 'shown' FROM papers WHERE id = %s "
            "ON CONFLICT (paper, day) DO NOTHING RETURNING id", (day, user_id, paper_id))
        return None if row is None else int(row[0])

    def submissions(self, *, day: date | None = None, user_id: int | None = None,
                    hidden: bool = False) -> list[Submission]:
        rows = self._db.rows(
            f"SELECT s.id, s.day, s.user_id, s.state, s.created, {_NAME.format('s')}, "
            f"{COLUMNS} FROM submissions s JOIN papers p ON p.key = s.paper "
            "LEFT JOIN community_prefs cp ON cp.user_id = s.user_id "
            "WHERE (%(day)s::date IS NULL OR s.day = %(day)s::date) "
            "AND (%(user)s::bigint IS NULL OR s.user_id = %(user)s::bigint) "
            "AND (%(hidden)s OR s.state <> 'hidden') "
            "ORDER BY s.state = 'featured' DESC, s.id",
            {"day": day, "user": user_id, "hidden": hidden})
        return [Submission(id=int(r[0]), paper=row_to_paper(r[6:]), day=r[1],
                           submitter=str(r[5]) if r[2] is not None else None, user_id=r[2],
                           state=r[3], created=r[4]) for r in rows]

    def set_submission_state(self, submission_id: int, state: SubmissionState) -> bool:
        return self._db.one("UPDATE submissions SET state = %s WHERE id = %s RETURNING 1",
                            (state, submission_id)) is not None

    # -- comments -------------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str,
                    parent: int | None = None) -> int | None:
        with self._db.transaction() as conn:
            if parent is not None and conn.execute(
                    "SELECT 1 FROM comments WHERE id = %s AND paper = "
                    "(SELECT key FROM papers WHERE id = %s)", (parent, paper_id)
                    ).fetchone() is None:
                return None
            row = conn.execute(
                "INSERT INTO comments (paper, user_id, parent, body) "
                "SELECT key, %s, %s, %s FROM papers WHERE id = %s RETURNING id",
                (user_id, parent, body, paper_id)).fetchone()
        return None if row is None else int(row[0])

    def comments(self, *, paper_id: str | None = None, user_id: int | None = None,
                 comment_id: int | None = None, hidden: bool = True) -> list[Comment]:
        rows = self._db.rows(
            f"SELECT c.id, p.id, c.user_id, {_NAME.format('c')}, c.body, c.created, "
            "c.parent, c.hidden, c.edited FROM comments c JOIN papers p ON p.key = c.paper "
            "LEFT JOIN community_prefs cp ON cp.user_id = c.user_id "
            "WHERE (%(paper)s::text IS NULL OR p.id = %(paper)s::text) "
            "AND (%(user)s::bigint IS NULL OR c.user_id = %(user)s::bigint) "
            "AND (%(id)s::bigint IS NULL OR c.id = %(id)s::bigint) "
            "AND (%(hidden)s OR NOT c.hidden) ORDER BY c.id",
            {"paper": paper_id, "user": user_id, "id": comment_id, "hidden": hidden})
        return [Comment(id=int(r[0]), paper_id=str(r[1]), user_id=int(r[2]), author=str(r[3]),
                        body=str(r[4]), created=r[5],
                        parent=None if r[6] is None else int(r[6]), hidden=bool(r[7]),
                        edited=r[8]) for r in rows]

    def edit_comment(self, comment_id: int, user_id: int, body: str) -> bool:
        return self._db.one("UPDATE comments SET body = %s, edited = now() WHERE id = %s "
                            "AND user_id = %s RETURNING 1",
                            (body, comment_id, user_id)) is not None

    def remove_comment(self, comment_id: int, user_id: int) -> bool:
        return self._db.one("DELETE FROM comments WHERE id = %s AND user_id = %s RETURNING 1",
                            (comment_id, user_id)) is not None

    def hide_comment(self, comment_id: int, hidden: bool) -> bool:
        return self._db.one("UPDATE comments SET hidden = %s WHERE id = %s RETURNING 1",
                            (hidden, comment_id)) is not None

    def comment_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        if not paper_ids:
            return {}
        rows = self._db.rows(
            "SELECT p.id, count(*) FROM comments c JOIN papers p ON p.key = c.paper "
            "WHERE NOT c.hidden AND p.id = ANY(%s) GROUP BY p.id", (list(paper_ids),))
        return {str(r[0]): int(r[1]) for r in rows}

    # -- preferences ----------------------------------------------------------------------
    def prefs(self, user_id: int) -> Prefs:
        row = self._db.one("SELECT name, notify_replies FROM community_prefs "
                           "WHERE user_id = %s", (user_id,))
        return Prefs(row[0], bool(row[1])) if row else Prefs()

    def set_prefs(self, user_id: int, prefs: Prefs) -> None:
        self._db.one("INSERT INTO community_prefs (user_id, name, notify_replies) "
                     "VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                     "name = excluded.name, notify_replies = excluded.notify_replies "
                     "RETURNING 1", (user_id, prefs.name, prefs.notify_replies))
