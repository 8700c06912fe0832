"""People's rows in PostgreSQL: accounts, sign-in links, sessions, API tokens, member votes
and ratings (a part of :class:`~papersift.backends.postgres.people.PostgresUserStore`).

The same rules as the embedded catalog (:mod:`papersift.catalog.users`), exact with any
number of processes on any number of machines: secrets are stored as digests only; a
sign-in link is spent by one ``UPDATE ... WHERE used IS NULL AND expires > now RETURNING``
(of two requests racing for it, exactly one gets the row); a member's vote is an insert
the ``(paper, voter)`` key makes idempotent plus ``votes_here + 1, votes_members + 1`` in the
same transaction. A vote locks its user's row against removal (``FOR KEY SHARE``) and
removing a user locks it first (``FOR UPDATE``): a vote racing a removal either lands
before it (and is taken off the counts with the rest) or finds no user.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from papersift.backends.postgres.connections import Database
from papersift.people import ApiToken, Feedback, Rating, SignInLink, User, UserStatus

__all__ = ["USER", "UserRows", "row_user", "voter"]

#: The columns a user read selects, in the order :func:`row_user` reads them.
USER = "u.id, u.email, u.admin, u.status, u.created"
_LAST_USE_EVERY = timedelta(seconds=60)  # a token's last use is recorded, not every call


def row_user(row: Sequence[Any] | None) -> User | None:
    if row is None:
        return None
    return User(id=int(row[0]), email=str(row[1]), admin=bool(row[2]), status=row[3],
                created=row[4])


def voter(user_id: int) -> str:
    """The voter name of a member's vote row (a cookie voter id never contains ``:``)."""
    return f"user:{int(user_id)}"


