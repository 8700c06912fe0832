"""The community's rows read out and written back by id, for copying a library between
backends (``papersift migrate``; :mod:`papersift.migration`; a part of
:class:`~papersift.catalog.Catalog`).

Every row keeps its id (unsubscribe links sign a subscription's id, Message-IDs name it,
replies name their parent), members travel by address and papers by id. An import is
idempotent: a row already here under its id (same address, message, paper and day, or
author) is brought up to the record's state, and a *different* row holding the id is a
:class:`~papersift.copy_records.CopyConflict` (copy into an empty library).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime

from papersift.catalog.schema import Connections
from papersift.catalog.users import stamp, when
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
        "LEFT JOIN users u ON u.id = s.user WHERE s.id > ? ORDER BY s.id LIMIT ?"),
    "outbox": (
        "SELECT id, subscription, through, message_id, recipient, raw, state, attempts, error, "
        "created, sent FROM digest_outbox WHERE id > ? ORDER BY id LIMIT ?"),
    "submissions": (
        "SELECT s.id, p.id, s.day, u.email, s.state, s.created FROM submissions s JOIN papers p "
        "ON p.rowid = s.paper LEFT JOIN users u ON u.id = s.user WHERE s.id > ? "
        "ORDER BY s.id LIMIT ?"),
    "comments": (
        "SELECT c.id, p.id, u.email, c.parent, c.body, c.hidden, c.created, c.edited "
        "FROM comments c JOIN papers p ON p.rowid = c.paper JOIN users u ON u.id = c.user "
        "WHERE c.id > ? ORDER BY c.id LIMIT ?"),
}


def _moment(text: str | None) -> datetime | None:
    return when(text) if text else None


def _stamp(moment: datetime | None) -> str | None:
    return stamp(moment) if moment else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _record(db: sqlite3.Connection, kind: CommunityKind, r: sqlite3.Row) -> CommunityRecord:
    if kind == "subscriptions":
        searches = tuple(SavedSearchRecord(int(s[0]), s[1], s[2], when(s[3])) for s in db.execute(
            "SELECT id, query, mode, created FROM saved_searches WHERE subscription = ? "
            "ORDER BY id", (r[0],)))
        return SubscriptionRecord(int(r[0]), r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]),
                                  _day(r[7]), when(r[8]), _moment(r[9]), r[10],
                                  _moment(r[11]), searches)
    if kind == "outbox":
        return OutboxRecord(int(r[0]), r[1], date.fromisoformat(r[2]), r[3], r[4], bytes(r[5]),
                            r[6], int(r[7]), r[8], when(r[9]), _moment(r[10]))
    if kind == "submissions":
        return SubmissionRecord(int(r[0]), r[1], date.fromisoformat(r[2]), r[3], r[4],
                                when(r[5]))
    return CommentRecord(int(r[0]), r[1], r[2], r[3], r[4], bool(r[5]), when(r[6]),
                         _moment(r[7]))


def _claim(db: sqlite3.Connection, what: str, row_id: int, found: sqlite3.Row | None,
           same: tuple[object, ...]) -> None:
    """Refuse a record whose id another row holds here (``found``: that row's identity)."""
    if found is not None and tuple(found) != same:
        raise CopyConflict(f"{what} {row_id} of the source is a different {what} here "
                           f"({found[0]!r}); copy into an empty library")


def _subscription(db: sqlite3.Connection, r: SubscriptionRecord) -> int:
    _claim(db, "subscription", r.id, db.execute(
        "SELECT email FROM subscriptions WHERE id = ?", (r.id,)).fetchone(), (r.email,))
    _claim(db, "subscription", r.id, db.execute(
        "SELECT id FROM subscriptions WHERE email = ?", (r.email,)).fetchone(), (r.id,))
    new = db.execute("SELECT NOT EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
                     (r.id,)).fetchone()[0]
    db.execute(
        "INSERT INTO subscriptions (id, email, user, frequency, status, trending, picks, cursor, "
        "created, confirmed, confirm_digest, confirm_expires) VALUES (?, ?, "
        "(SELECT id FROM users WHERE email = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET user = excluded.user, frequency = excluded.frequency, "
        "status = excluded.status, trending = excluded.trending, picks = excluded.picks, "
        "cursor = excluded.cursor, confirmed = excluded.confirmed, "
        "confirm_digest = excluded.confirm_digest, confirm_expires = excluded.confirm_expires",
        (r.id, r.email, r.user_email, r.frequency, r.status, int(r.trending), int(r.picks),
         r.cursor.isoformat() if r.cursor else None, stamp(r.created), _stamp(r.confirmed),
         r.confirm_digest, _stamp(r.confirm_expires)))
    for s in r.searches:
        _claim(db, "saved search", s.id, db.execute(
            "SELECT subscription, query, mode FROM saved_searches WHERE id = ?",
            (s.id,)).fetchone(), (r.id, s.query, s.mode))
        db.execute("INSERT OR IGNORE INTO saved_searches (id, subscription, query, mode, "
                   "created) VALUES (?, ?, ?, ?, ?)", (s.id, r.id, s.query, s.mode,
                                                       stamp(s.created)))
    return int(new)


def _outbox(db: sqlite3.Connection, r: OutboxRecord) -> int:
    _claim(db, "digest", r.id, db.execute("SELECT message_id FROM digest_outbox WHERE id = ?",
                                          (r.id,)).fetchone(), (r.message_id,))
    before = db.total_changes
    db.execute(
        "INSERT OR IGNORE INTO digest_outbox (id, subscription, through, message_id, recipient, "
        "raw, state, attempts, error, created, sent) VALUES (?, (SELECT id FROM subscriptions "
        "WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.id, r.subscription_id, r.through.isoformat(), r.message_id, r.recipient, r.raw,
         r.state, r.attempts, r.error, stamp(r.created), _stamp(r.sent)))
    new = db.total_changes - before
    db.execute("UPDATE digest_outbox SET state = ?, attempts = ?, error = ?, sent = ? "
               "WHERE id = ?", (r.state, r.attempts, r.error, _stamp(r.sent), r.id))
    return new


