"""The PostgreSQL user store: people's data beside the papers, in the same database.

:class:`PostgresUserStore` implements :class:`papersift.backends.base.UserStore` from
:mod:`.users` (accounts, links, sessions, tokens, member votes, ratings) and
:mod:`.collections`, and reads out or writes back a whole person for copying a library
(``papersift migrate``): papers travel by id, every moment is kept, and an import is
idempotent (accounts by address, tokens by digest, collections by name, the rest by their
unique keys), so a copy that stopped halfway is finished by running it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from papersift.backends.postgres.collections import CollectionRows
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.users import USER, UserRows, row_user, voter
from papersift.community import Prefs
from papersift.people import (
    Collection,
    CollectionItem,
    PersonRecord,
    Rating,
    TokenRecord,
    User,
)

__all__ = ["PostgresUserStore"]


def _collections(conn: psycopg.Connection[Any], user_id: int) -> tuple[
        tuple[Collection, tuple[CollectionItem, ...]], ...]:
    found = []
    for row in conn.execute("SELECT id, name, created, updated FROM collections "
                            "WHERE user_id = %s ORDER BY id", (user_id,)).fetchall():
        items = tuple(CollectionItem(str(r[0]), r[1], r[2]) for r in conn.execute(
            "SELECT p.id, i.note, i.added FROM collection_items i JOIN papers p "
            "ON p.key = i.paper WHERE i.collection = %s ORDER BY i.added DESC, i.item DESC",
            (row[0],)))
        found.append((Collection(int(row[0]), str(row[1]), row[2], row[3], len(items)), items))
    return tuple(found)


def _kept(conn: psycopg.Connection[Any], user_id: int) -> tuple[
        tuple[tuple[str, datetime], ...], tuple[Rating, ...],
        tuple[tuple[str, CollectionItem], ...]]:
    """A person's marks kept for papers their source deleted: votes, ratings, saves."""
    votes = sorted((str(r[0]), r[1]) for r in conn.execute(
        "SELECT paper_id, created FROM kept_votes WHERE user_id = %s", (user_id,)))
    ratings = sorted((Rating(str(r[0]), int(r[1]), r[2]) for r in conn.execute(
        "SELECT paper_id, value, created FROM kept_ratings WHERE user_id = %s", (user_id,))),
        key=lambda r: (r.paper_id, r.created))
    saves = sorted(((str(r[0]), CollectionItem(str(r[1]), r[2], r[3])) for r in conn.execute(
        "SELECT c.name, k.paper_id, k.note, k.added FROM kept_saves k JOIN collections c "
        "ON c.id = k.collection WHERE c.user_id = %s", (user_id,))),
        key=lambda s: (s[0], s[1].paper_id))
    return tuple(votes), tuple(ratings), tuple(saves)


def _import_kept(conn: psycopg.Connection[Any], user_id: int, record: PersonRecord) -> None:
    """Keep the person's marks on papers the source deleted (idempotent), in this store's
    terms: their vote rows name this store's user, saves its collection of that name."""
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO kept_votes (paper_id, voter, created, user_id) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        [(paper_id, voter(user_id), at, user_id)
                         for paper_id, at in record.kept_votes])
        cur.executemany("INSERT INTO kept_ratings (paper_id, user_id, value, created) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (paper_id, user_id) DO UPDATE "
                        "SET value = excluded.value, created = excluded.created",
                        [(r.paper_id, user_id, r.value, r.created) for r in record.kept_ratings])
        cur.executemany("INSERT INTO kept_saves (paper_id, collection, note, added) "
                        "SELECT %s, id, %s, %s FROM collections WHERE user_id = %s AND name = %s "
                        "ON CONFLICT DO NOTHING",
                        [(item.paper_id, item.note, item.added, user_id, name)
                         for name, item in record.kept_saves])