class UserRows:
    """Accounts, links, sessions, tokens, member votes, ratings."""

    _db: Database

    # -- accounts -------------------------------------------------------------------------
    def add_user(self, email: str, *, admin: bool = False,
                 status: UserStatus = "active") -> User:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO users (email, admin, status) VALUES (%s, %s, %s) "
                         "ON CONFLICT (email) DO NOTHING", (email, admin, status))
            found = row_user(conn.execute(f"SELECT {USER} FROM users u WHERE u.email = %s",
                                          (email,)).fetchone())
        assert found is not None
        return found

    def get_user(self, user_id: int) -> User | None:
        return row_user(self._db.one(f"SELECT {USER} FROM users u WHERE u.id = %s",
                                     (user_id,)))

    def user_by_email(self, email: str) -> User | None:
        return row_user(self._db.one(f"SELECT {USER} FROM users u WHERE u.email = %s",
                                     (email,)))

    def list_users(self) -> list[User]:
        rows = self._db.rows(f"SELECT {USER} FROM users u ORDER BY u.email")
        return [u for u in map(row_user, rows) if u is not None]

    def update_user(self, user_id: int, *, admin: bool | None = None,
                    status: UserStatus | None = None) -> User | None:
        return row_user(self._db.one(
            f"UPDATE users u SET admin = coalesce(%s, u.admin), status = coalesce(%s, u.status) "
            f"WHERE u.id = %s RETURNING {USER}", (admin, status, user_id)))

    def remove_user(self, user_id: int) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT email FROM users WHERE id = %s FOR UPDATE",
                               (user_id,)).fetchone()
            if row is None:
                return False
            conn.execute(
                "WITH gone AS (DELETE FROM votes WHERE user_id = %s RETURNING paper) "
                "UPDATE papers p SET votes_here = p.votes_here - 1, "
                "votes_members = p.votes_members - 1 FROM gone WHERE p.key = gone.paper",
                (user_id,))
            # a kept vote (of a paper its source deleted) never returns for them
            conn.execute("DELETE FROM kept_votes WHERE user_id = %s", (user_id,))
            conn.execute("DELETE FROM sign_in_links WHERE email = %s", (row[0],))
            conn.execute("DELETE FROM users WHERE id = %s", (user_id,))  # the rest cascades
        return True

    # -- sign-in links and sessions -------------------------------------------------------
    def add_sign_in(self, link_digest: str, email: str, *, sign_up: bool, expires: datetime,
                    next_path: str = "/") -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sign_in_links WHERE expires < now()")
            conn.execute(
                "INSERT INTO sign_in_links (digest, email, sign_up, next_path, expires) "
                "VALUES (%s, %s, %s, %s, %s)", (link_digest, email, sign_up, next_path, expires))

    def use_sign_in(self, link_digest: str, *, now: datetime) -> SignInLink | None:
        row = self._db.one(
            "UPDATE sign_in_links SET used = %s WHERE digest = %s AND used IS NULL "
            "AND expires > %s RETURNING email, sign_up, next_path",
            (now, link_digest, now))
        return None if row is None else SignInLink(str(row[0]), bool(row[1]), str(row[2]))

    def add_session(self, session_digest: str, user_id: int, *, expires: datetime) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE user_id = %s AND expires < now()",
                         (user_id,))
            conn.execute("INSERT INTO sessions (digest, user_id, expires) VALUES (%s, %s, %s)",
                         (session_digest, user_id, expires))

    def session_user(self, session_digest: str, *, now: datetime) -> User | None:
        return row_user(self._db.one(
            f"SELECT {USER} FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.digest = %s AND s.expires > %s", (session_digest, now)))

    def remove_session(self, session_digest: str) -> bool:
        return self._db.one("DELETE FROM sessions WHERE digest = %s RETURNING 1",
                            (session_digest,)) is not None

    def remove_sessions(self, user_id: int) -> int:
        return len(self._db.rows("DELETE FROM sessions WHERE user_id = %s RETURNING 1",
                                 (user_id,)))

    def count_sessions(self, user_id: int, *, now: datetime) -> int:
        row = self._db.one("SELECT count(*) FROM sessions WHERE user_id = %s AND expires > %s",
                           (user_id, now))
        return int(row[0]) if row else 0

    # -- API tokens -----------------------------------------------------------------------
    def add_api_token(self, user_id: int, name: str, token_digest: str) -> ApiToken:
        row = self._db.one("INSERT INTO api_tokens (user_id, name, digest) "
                           "VALUES (%s, %s, %s) RETURNING id, created",
                           (user_id, name, token_digest))
        assert row is not None
        return ApiToken(id=int(row[0]), name=name, created=row[1])

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        rows = self._db.rows("SELECT id, name, created, last_used FROM api_tokens "
                             "WHERE user_id = %s ORDER BY id", (user_id,))
        return [ApiToken(id=int(r[0]), name=str(r[1]), created=r[2], last_used=r[3])
                for r in rows]

    def api_token_user(self, token_digest: str) -> User | None:
        row = self._db.one(
            f"SELECT {USER}, t.id, (t.last_used < now() - %s) IS NOT FALSE FROM api_tokens t "
            "JOIN users u ON u.id = t.user_id WHERE t.digest = %s",
            (_LAST_USE_EVERY, token_digest))
        if row is None:
            return None
        if row[6]:  # never used, or not for a minute
            self._db.one("UPDATE api_tokens SET last_used = now() WHERE id = %s RETURNING 1",
                         (row[5],))
        return row_user(row)

    def remove_api_token(self, user_id: int, token_id: int) -> bool:
        return self._db.one("DELETE FROM api_tokens WHERE id = %s AND user_id = %s RETURNING 1",
                            (token_id, user_id)) is not None

    # -- member votes ---------------------------------------------------------------------
    def add_member_vote(self, paper_id: str, user_id: int) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute(
                "INSERT INTO votes (paper, voter, user_id) "
                "SELECT p.key, %s, u.id FROM papers p, users u WHERE p.id = %s AND u.id = %s "
                "FOR KEY SHARE OF p, u ON CONFLICT DO NOTHING RETURNING paper",
                (voter(user_id), paper_id, user_id)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE papers SET votes_here = votes_here + 1, "
                         "votes_members = votes_members + 1 WHERE key = %s", (row[0],))
            return True

    def remove_member_vote(self, paper_id: str, user_id: int) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute(
                "DELETE FROM votes WHERE voter = %s AND user_id = %s AND paper = "
                "(SELECT key FROM papers WHERE id = %s) RETURNING paper",
                (voter(user_id), user_id, paper_id)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE papers SET votes_here = votes_here - 1, "
                         "votes_members = votes_members - 1 WHERE key = %s", (row[0],))
            return True

    def member_voted(self, paper_ids: Sequence[str], user_id: int) -> set[str]:
        rows = self._db.rows(
            "SELECT p.id FROM papers p JOIN votes v ON v.paper = p.key "
            "WHERE v.user_id = %s AND p.id = ANY(%s)", (user_id, list(paper_ids)))
        return {str(r[0]) for r in rows}

    # -- ratings --------------------------------------------------------------------------
    def set_rating(self, user_id: int, paper_id: str, value: int) -> bool:
        if value not in (-1, 0, 1):
            raise ValueError(f"a rating is -1, 0 (none) or 1, not {value!r}")
        with self._db.transaction() as conn:
            found = conn.execute("SELECT key FROM papers WHERE id = %s FOR KEY SHARE",
                                 (paper_id,)).fetchone()
            if found is None:
                return False
            if value == 0:
                conn.execute("DELETE FROM ratings WHERE user_id = %s AND paper = %s",
                             (user_id, found[0]))
                return True
            conn.execute(
                "INSERT INTO ratings (user_id, paper, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, paper) DO UPDATE SET value = excluded.value, "
                "created = excluded.created", (user_id, found[0], value))
            return True

    def ratings(self, user_id: int, paper_ids: Sequence[str] | None = None) -> list[Rating]:
        if paper_ids is not None and not paper_ids:
            return []
        rows = self._db.rows(
            "SELECT p.id, r.value, r.created FROM ratings r JOIN papers p ON p.key = r.paper "
            "WHERE r.user_id = %s AND (%s::text[] IS NULL OR p.id = ANY(%s::text[])) "
            "ORDER BY r.created DESC",
            (user_id, None if paper_ids is None else list(paper_ids),
             None if paper_ids is None else list(paper_ids)))
        return [Rating(str(r[0]), int(r[1]), r[2]) for r in rows]

    # -- the feed's evidence --------------------------------------------------------------
    def feedback(self, user_id: int) -> list[Feedback]:
        rows = self._db.rows(
            "SELECT r.paper, p.id, 'rating', r.value, r.created FROM ratings r "
            "JOIN papers p ON p.key = r.paper WHERE r.user_id = %(user)s "
            "UNION ALL SELECT v.paper, p.id, 'vote', 1, v.created FROM votes v "
            "JOIN papers p ON p.key = v.paper WHERE v.user_id = %(user)s "
            "UNION ALL SELECT i.paper, p.id, 'saved', 1, i.added FROM collection_items i "
            "JOIN collections c ON c.id = i.collection JOIN papers p ON p.key = i.paper "
            "WHERE c.user_id = %(user)s", {"user": user_id})
        return [Feedback(key=int(r[0]), paper_id=str(r[1]), kind=r[2], value=int(r[3]),
                         at=r[4]) for r in rows]