def _submission(db: sqlite3.Connection, r: SubmissionRecord) -> int:
    _claim(db, "submission", r.id, db.execute(
        "SELECT p.id, s.day FROM submissions s JOIN papers p ON p.rowid = s.paper "
        "WHERE s.id = ?", (r.id,)).fetchone(), (r.paper_id, r.day.isoformat()))
    before = db.total_changes
    db.execute("INSERT OR IGNORE INTO submissions (id, paper, day, user, state, created) "
               "SELECT ?, rowid, ?, (SELECT id FROM users WHERE email = ?), ?, ? FROM papers "
               "WHERE id = ?", (r.id, r.day.isoformat(), r.user_email, r.state, stamp(r.created),
                                r.paper_id))
    new = db.total_changes - before
    db.execute("UPDATE submissions SET state = ? WHERE id = ?", (r.state, r.id))
    return new


def _comment(db: sqlite3.Connection, r: CommentRecord) -> int:
    _claim(db, "comment", r.id, db.execute(
        "SELECT p.id, u.email, c.created FROM comments c JOIN papers p ON p.rowid = c.paper "
        "JOIN users u ON u.id = c.user WHERE c.id = ?", (r.id,)).fetchone(),
        (r.paper_id, r.user_email, stamp(r.created)))
    before = db.total_changes
    db.execute("INSERT OR IGNORE INTO comments (id, paper, user, parent, body, hidden, "
               "created, edited) SELECT ?, p.rowid, u.id, (SELECT id FROM comments WHERE "
               "id = ?), ?, ?, ?, ? FROM papers p, users u WHERE p.id = ? AND u.email = ?",
               (r.id, r.parent, r.body, int(r.hidden), stamp(r.created), _stamp(r.edited),
                r.paper_id, r.user_email))
    new = db.total_changes - before
    db.execute("UPDATE comments SET body = ?, hidden = ?, edited = ? WHERE id = ?",
               (r.body, int(r.hidden), _stamp(r.edited), r.id))
    return new


class CommunityCopies:
    """Export and import of community rows by id (a part of the Catalog)."""

    _conns: Connections

    def export_records(self, kind: CommunityKind, *, after: int,
                       limit: int) -> list[CommunityRecord]:
        db = self._conns.get()
        rows = db.execute(_EXPORT[kind], (after, limit)).fetchall()
        return [_record(db, kind, r) for r in rows]

    def import_records(self, records: Sequence[CommunityRecord]) -> int:
        added = 0
        with self._conns.writing(deadline=30) as db:
            for record in records:
                if isinstance(record, SubscriptionRecord):
                    added += _subscription(db, record)
                elif isinstance(record, OutboxRecord):
                    added += _outbox(db, record)
                elif isinstance(record, SubmissionRecord):
                    added += _submission(db, record)
                else:
                    added += _comment(db, record)
        return added
