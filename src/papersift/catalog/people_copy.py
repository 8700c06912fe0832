"""A person's data read out whole and written back whole, for copying a library between
backends (``papersift migrate``; :mod:`papersift.migration`).

Papers travel by id (keys differ between libraries), every moment is kept, and an import
is idempotent (accounts by address, tokens by digest, collections by name, the rest by
their unique keys), so a copy that stopped halfway is finished by running it again. A
member vote imported changes the paper's counts in the same transaction, as any vote does.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from papersift.catalog.schema import Connections
from papersift.catalog.users import stamp, when
from papersift.community import Prefs
from papersift.people import (
    Collection,
    CollectionItem,
    PersonRecord,
    Rating,
    TokenRecord,
    User,
    utcnow,
)

__all__ = ["PersonCopies"]


def _collections(db: sqlite3.Connection,
                 user_id: int) -> tuple[tuple[Collection, tuple[CollectionItem, ...]], ...]:
    found = []
    for row in db.execute("SELECT id, name, created, updated FROM collections "
                          "WHERE user = ? ORDER BY id", (user_id,)).fetchall():
        items = tuple(CollectionItem(r[0], r[1], when(r[2])) for r in db.execute(
            "SELECT papers.id, collection_items.note, collection_items.added "
            "FROM collection_items JOIN papers ON papers.rowid = collection_items.paper "
            "WHERE collection_items.collection = ? "
            "ORDER BY collection_items.added DESC, collection_items.rowid DESC", (row[0],)))
        found.append((Collection(int(row[0]), row[1], when(row[2]), when(row[3]), len(items)),
                      items))
    return tuple(found)


def _kept(db: sqlite3.Connection, user_id: int) -> tuple[
        tuple[tuple[str, datetime], ...], tuple[Rating, ...],
        tuple[tuple[str, CollectionItem], ...]]:
    """A person's marks kept for papers their source deleted: votes, ratings, saves."""
    votes = sorted((r[0], when(r[1])) for r in db.execute(
        "SELECT paper_id, created FROM kept_votes WHERE user = ?", (user_id,)))
    ratings = sorted((Rating(r[0], int(r[1]), when(r[2])) for r in db.execute(
        "SELECT paper_id, value, created FROM kept_ratings WHERE user = ?", (user_id,))),
        key=lambda r: (r.paper_id, r.created))
    saves = sorted(((r[0], CollectionItem(r[1], r[2], when(r[3]))) for r in db.execute(
        "SELECT collections.name, kept_saves.paper_id, kept_saves.note, kept_saves.added "
        "FROM kept_saves JOIN collections ON collections.id = kept_saves.collection "
        "WHERE collections.user = ?", (user_id,))), key=lambda s: (s[0], s[1].paper_id))
    return tuple(votes), tuple(ratings), tuple(saves)


def _prefs(db: sqlite3.Connection, user_id: int) -> Prefs | None:
    row = db.execute("SELECT name, notify_replies FROM community_prefs WHERE user = ?",
                     (user_id,)).fetchone()
    return Prefs(row[0], bool(row[1])) if row else None


def _import_kept(db: sqlite3.Connection, user_id: int, record: PersonRecord) -> None:
    """Keep the person's marks on papers the source deleted (idempotent), in the target's
    terms: their vote rows name the target's user, saves its collection of that name."""
    db.executemany("INSERT OR IGNORE INTO kept_votes (paper_id, voter, created, user) "
                   "VALUES (?, ?, ?, ?)", [(paper_id, f"user:{user_id}", stamp(at), user_id)
                                           for paper_id, at in record.kept_votes])
    db.executemany("INSERT INTO kept_ratings (paper_id, user, value, created) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (paper_id, user) DO UPDATE SET "
                   "value = excluded.value, created = excluded.created",
                   [(r.paper_id, user_id, r.value, stamp(r.created))
                    for r in record.kept_ratings])
    db.executemany("INSERT OR IGNORE INTO kept_saves (paper_id, collection, note, added) "
                   "SELECT ?, id, ?, ? FROM collections WHERE user = ? AND name = ?",
                   [(item.paper_id, item.note, stamp(item.added), user_id, name)
                    for name, item in record.kept_saves])