class PostgresUserStore(UserRows, CollectionRows):
    """People's data in a library's PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def export_person(self, user_id: int) -> PersonRecord | None:
        with self._db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            user = row_user(conn.execute(f"SELECT {USER} FROM users u WHERE u.id = %s",
                                         (user_id,)).fetchone())
            if user is None:
                return None
            tokens = tuple(TokenRecord(str(r[0]), str(r[1]), r[2], r[3]) for r in conn.execute(
                "SELECT name, digest, created, last_used FROM api_tokens WHERE user_id = %s "
                "ORDER BY id", (user_id,)))
            votes = tuple((str(r[0]), r[1]) for r in conn.execute(
                "SELECT p.id, v.created FROM votes v JOIN papers p ON p.key = v.paper "
                "WHERE v.user_id = %s ORDER BY v.created, p.id", (user_id,)))
            ratings = tuple(Rating(str(r[0]), int(r[1]), r[2]) for r in conn.execute(
                "SELECT p.id, r.value, r.created FROM ratings r JOIN papers p ON p.key = r.paper "
                "WHERE r.user_id = %s ORDER BY r.created DESC, p.id", (user_id,)))
            prefs = conn.execute("SELECT name, notify_replies FROM community_prefs "
                                 "WHERE user_id = %s", (user_id,)).fetchone()
            return PersonRecord(user, tokens, votes, ratings, _collections(conn, user_id),
                                *_kept(conn, user_id),
                                prefs=Prefs(prefs[0], bool(prefs[1])) if prefs else None)

    def import_person(self, record: PersonRecord) -> User:
        person = record.user
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO users (email, admin, status, created) "
                         "VALUES (%s, %s, %s, coalesce(%s, now())) ON CONFLICT (email) DO NOTHING",
                         (person.email, person.admin, person.status, person.created))
            user = row_user(conn.execute(f"SELECT {USER} FROM users u WHERE u.email = %s "
                                         "FOR KEY SHARE", (person.email,)).fetchone())
            assert user is not None
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO api_tokens (user_id, name, digest, created, last_used) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (digest) DO NOTHING",
                    [(user.id, t.name, t.digest, t.created, t.last_used)
                     for t in record.tokens])
            _import_votes(conn, user.id, record.votes)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO ratings (user_id, paper, value, created) SELECT %s, key, %s, %s "
                    "FROM papers WHERE id = %s ON CONFLICT (user_id, paper) DO UPDATE SET "
                    "value = excluded.value, created = excluded.created",
                    [(user.id, r.value, r.created, r.paper_id) for r in record.ratings])
            for collection, items in record.collections:
                _import_collection(conn, user.id, collection, items)
            _import_kept(conn, user.id, record)
            if record.prefs is not None:
                conn.execute("INSERT INTO community_prefs (user_id, name, notify_replies) "
                             "VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                             "name = excluded.name, notify_replies = excluded.notify_replies",
                             (user.id, record.prefs.name, record.prefs.notify_replies))
        return user


def _import_votes(conn: psycopg.Connection[Any], user_id: int,
                  votes: tuple[tuple[str, Any], ...]) -> None:
    """Member votes and their papers' counts, in one statement (papers this store lacks,
    and votes it already has, are left out)."""
    if not votes:
        return
    conn.execute(
        "WITH cast_ AS (INSERT INTO votes (paper, voter, created, user_id) "
        "SELECT p.key, %s, x.created, %s FROM unnest(%s::text[], %s::timestamptz[]) "
        "AS x(paper_id, created) JOIN papers p ON p.id = x.paper_id "
        "ON CONFLICT DO NOTHING RETURNING paper) "
        "UPDATE papers p SET votes_here = p.votes_here + 1, "
        "votes_members = p.votes_members + 1 FROM cast_ WHERE p.key = cast_.paper",
        (voter(user_id), user_id, [v[0] for v in votes], [v[1] for v in votes]))


def _import_collection(conn: psycopg.Connection[Any], user_id: int, collection: Collection,
                       items: tuple[CollectionItem, ...]) -> None:
    conn.execute("INSERT INTO collections (user_id, name, created, updated) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, name) DO NOTHING",
                 (user_id, collection.name, collection.created, collection.updated))
    row = conn.execute("SELECT id FROM collections WHERE user_id = %s AND name = %s",
                       (user_id, collection.name)).fetchone()
    assert row is not None
    ordered = list(reversed(items))  # oldest first: items saved together keep their order
    conn.execute(
        "INSERT INTO collection_items (collection, paper, note, added) "
        "SELECT %s, p.key, x.note, x.added FROM unnest(%s::text[], %s::text[], "
        "%s::timestamptz[]) WITH ORDINALITY AS x(paper_id, note, added, n) "
        "JOIN papers p ON p.id = x.paper_id ORDER BY x.n ON CONFLICT DO NOTHING",
        (row[0], [i.paper_id for i in ordered], [i.note for i in ordered],
         [i.added for i in ordered]))
    conn.execute("UPDATE collections SET updated = greatest(updated, %s) WHERE id = %s",
                 (collection.updated, row[0]))
