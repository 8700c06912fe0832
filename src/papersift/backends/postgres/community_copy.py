"""The community's rows in PostgreSQL read out and written back by id, for copying a library
between backends (``papersift migrate``; a part of
:class:`~papersift.backends.postgres.community.PostgresCommunityStore`).

The same rules as the embedded catalog's :mod:`papersift.catalog.community_copy`: every
row keeps its id, members travel by address and papers by id, a row already here under
its id is brought up to the record's state, and a different row holding the id is a
:class:`~papersift.copy_records.CopyConflict`. Rows written with their own ids move each
identity sequence past them, so rows added later get fresh ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from papersift.backends.postgres.connections import Database
from papersift.copy_records import (
    CommentRecord,
    CommunityKind,
    CommunityRecord,
    CopyConflict,
    OutboxRecord,
    SavedSearchRecord,
    SubmissionRecord,
    SubscriptionRecord,
)

__all__ = ["CommunityCopies"]

_EXPORT: dict[CommunityKind, str] = {
    "subscriptions": (
        "SELECT s.id, s.email, u.email, s.frequency, s.status, s.trending, s.picks, s.cursor, "
        "s.created, s.confirmed, s.confirm_digest, s.confirm_expires FROM subscriptions s "
        "LEFT JOIN users u ON u.id = s.user_id WHERE s.id > %s ORDER BY s.id LIMIT %s"),
    "outbox": (
        "SELECT id, subscription, through, message_id, recipient, raw, state, attempts, error, "
        "created, sent FROM digest_outbox WHERE id > %s ORDER BY id LIMIT %s"),
    "submissions": (
        "SELECT s.id, p.id, s.day, u.email, s.state, s.created FROM submissions s JOIN papers p "
        "ON p.key = s.paper LEFT JOIN users u ON u.id = s.user_id WHERE s.id > %s "
        "ORDER BY s.id LIMIT %s"),
    "comments": (
        "SELECT c.id, p.id, u.email, c.parent, c.body, c.hidden, c.created, c.edited "
        "FROM comments c JOIN papers p ON p.key = c.paper JOIN users u ON u.id = c.user_id "
        "WHERE c.id > %s ORDER BY c.id LIMIT %s"),
}
#: Tables whose ids an import writes, and so whose identity sequences it moves on.
_TABLES = ("subscriptions", "saved_searches", "digest_outbox", "submissions", "comments")
Conn = psycopg.Connection[Any]


def _record(conn: Conn, kind: CommunityKind, r: Sequence[Any]) -> CommunityRecord:
    if kind == "subscriptions":
        searches = tuple(SavedSearchRecord(int(s[0]), str(s[1]), str(s[2]), s[3])
                         for s in conn.execute("SELECT id, query, mode, created FROM "
                                               "saved_searches WHERE subscription = %s "
                                               "ORDER BY id", (r[0],)))
        return SubscriptionRecord(int(r[0]), str(r[1]), r[2], r[3], r[4], bool(r[5]),
                                  bool(r[6]), r[7], r[8], r[9], r[10], r[11], searches)
    if kind == "outbox":
        return OutboxRecord(int(r[0]), None if r[1] is None else int(r[1]), r[2], str(r[3]),
                            str(r[4]), bytes(r[5]), r[6], int(r[7]), r[8], r[9], r[10])
    if kind == "submissions":
        return SubmissionRecord(int(r[0]), str(r[1]), r[2], r[3], r[4], r[5])
    return CommentRecord(int(r[0]), str(r[1]), str(r[2]), None if r[3] is None else int(r[3]),
                         str(r[4]), bool(r[5]), r[6], r[7])


def _claim(what: str, row_id: int, found: Sequence[Any] | None,
           same: tuple[object, ...]) -> None:
    """Refuse a record whose id another row holds here (``found``: that row's identity)."""
    if found is not None and tuple(found) != same:
        raise CopyConflict(f"{what} {row_id} of the source is a different {what} here "
                           f"({found[0]!r}); copy into an empty library")


def _subscription(conn: Conn, r: SubscriptionRecord) -> int:
    _claim("subscription", r.id, conn.execute(
        "SELECT email FROM subscriptions WHERE id = %s", (r.id,)).fetchone(), (r.email,))
    _claim("subscription", r.id, conn.execute(
        "SELECT id FROM subscriptions WHERE email = %s", (r.email,)).fetchone(), (r.id,))
    row = conn.execute(
        "INSERT INTO subscriptions AS s (id, email, user_id, frequency, status, trending, picks, "
        "cursor, created, confirmed, confirm_digest, confirm_expires) VALUES (%s, %s, "
        "(SELECT id FROM users WHERE email = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, "
        "frequency = excluded.frequency, status = excluded.status, "
        "trending = excluded.trending, picks = excluded.picks, cursor = excluded.cursor, "
        "confirmed = excluded.confirmed, confirm_digest = excluded.confirm_digest, "
        "confirm_expires = excluded.confirm_expires RETURNING (s.xmax = 0)",
        (r.id, r.email, r.user_email, r.frequency, r.status, r.trending, r.picks, r.cursor,
         r.created, r.confirmed, r.confirm_digest, r.confirm_expires)).fetchone()
    for s in r.searches:
        _claim("saved search", s.id, conn.execute(
            "SELECT subscription, query, mode FROM saved_searches WHERE id = %s",
            (s.id,)).fetchone(), (r.id, s.query, s.mode))
        conn.execute("INSERT INTO saved_searches (id, subscription, query, mode, created) "
                     "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (s.id, r.id, s.query, s.mode, s.created))
    return int(bool(row and row[0]))


def _outbox(conn: Conn, r: OutboxRecord) -> int:
    _claim("digest", r.id, conn.execute("SELECT message_id FROM digest_outbox WHERE id = %s",
                                        (r.id,)).fetchone(), (r.message_id,))
    new = conn.execute(
        "INSERT INTO digest_outbox (id, subscription, through, message_id, recipient, raw, "
        "state, attempts, error, created, sent) VALUES (%s, (SELECT id FROM subscriptions "
        "WHERE id = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING "
        "RETURNING 1", (r.id, r.subscription_id, r.through, r.message_id, r.recipient, r.raw,
                        r.state, r.attempts, r.error, r.created, r.sent)).fetchone()
    conn.execute("UPDATE digest_outbox SET state = %s, attempts = %s, error = %s, sent = %s "
                 "WHERE id = %s", (r.state, r.attempts, r.error, r.sent, r.id))
    return int(new is not None)


def _submission(conn: Conn, r: SubmissionRecord) -> int:
    _claim("submission", r.id, conn.execute(
        "SELECT p.id, s.day FROM submissions s JOIN papers p ON p.key = s.paper "
        "WHERE s.id = %s", (r.id,)).fetchone(), (r.paper_id, r.day))
    new = conn.execute(
        "INSERT INTO submissions (id, paper, day, user_id, state, created) SELECT %s, key, %s, "
        "(SELECT id FROM users WHERE email = %s), %s, %s FROM papers WHERE id = %s "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (r.id, r.day, r.user_email, r.state, r.created, r.paper_id)).fetchone()
    conn.execute("UPDATE submissions SET state = %s WHERE id = %s", (r.state, r.id))
    return int(new is not None)


def _comment(conn: Conn, r: CommentRecord) -> int:
    _claim("comment", r.id, conn.execute(
        "SELECT p.id, u.email, c.created FROM comments c JOIN papers p ON p.key = c.paper "
        "JOIN users u ON u.id = c.user_id WHERE c.id = %s", (r.id,)).fetchone(),
        (r.paper_id, r.user_email, r.created))
    new = conn.execute(
        "INSERT INTO comments (id, paper, user_id, parent, body, hidden, created, edited) "
        "SELECT %s, p.key, u.id, (SELECT id FROM comments WHERE id = %s), %s, %s, %s, %s "
        "FROM papers p, users u WHERE p.id = %s AND u.email = %s ON CONFLICT DO NOTHING "
        "RETURNING 1", (r.id, r.parent, r.body, r.hidden, r.created, r.edited, r.paper_id,
                        r.user_email)).fetchone()
    conn.execute("UPDATE comments SET body = %s, hidden = %s, edited = %s WHERE id = %s",
                 (r.body, r.hidden, r.edited, r.id))
    return int(new is not None)


class CommunityCopies:
    """Export and import of community rows by id."""

    _db: Database

    def export_records(self, kind: CommunityKind, *, after: int,
                       limit: int) -> list[CommunityRecord]:
        with self._db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            rows = conn.execute(_EXPORT[kind], (after, limit)).fetchall()
            return [_record(conn, kind, r) for r in rows]

    def import_records(self, records: Sequence[CommunityRecord]) -> int:
        added = 0
        with self._db.transaction() as conn:
            for record in records:
                if isinstance(record, SubscriptionRecord):
                    added += _subscription(conn, record)
                elif isinstance(record, OutboxRecord):
                    added += _outbox(conn, record)
                elif isinstance(record, SubmissionRecord):
                    added += _submission(conn, record)
                else:
                    added += _comment(conn, record)
            for table in _TABLES:  # past the ids written: later rows get new ones
                conn.execute(
                    "SELECT setval(x.seq, x.top) FROM (SELECT pg_get_serial_sequence("
                    f"'{table}', 'id')::regclass AS seq, max(id) AS top FROM {table}) x "
                    "WHERE x.top > coalesce(pg_sequence_last_value(x.seq), 0)")
        return added
