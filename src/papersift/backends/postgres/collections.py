"""Collections in PostgreSQL: a person's named lists of saved papers, each paper with an
optional note (a part of :class:`~papersift.backends.postgres.people.PostgresUserStore`).

As in the embedded catalog (:mod:`papersift.catalog.collections`), every statement names
the owner (``user_id = %s``), so a collection id of someone else's behaves exactly like one
that does not exist. Items added together share one moment; their insertion number
(``item``) keeps them in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from papersift.backends.postgres.connections import Database
from papersift.people import Collection, CollectionItem

__all__ = ["CollectionRows"]

_OWNED = "SELECT id FROM collections WHERE id = %s AND user_id = %s"
_COLLECTION = ("SELECT c.id, c.name, c.created, c.updated, (SELECT count(*) FROM "
               "collection_items i WHERE i.collection = c.id) FROM collections c")


def _collection(row: Sequence[Any]) -> Collection:
    return Collection(id=int(row[0]), name=str(row[1]), created=row[2], updated=row[3],
                      size=int(row[4]))


class CollectionRows:
    """Collections and their items."""

    _db: Database

    def add_collection(self, user_id: int, name: str) -> Collection:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO collections (user_id, name) SELECT id, %s FROM users "
                         "WHERE id = %s ON CONFLICT (user_id, name) DO NOTHING",
                         (name, user_id))
            row = conn.execute(f"{_COLLECTION} WHERE c.user_id = %s AND c.name = %s",
                               (user_id, name)).fetchone()
        if row is None:
            raise KeyError(f"no user {user_id}")
        return _collection(row)

    def collections(self, user_id: int) -> list[Collection]:
        rows = self._db.rows(f"{_COLLECTION} WHERE c.user_id = %s "
                             "ORDER BY c.updated DESC, c.id DESC", (user_id,))
        return [_collection(r) for r in rows]

    def rename_collection(self, user_id: int, collection_id: int, name: str) -> bool:
        try:
            return self._db.one("UPDATE collections SET name = %s, updated = now() "
                                "WHERE id = %s AND user_id = %s RETURNING 1",
                                (name, collection_id, user_id)) is not None
        except psycopg.errors.UniqueViolation:
            return False  # the user has another collection of that name

    def remove_collection(self, user_id: int, collection_id: int) -> bool:
        return self._db.one("DELETE FROM collections WHERE id = %s AND user_id = %s "
                            "RETURNING 1", (collection_id, user_id)) is not None

    def add_items(self, user_id: int, collection_id: int,
                  items: Sequence[tuple[str, str | None]]) -> int:
        added = 0
        with self._db.transaction() as conn:
            if conn.execute(f"{_OWNED} FOR NO KEY UPDATE",
                            (collection_id, user_id)).fetchone() is None:
                raise KeyError(f"no collection {collection_id}")
            for paper_id, note in items:
                new = conn.execute(
                    "INSERT INTO collection_items (collection, paper, note) "
                    "SELECT %s, key, %s FROM papers WHERE id = %s ON CONFLICT DO NOTHING "
                    "RETURNING 1", (collection_id, note, paper_id)).fetchone()
                added += new is not None
                if new is None and note:
                    conn.execute("UPDATE collection_items SET note = %s WHERE collection = %s "
                                 "AND paper = (SELECT key FROM papers WHERE id = %s)",
                                 (note, collection_id, paper_id))
            conn.execute("UPDATE collections SET updated = now() WHERE id = %s",
                         (collection_id,))
        return added

    def remove_item(self, user_id: int, collection_id: int, paper_id: str) -> bool:
        with self._db.transaction() as conn:
            done = conn.execute(
                f"DELETE FROM collection_items WHERE collection = ({_OWNED}) AND paper = "
                "(SELECT key FROM papers WHERE id = %s) RETURNING 1",
                (collection_id, user_id, paper_id)).fetchone()
            if done is not None:
                conn.execute("UPDATE collections SET updated = now() WHERE id = %s",
                             (collection_id,))
            return done is not None

    def set_note(self, user_id: int, collection_id: int, paper_id: str,
                 note: str | None) -> bool:
        return self._db.one(
            f"UPDATE collection_items SET note = %s WHERE collection = ({_OWNED}) AND paper = "
            "(SELECT key FROM papers WHERE id = %s) RETURNING 1",
            (note or None, collection_id, user_id, paper_id)) is not None

    def items(self, user_id: int, collection_id: int) -> list[CollectionItem]:
        rows = self._db.rows(
            "SELECT p.id, i.note, i.added FROM collection_items i "
            f"JOIN papers p ON p.key = i.paper WHERE i.collection = ({_OWNED}) "
            "ORDER BY i.added DESC, i.item DESC", (collection_id, user_id))
        return [CollectionItem(str(r[0]), r[1], r[2]) for r in rows]

    def saved_in(self, user_id: int, paper_ids: Sequence[str]) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        rows = self._db.rows(
            "SELECT p.id, c.id FROM collection_items i "
            "JOIN collections c ON c.id = i.collection JOIN papers p ON p.key = i.paper "
            "WHERE c.user_id = %s AND p.id = ANY(%s) ORDER BY c.id",
            (user_id, list(paper_ids)))
        for paper_id, collection_id in rows:
            found.setdefault(str(paper_id), []).append(int(collection_id))
        return found
