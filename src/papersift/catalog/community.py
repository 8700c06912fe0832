"""The community's rows: digest subscriptions, saved searches, the digest outbox, papers
submitted to a day's feed, comments, members' preferences.

A digest is recorded by :meth:`CommunityRows.record_digest` in the transaction that moves
its subscription's cursor (a conditional ``UPDATE``: of two senders racing, one wins), so
a digest is planned once or not at all; the outbox row then carries the exact bytes to send
until the SMTP server has them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime

from papersift.catalog.papers import COLUMNS, row_to_paper
from papersift.catalog.schema import Connections
from papersift.catalog.users import stamp, when
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
from papersift.people import utcnow

__all__ = ["CommunityRows"]

_SUB = ("id, email, user, frequency, trending, picks, status, cursor, created")
_OUT = "id, subscription, through, message_id, recipient, raw, state, attempts, error"
_PAPER_COLUMNS = ", ".join(f"papers.{c.strip()}" for c in COLUMNS.split(","))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _outbox(row: sqlite3.Row) -> OutboxMail:
    return OutboxMail(id=int(row["id"]), subscription_id=row["subscription"],
                      through=date.fromisoformat(row["through"]),
                      message_id=row["message_id"], recipient=row["recipient"],
                      raw=bytes(row["raw"]), state=row["state"], attempts=int(row["attempts"]),
                      error=row["error"])


class CommunityRows:
    """Subscriptions, outbox, submissions, comments (a part of the Catalog)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    # -- subscriptions --------------------------------------------------------------------
    def _subscription(self, row: sqlite3.Row | None) -> Subscription | None:
        if row is None:
            return None
        searches = tuple(SavedSearch(int(r[0]), r[1], r[2]) for r in self._db.execute(
            "SELECT id, query, mode FROM saved_searches WHERE subscription = ? ORDER BY id",
            (row["id"],)))
        return Subscription(id=int(row["id"]), email=row["email"], user_id=row["user"],
                            frequency=row["frequency"], status=row["status"],
                            trending=bool(row["trending"]), picks=bool(row["picks"]),
                            cursor=_day(row["cursor"]), created=when(row["created"]),
                            searches=searches)

    def request_subscription(self, email: str, user_id: int | None, frequency: Frequency,
                             confirm_digest: str, expires: datetime) -> Subscription:
        with self._conns.writing(deadline=10) as db:
            db.execute(
                "INSERT INTO subscriptions (email, user, frequency, status, confirm_digest, "
                "confirm_expires, created) VALUES (?, ?, ?, 'pending', ?, ?, ?) "
                "ON CONFLICT (email) DO UPDATE SET confirm_digest = excluded.confirm_digest, "
                "confirm_expires = excluded.confirm_expires, "
                "user = coalesce(excluded.user, user), "
                "frequency = CASE WHEN status = 'active' THEN frequency "
                "ELSE excluded.frequency END, "
                "status = CASE WHEN status = 'active' THEN 'active' ELSE 'pending' END",
                (email, user_id, frequency, confirm_digest, stamp(expires), stamp(utcnow())))
            row = db.execute(f"SELECT {_SUB} FROM subscriptions WHERE email = ?",
                             (email,)).fetchone()
        found = self._subscription(row)
        assert found is not None
        return found

    def confirm_subscription(self, confirm_digest: str, *, now: datetime,
                             cursor: date | None) -> Subscription | None:
        with self._conns.writing(deadline=10) as db:
            found = db.execute("SELECT id FROM subscriptions WHERE confirm_digest = ? AND "
                               "confirm_expires > ?", (confirm_digest, stamp(now))).fetchone()
            if found is None:
                return None
            db.execute(
                "UPDATE subscriptions SET status = 'active', confirmed = ?, "
                "confirm_digest = NULL, cursor = coalesce(cursor, ?) WHERE id = ?",
                (stamp(now), cursor.isoformat() if cursor else None, found[0]))
            row = db.execute(f"SELECT {_SUB} FROM subscriptions WHERE id = ?",
                             (found[0],)).fetchone()
        return self._subscription(row)

    def subscription(self, subscription_id: int) -> Subscription | None:
        return self._subscription(self._db.execute(
            f"SELECT {_SUB} FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone())

    def subscription_by_email(self, email: str) -> Subscription | None:
        return self._subscription(self._db.execute(
            f"SELECT {_SUB} FROM subscriptions WHERE email = ?", (email,)).fetchone())

    def active_subscriptions(self) -> list[Subscription]:
        rows = self._db.execute(f"SELECT {_SUB} FROM subscriptions WHERE status = 'active' "
                                "ORDER BY id").fetchall()
        return [s for s in map(self._subscription, rows) if s is not None]

    def update_subscription(self, subscription_id: int, *, frequency: Frequency | None = None,
                            trending: bool | None = None, picks: bool | None = None) -> bool:
        with self._conns.writing(deadline=10) as db:
            changed = 0
            for column, value in (("frequency", frequency), ("trending", trending),
                                  ("picks", picks)):
                if value is not None:
                    changed += db.execute(
                        f"UPDATE subscriptions SET {column} = ? WHERE id = ?",
                        (int(value) if isinstance(value, bool) else value,
                         subscription_id)).rowcount
            return changed > 0

    def unsubscribe(self, subscription_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            gone = db.execute("UPDATE subscriptions SET status = 'unsubscribed', "
                              "confirm_digest = NULL WHERE id = ? AND status != 'unsubscribed'",
                              (subscription_id,))
            return gone.rowcount > 0

    def remove_subscriptions(self, email: str) -> int:
        with self._conns.writing(deadline=10) as db:
            return int(db.execute("DELETE FROM subscriptions WHERE email = ?",
                                  (email,)).rowcount)

    def add_saved_search(self, subscription_id: int, query: str, mode: str) -> SavedSearch:
        with self._conns.writing(deadline=10) as db:
            db.execute("INSERT OR IGNORE INTO saved_searches (subscription, query, mode, "
                       "created) VALUES (?, ?, ?, ?)",
                       (subscription_id, query, mode, stamp(utcnow())))
            row = db.execute("SELECT id FROM saved_searches WHERE subscription = ? AND "
                             "query = ? AND mode = ?", (subscription_id, query, mode)).fetchone()
        return SavedSearch(int(row[0]), query, mode)

    def remove_saved_search(self, subscription_id: int, search_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            return db.execute("DELETE FROM saved_searches WHERE id = ? AND subscription = ?",
                              (search_id, subscription_id)).rowcount > 0

    # -- the digest outbox ----------------------------------------------------------------
    def record_digest(self, subscription_id: int, cursor: date | None, through: date, *,
                      message_id: str, recipient: str, raw: bytes) -> bool:
        with self._conns.writing(deadline=30) as db:
            moved = db.execute(
                "UPDATE subscriptions SET cursor = ? WHERE id = ? AND status = 'active' "
                "AND cursor IS ?", (through.isoformat(), subscription_id,
                                    cursor.isoformat() if cursor else None))
            if moved.rowcount != 1:
                return False  # another sender recorded it, or the subscription changed
            db.execute(
                "INSERT INTO digest_outbox (subscription, through, message_id, recipient, raw, "
                "state, created) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                (subscription_id, through.isoformat(), message_id, recipient, raw,
                 stamp(utcnow())))
            return True

    def outbox(self, states: Sequence[OutboxState] = ("pending",),
               limit: int = 1000) -> list[OutboxMail]:
        marks = ",".join("?" * len(states))
        rows = self._db.execute(f"SELECT {_OUT} FROM digest_outbox WHERE state IN ({marks}) "
                                "ORDER BY id LIMIT ?", [*states, limit])
        return [_outbox(r) for r in rows]

    def mark_outbox(self, mail_id: int, state: OutboxState, *, error: str | None = None,
                    attempt: bool = False) -> None:
        with self._conns.writing(deadline=30) as db:
            db.execute(
                "UPDATE digest_outbox SET state = ?, error = ?, attempts = attempts + ?, "
                "sent = CASE WHEN ? IN ('handed', 'sent') THEN coalesce(sent, ?) ELSE sent END "
                "WHERE id = ?", (state, error, int(attempt), state, stamp(utcnow()), mail_id))

    def hand_over(self, mail_id: int, write: Callable[[], object]) -> None:
        with self._conns.writing(deadline=30) as db:
            db.execute("UPDATE digest_outbox SET state = 'handed', attempts = attempts + 1, "
                       "sent = coalesce(sent, ?) WHERE id = ?", (stamp(utcnow()), mail_id))
            db.execute("COMMIT")
            try:
                write()  # straight after the commit: nothing else runs in between
            except BaseException:  # the line was not written: not handed after all
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE digest_outbox SET state = 'pending' WHERE id = ?",
                           (mail_id,))
                db.execute("COMMIT")  # committed here: ``writing`` rolls back on the raise
                db.execute("BEGIN")
                raise
            db.execute("BEGIN")  # what ``writing`` ends with a COMMIT

    def outbox_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, count(*) FROM digest_outbox GROUP BY state")
        return {r[0]: int(r[1]) for r in rows}

    def sent_digests(self, subscription_id: int) -> list[tuple[date, str, str]]:
        rows = self._db.execute("SELECT through, message_id, state FROM digest_outbox "
                                "WHERE subscription = ? ORDER BY id", (subscription_id,))
        return [(date.fromisoformat(r[0]), r[1], r[2]) for r in rows]

    # -- submissions ----------------------------------------------------------------------
    def add_submission(self, paper_id: str, day: date, user_id: int) -> int | None:
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO submissions (paper, day, user, state, created) "
                "SELECT rowid, ?, ?, 'shown', ? FROM papers WHERE id = ?",
                (day.isoformat(), user_id, stamp(utcnow()), paper_id))
            return int(cursor.lastrowid) if cursor.rowcount == 1 and cursor.lastrowid else None

    def submissions(self, *, day: date | None = None, user_id: int | None = None,
                    hidden: bool = False) -> list[Submission]:
        where: list[str] = ["1"]
        params: list[object] = []
        if day is not None:
            where.append("submissions.day = ?")
            params.append(day.isoformat())
        if user_id is not None:
            where.append("submissions.user = ?")
            params.append(user_id)
        if not hidden:
            where.append("submissions.state != 'hidden'")
        rows = self._db.execute(
            f"SELECT submissions.id AS sid, submissions.day AS sday, submissions.user AS suser, "
            f"submissions.state AS sstate, submissions.created AS screated, "
            f"coalesce(community_prefs.name, 'member ' || submissions.user) AS sname, "
            f"{_PAPER_COLUMNS} FROM submissions JOIN papers ON papers.rowid = submissions.paper "
            f"LEFT JOIN community_prefs ON community_prefs.user = submissions.user "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY submissions.state = 'featured' DESC, submissions.id", params)
        return [Submission(id=int(r["sid"]), paper=row_to_paper(r), day=date.fromisoformat(
            r["sday"]), submitter=r["sname"] if r["suser"] is not None else None,
            user_id=r["suser"], state=r["sstate"], created=when(r["screated"])) for r in rows]

    def set_submission_state(self, submission_id: int, state: SubmissionState) -> bool:
        with self._conns.writing(deadline=10) as db:
            return db.execute("UPDATE submissions SET state = ? WHERE id = ?",
                              (state, submission_id)).rowcount > 0

    # -- comments -------------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str,
                    parent: int | None = None) -> int | None:
        with self._conns.writing(deadline=10) as db:
            on_paper = parent is None or db.execute(
                "SELECT 1 FROM comments WHERE id = ? AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)", (parent, paper_id)).fetchone()
            if not on_paper:
                return None
            cursor = db.execute(
                "INSERT INTO comments (paper, user, parent, body, created) "
                "SELECT rowid, ?, ?, ?, ? FROM papers WHERE id = ?",
                (user_id, parent, body, stamp(utcnow()), paper_id))
            return int(cursor.lastrowid) if cursor.rowcount == 1 and cursor.lastrowid else None

    def comments(self, *, paper_id: str | None = None, user_id: int | None = None,
                 comment_id: int | None = None, hidden: bool = True) -> list[Comment]:
        where: list[str] = ["1"]
        params: list[object] = []
        for clause, value in (("papers.id = ?", paper_id), ("comments.user = ?", user_id),
                              ("comments.id = ?", comment_id)):
            if value is not None:
                where.append(clause)
                params.append(value)
        if not hidden:
            where.append("comments.hidden = 0")
        rows = self._db.execute(
            "SELECT comments.id, papers.id, comments.user, "
            "coalesce(community_prefs.name, 'member ' || comments.user), comments.body, "
            "comments.created, comments.parent, comments.hidden, comments.edited "
            "FROM comments JOIN papers ON papers.rowid = comments.paper "
            "LEFT JOIN community_prefs ON community_prefs.user = comments.user "
            f"WHERE {' AND '.join(where)} ORDER BY comments.id", params)
        return [Comment(id=int(r[0]), paper_id=r[1], user_id=int(r[2]), author=r[3], body=r[4],
                        created=when(r[5]), parent=r[6], hidden=bool(r[7]),
                        edited=when(r[8]) if r[8] else None) for r in rows]

    def edit_comment(self, comment_id: int, user_id: int, body: str) -> bool:
        with self._conns.writing(deadline=10) as db:
            return db.execute("UPDATE comments SET body = ?, edited = ? WHERE id = ? AND "
                              "user = ?", (body, stamp(utcnow()), comment_id, user_id)).rowcount > 0

    def remove_comment(self, comment_id: int, user_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            return db.execute("DELETE FROM comments WHERE id = ? AND user = ?",
                              (comment_id, user_id)).rowcount > 0

    def hide_comment(self, comment_id: int, hidden: bool) -> bool:
        with self._conns.writing(deadline=10) as db:
            return db.execute("UPDATE comments SET hidden = ? WHERE id = ?",
                              (int(hidden), comment_id)).rowcount > 0

    def comment_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT papers.id, count(*) FROM comments JOIN papers ON papers.rowid = "
                f"comments.paper WHERE comments.hidden = 0 AND papers.id IN ({marks}) "
                "GROUP BY papers.id", chunk)
            found.update((r[0], int(r[1])) for r in rows)
        return found

    # -- preferences ----------------------------------------------------------------------
    def prefs(self, user_id: int) -> Prefs:
        row = self._db.execute("SELECT name, notify_replies FROM community_prefs WHERE "
                               "user = ?", (user_id,)).fetchone()
        return Prefs(row[0], bool(row[1])) if row else Prefs()

    def set_prefs(self, user_id: int, prefs: Prefs) -> None:
        with self._conns.writing(deadline=10) as db:
            db.execute("INSERT INTO community_prefs (user, name, notify_replies) "
                       "VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET name = excluded.name, "
                       "notify_replies = excluded.notify_replies",
                       (user_id, prefs.name, int(prefs.notify_replies)))
