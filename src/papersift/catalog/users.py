"""People's rows: accounts, sign-in links, sessions, API tokens, member votes and ratings.

Secrets are stored as digests only. A sign-in link is spent by one ``UPDATE ... WHERE used
IS NULL AND expires > now``: of two requests racing for it, exactly one changes the row.
A member's vote is a row of the ``votes`` table marked with the user, and changes the
paper's ``votes_here`` and ``votes_members`` in the vote's own transaction; removing a user
takes their votes off the counts before the rows go, in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from papersift.catalog.schema import Connections
from papersift.catalog.votes import voted_ids
from papersift.people import ApiToken, Feedback, Rating, SignInLink, User, UserStatus, utcnow

__all__ = ["UserRows", "stamp", "when"]

_USER = "id, email, admin, status, created"


def stamp(moment: datetime) -> str:
    """A moment as stored: UTC, ISO 8601 to the millisecond (text compares in time order)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(id=int(row["id"]), email=row["email"], admin=bool(row["admin"]),
                status=row["status"], created=when(row["created"]))


def _voter(user_id: int) -> str:
    """The voter name of a member's vote row (a cookie voter id never contains ``:``)."""
    return f"user:{int(user_id)}"


class UserRows:
    """Accounts, links, sessions, tokens, member votes, ratings (part of the Catalog)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    # -- accounts -------------------------------------------------------------------------
    def add_user(self, email: str, *, admin: bool = False,
                 status: UserStatus = "active") -> User:
        with self._conns.writing(deadline=10) as db:
            db.execute("INSERT OR IGNORE INTO users (email, admin, status, created) "
                       "VALUES (?, ?, ?, ?)", (email, int(admin), status, stamp(utcnow())))
            row = db.execute(f"SELECT {_USER} FROM users WHERE email = ?", (email,)).fetchone()
        found = _user(row)
        assert found is not None
        return found

    def get_user(self, user_id: int) -> User | None:
        return _user(self._db.execute(f"SELECT {_USER} FROM users WHERE id = ?",
                                      (user_id,)).fetchone())

    def user_by_email(self, email: str) -> User | None:
        return _user(self._db.execute(f"SELECT {_USER} FROM users WHERE email = ?",
                                      (email,)).fetchone())

    def list_users(self) -> list[User]:
        rows = self._db.execute(f"SELECT {_USER} FROM users ORDER BY email").fetchall()
        return [u for u in map(_user, rows) if u is not None]

    def update_user(self, user_id: int, *, admin: bool | None = None,
                    status: UserStatus | None = None) -> User | None:
        with self._conns.writing(deadline=10) as db:
            if admin is not None:
                db.execute("UPDATE users SET admin = ? WHERE id = ?", (int(admin), user_id))
            if status is not None:
                db.execute("UPDATE users SET status = ? WHERE id = ?", (status, user_id))
        return self.get_user(user_id)

    def remove_user(self, user_id: int) -> bool:
        with self._conns.writing(deadline=30) as db:
            row = db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
            if row is None:
                return False
            db.execute(
                "UPDATE papers SET votes_here = votes_here - 1, "
                "votes_members = votes_members - 1 "
                "WHERE rowid IN (SELECT paper FROM votes WHERE user = ?)", (user_id,))
            db.execute("DELETE FROM votes WHERE user = ?", (user_id,))
            # a kept vote must not come back for a later account given the same id
            db.execute("DELETE FROM kept_votes WHERE user = ?", (user_id,))
            db.execute("DELETE FROM sign_in_links WHERE email = ?", (row[0],))
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))  # the rest cascades
        return True

    # -- sign-in links and sessions -------------------------------------------------------
    def add_sign_in(self, link_digest: str, email: str, *, sign_up: bool, expires: datetime,
                    next_path: str = "/") -> None:
        now = stamp(utcnow())
        with self._conns.writing(deadline=10) as db:
            db.execute("DELETE FROM sign_in_links WHERE expires < ?", (now,))
            db.execute(
                "INSERT INTO sign_in_links (digest, email, sign_up, next_path, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (link_digest, email, int(sign_up), next_path, stamp(expires)))

    def use_sign_in(self, link_digest: str, *, now: datetime) -> SignInLink | None:
        with self._conns.writing(deadline=10) as db:
            spent = db.execute(
                "UPDATE sign_in_links SET used = ? WHERE digest = ? AND used IS NULL "
                "AND expires > ?", (stamp(now), link_digest, stamp(now)))
            if spent.rowcount != 1:
                return None
            row = db.execute("SELECT email, sign_up, next_path FROM sign_in_links "
                             "WHERE digest = ?", (link_digest,)).fetchone()
        return SignInLink(email=row[0], sign_up=bool(row[1]), next_path=row[2])

    def add_session(self, session_digest: str, user_id: int, *, expires: datetime) -> None:
        now = stamp(utcnow())
        with self._conns.writing(deadline=10) as db:
            db.execute("DELETE FROM sessions WHERE user = ? AND expires < ?", (user_id, now))
            db.execute("INSERT INTO sessions (digest, user, created, expires) "
                       "VALUES (?, ?, ?, ?)", (session_digest, user_id, now, stamp(expires)))

    def session_user(self, session_digest: str, *, now: datetime) -> User | None:
        row = self._db.execute(
            "SELECT users.id, email, admin, status, users.created FROM sessions "
            "JOIN users ON users.id = sessions.user WHERE sessions.digest = ? "
            "AND sessions.expires > ?", (session_digest, stamp(now))).fetchone()
        return _user(row)

    def remove_session(self, session_digest: str) -> bool:
        with self._conns.writing(deadline=10) as db:
            gone = db.execute("DELETE FROM sessions WHERE digest = ?", (session_digest,))
            return gone.rowcount > 0

    def remove_sessions(self, user_id: int) -> int:
        with self._conns.writing(deadline=10) as db:
            return int(db.execute("DELETE FROM sessions WHERE user = ?", (user_id,)).rowcount)

    def count_sessions(self, user_id: int, *, now: datetime) -> int:
        row = self._db.execute("SELECT count(*) FROM sessions WHERE user = ? AND expires > ?",
                               (user_id, stamp(now))).fetchone()
        return int(row[0])

    # -- API tokens -----------------------------------------------------------------------
    def add_api_token(self, user_id: int, name: str, token_digest: str) -> ApiToken:
        created = utcnow()
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute("INSERT INTO api_tokens (user, name, digest, created) "
                                "VALUES (?, ?, ?, ?)",
                                (user_id, name, token_digest, stamp(created)))
        return ApiToken(id=int(cursor.lastrowid or 0), name=name, created=when(stamp(created)))

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        rows = self._db.execute("SELECT id, name, created, last_used FROM api_tokens "
                                "WHERE user = ? ORDER BY id", (user_id,))
        return [ApiToken(id=int(r[0]), name=r[1], created=when(r[2]),
                         last_used=when(r[3]) if r[3] else None) for r in rows]

    def api_token_user(self, token_digest: str) -> User | None:
        row = self._db.execute(
            "SELECT users.id, email, admin, status, users.created, api_tokens.id AS token, "
            "api_tokens.last_used FROM api_tokens JOIN users ON users.id = api_tokens.user "
            "WHERE api_tokens.digest = ?", (token_digest,)).fetchone()
        if row is None:
            return None
        now = utcnow()
        last = row["last_used"]
        if last is None or (now - when(last)).total_seconds() > 60:  # not a write per call
            with self._conns.writing(deadline=10) as db:
                db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?",
                           (stamp(now), row["token"]))
        return _user(row)

    def remove_api_token(self, user_id: int, token_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            gone = db.execute("DELETE FROM api_tokens WHERE id = ? AND user = ?",
                              (token_id, user_id))
            return gone.rowcount > 0

    # -- member votes ---------------------------------------------------------------------
    def add_member_vote(self, paper_id: str, user_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO votes (paper, voter, created, user) "
                "SELECT papers.rowid, ?, ?, users.id FROM papers, users "
                "WHERE papers.id = ? AND users.id = ?",
                (_voter(user_id), stamp(utcnow()), paper_id, user_id))
            if cursor.rowcount <= 0:
                return False
            db.execute("UPDATE papers SET votes_here = votes_here + 1, "
                       "votes_members = votes_members + 1 WHERE id = ?", (paper_id,))
            return True

    def remove_member_vote(self, paper_id: str, user_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute(
                "DELETE FROM votes WHERE voter = ? AND user = ? AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)", (_voter(user_id), user_id, paper_id))
            if cursor.rowcount <= 0:
                return False
            db.execute("UPDATE papers SET votes_here = votes_here - 1, "
                       "votes_members = votes_members - 1 WHERE id = ?", (paper_id,))
            return True

    def member_voted(self, paper_ids: Sequence[str], user_id: int) -> set[str]:
        return voted_ids(self._db, "votes.user = ?", user_id, paper_ids)

    # -- ratings --------------------------------------------------------------------------
    def set_rating(self, user_id: int, paper_id: str, value: int) -> bool:
        if value not in (-1, 0, 1):
            raise ValueError(f"a rating is -1, 0 (none) or 1, not {value!r}")
        with self._conns.writing(deadline=10) as db:
            row = db.execute("SELECT rowid FROM papers WHERE id = ?", (paper_id,)).fetchone()
            if row is None:
                return False
            if value == 0:
                db.execute("DELETE FROM ratings WHERE user = ? AND paper = ?", (user_id, row[0]))
                return True
            db.execute(
                "INSERT INTO ratings (user, paper, value, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (user, paper) DO UPDATE SET value = excluded.value, "
                "created = excluded.created", (user_id, row[0], value, stamp(utcnow())))
            return True

    def ratings(self, user_id: int, paper_ids: Sequence[str] | None = None) -> list[Rating]:
        query = ("SELECT papers.id, ratings.value, ratings.created FROM ratings "
                 "JOIN papers ON papers.rowid = ratings.paper WHERE ratings.user = ?")
        params: list[object] = [user_id]
        if paper_ids is not None:
            if not paper_ids:
                return []
            found: list[Rating] = []
            for start in range(0, len(paper_ids), 500):
                chunk = list(paper_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"{query} AND papers.id IN ({marks})",
                                        [*params, *chunk])
                found += [Rating(r[0], int(r[1]), when(r[2])) for r in rows]
            return sorted(found, key=lambda r: r.created, reverse=True)
        rows = self._db.execute(f"{query} ORDER BY ratings.created DESC", params)
        return [Rating(r[0], int(r[1]), when(r[2])) for r in rows]

    # -- the feed's evidence --------------------------------------------------------------
    def feedback(self, user_id: int) -> list[Feedback]:
        rows = self._db.execute(
            "SELECT ratings.paper, papers.id, 'rating', ratings.value, ratings.created "
            "FROM ratings JOIN papers ON papers.rowid = ratings.paper WHERE ratings.user = ? "
            "UNION ALL SELECT votes.paper, papers.id, 'vote', 1, votes.created "
            "FROM votes JOIN papers ON papers.rowid = votes.paper WHERE votes.user = ? "
            "UNION ALL SELECT collection_items.paper, papers.id, 'saved', 1, "
            "collection_items.added FROM collection_items "
            "JOIN collections ON collections.id = collection_items.collection "
            "JOIN papers ON papers.rowid = collection_items.paper WHERE collections.user = ?",
            (user_id, user_id, user_id))
        return [Feedback(key=int(r[0]), paper_id=r[1], kind=r[2], value=int(r[3]),
                         at=when(r[4])) for r in rows]
