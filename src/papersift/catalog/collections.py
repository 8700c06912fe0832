"""Collections: a person's named lists of saved papers, each paper with an optional note.

Every statement names the owner (``collections.user = ?``), so a collection id of someone
else's behaves exactly like one that does not exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from papersift.catalog.schema import Connections
from papersift.catalog.users import stamp, when
from papersift.people import Collection, CollectionItem, utcnow

__all__ = ["CollectionRows"]

_OWNED = "SELECT id FROM collections WHERE id = ? AND user = ?"


def _collection(row: sqlite3.Row) -> Collection:
    return Collection(id=int(row[0]), name=row[1], created=when(row[2]), updated=when(row[3]),
                      size=int(row[4]))


class CollectionRows:
    """Collections and their items (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    def add_collection(self, user_id: int, name: str) -> Collection:
        now = stamp(utcnow())
        with self._conns.writing(deadline=10) as db:
            db.execute("INSERT OR IGNORE INTO collections (user, name, created, updated) "
                       "SELECT id, ?, ?, ? FROM users WHERE id = ?", (name, now, now, user_id))
            row = db.execute(
                "SELECT id, name, created, updated, (SELECT count(*) FROM collection_items "
                "WHERE collection = collections.id) FROM collections WHERE user = ? AND name = ?",
                (user_id, name)).fetchone()
        if row is None:
            raise KeyError(f"no user {user_id}")
        return _collection(row)

    def collections(self, user_id: int) -> list[Collection]:
        rows = self._db.execute(
            "SELECT id, name, created, updated, (SELECT count(*) FROM collection_items "
            "WHERE collection = collections.id) FROM collections WHERE user = ? "
            "ORDER BY updated DESC, id DESC", (user_id,))
        return [_collection(r) for r in rows]

    def rename_collection(self, user_id: int, collection_id: int, name: str) -> bool:
        with self._conns.writing(deadline=10) as db:
            try:
                done = db.execute("UPDATE collections SET name = ?, updated = ? "
                                  "WHERE id = ? AND user = ?",
                                  (name, stamp(utcnow()), collection_id, user_id))
            except sqlite3.IntegrityError:
                return False  # the user has another collection of that name
            return done.rowcount > 0

    def remove_collection(self, user_id: int, collection_id: int) -> bool:
        with self._conns.writing(deadline=10) as db:
            done = db.execute("DELETE FROM collections WHERE id = ? AND user = ?",
                              (collection_id, user_id))
            return done.rowcount > 0

    def add_items(self, user_id: int, collection_id: int,
                  items: Sequence[tuple[str, str | None]]) -> int:
        now = stamp(utcnow())
        added = 0
        with self._conns.writing(deadline=30) as db:
            if db.execute(_OWNED, (collection_id, user_id)).fetchone() is None:
                raise KeyError(f"no collection {collection_id}")
            for paper_id, note in items:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO collection_items (collection, paper, note, added) "
                    "SELECT ?, rowid, ?, ? FROM papers WHERE id = ?",
                    (collection_id, note, now, paper_id))
                added += max(cursor.rowcount, 0)
                if cursor.rowcount <= 0 and note:
                    db.execute("UPDATE collection_items SET note = ? WHERE collection = ? AND "
                               "paper = (SELECT rowid FROM papers WHERE id = ?)",
                               (note, collection_id, paper_id))
            db.execute("UPDATE collections SET updated = ? WHERE id = ?", (now, collection_id))
        return added

    def remove_item(self, user_id: int, collection_id: int, paper_id: str) -> bool:
        with self._conns.writing(deadline=10) as db:
            done = db.execute(
                f"DELETE FROM collection_items WHERE collection = ({_OWNED}) AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)", (collection_id, user_id, paper_id))
            if done.rowcount > 0:
                db.execute("UPDATE collections SET updated = ? WHERE id = ?",
                           (stamp(utcnow()), collection_id))
            return done.rowcount > 0

    def set_note(self, user_id: int, collection_id: int, paper_id: str,
                 note: str | None) -> bool:
        with self._conns.writing(deadline=10) as db:
            done = db.execute(
                f"UPDATE collection_items SET note = ? WHERE collection = ({_OWNED}) AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)",
                (note or None, collection_id, user_id, paper_id))
            return done.rowcount > 0

    def items(self, user_id: int, collection_id: int) -> list[CollectionItem]:
        rows = self._db.execute(
            "SELECT papers.id, collection_items.note, collection_items.added "
            "FROM collection_items JOIN papers ON papers.rowid = collection_items.paper "
            f"WHERE collection_items.collection = ({_OWNED}) "
            "ORDER BY collection_items.added DESC, collection_items.rowid DESC",
            (collection_id, user_id))
        return [CollectionItem(r[0], r[1], when(r[2])) for r in rows]

    def saved_in(self, user_id: int, paper_ids: Sequence[str]) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT papers.id, collections.id FROM collection_items "
                "JOIN collections ON collections.id = collection_items.collection "
                "JOIN papers ON papers.rowid = collection_items.paper "
                f"WHERE collections.user = ? AND papers.id IN ({marks}) "
                "ORDER BY collections.id", [user_id, *chunk])
            for paper_id, collection_id in rows:
                found.setdefault(paper_id, []).append(int(collection_id))
        return found