class PersonCopies:
    """Export and import of whole persons (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    def export_person(self, user_id: int) -> PersonRecord | None:
        db = self._conns.get()
        db.execute("BEGIN")  # one snapshot of everything of theirs
        try:
            row = db.execute("SELECT id, email, admin, status, created FROM users "
                             "WHERE id = ?", (user_id,)).fetchone()
            if row is None:
                return None
            user = User(int(row[0]), row[1], bool(row[2]), row[3], when(row[4]))
            tokens = tuple(TokenRecord(r[0], r[1], when(r[2]), when(r[3]) if r[3] else None)
                           for r in db.execute("SELECT name, digest, created, last_used FROM "
                                               "api_tokens WHERE user = ? ORDER BY id",
                                               (user_id,)))
            votes = tuple((r[0], when(r[1])) for r in db.execute(
                "SELECT papers.id, votes.created FROM votes JOIN papers ON "
                "papers.rowid = votes.paper WHERE votes.user = ? ORDER BY votes.created, "
                "papers.id", (user_id,)))
            ratings = tuple(Rating(r[0], int(r[1]), when(r[2])) for r in db.execute(
                "SELECT papers.id, ratings.value, ratings.created FROM ratings JOIN papers "
                "ON papers.rowid = ratings.paper WHERE ratings.user = ? "
                "ORDER BY ratings.created DESC, papers.id", (user_id,)))
            return PersonRecord(user, tokens, votes, ratings, _collections(db, user_id),
                                *_kept(db, user_id), prefs=_prefs(db, user_id))
        finally:
            db.execute("COMMIT")

    def import_person(self, record: PersonRecord) -> User:
        person = record.user
        with self._conns.writing(deadline=30) as db:
            db.execute("INSERT OR IGNORE INTO users (email, admin, status, created) "
                       "VALUES (?, ?, ?, ?)", (person.email, int(person.admin), person.status,
                                               stamp(person.created or utcnow())))
            row = db.execute("SELECT id, email, admin, status, created FROM users "
                             "WHERE email = ?", (person.email,)).fetchone()
            user_id = int(row[0])
            db.executemany(
                "INSERT OR IGNORE INTO api_tokens (user, name, digest, created, last_used) "
                "VALUES (?, ?, ?, ?, ?)",
                [(user_id, t.name, t.digest, stamp(t.created),
                  stamp(t.last_used) if t.last_used else None) for t in record.tokens])
            for paper_id, at in record.votes:
                cast = db.execute(
                    "INSERT OR IGNORE INTO votes (paper, voter, created, user) "
                    "SELECT rowid, ?, ?, ? FROM papers WHERE id = ?",
                    (f"user:{user_id}", stamp(at), user_id, paper_id))
                if cast.rowcount > 0:
                    db.execute("UPDATE papers SET votes_here = votes_here + 1, "
                               "votes_members = votes_members + 1 WHERE id = ?", (paper_id,))
            db.executemany(
                "INSERT INTO ratings (user, paper, value, created) SELECT ?, rowid, ?, ? "
                "FROM papers WHERE id = ? ON CONFLICT (user, paper) DO UPDATE SET "
                "value = excluded.value, created = excluded.created",
                [(user_id, r.value, stamp(r.created), r.paper_id) for r in record.ratings])
            for collection, items in record.collections:
                _import_collection(db, user_id, collection, items)
            _import_kept(db, user_id, record)
            if record.prefs is not None:
                db.execute("INSERT INTO community_prefs (user, name, notify_replies) "
                           "VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET "
                           "name = excluded.name, notify_replies = excluded.notify_replies",
                           (user_id, record.prefs.name, int(record.prefs.notify_replies)))
        return User(user_id, row[1], bool(row[2]), row[3], when(row[4]))


def _import_collection(db: sqlite3.Connection, user_id: int, collection: Collection,
                       items: tuple[CollectionItem, ...]) -> None:
    db.execute("INSERT OR IGNORE INTO collections (user, name, created, updated) "
               "VALUES (?, ?, ?, ?)", (user_id, collection.name, stamp(collection.created),
                                       stamp(collection.updated)))
    found = db.execute("SELECT id FROM collections WHERE user = ? AND name = ?",
                       (user_id, collection.name)).fetchone()
    db.executemany(  # oldest first: items added at the same moment keep their order
        "INSERT OR IGNORE INTO collection_items (collection, paper, note, added) "
        "SELECT ?, rowid, ?, ? FROM papers WHERE id = ?",
        [(found[0], i.note, stamp(i.added), i.paper_id) for i in reversed(items)])
    db.execute("UPDATE collections SET updated = max(updated, ?) WHERE id = ?",
               (stamp(collection.updated), found[0]))
