"""Paper identities in PostgreSQL: other ids a paper is known by (aliases), papers by
normalised title, and making two ids one paper (a part of
:class:`~papersift.backends.postgres.store.PostgresStore`).

The same outcomes as the embedded catalog's :mod:`papersift.catalog.identities`:
``identify(alias, paper_id)`` makes ``alias`` name the paper ``paper_id`` from now on:

- only ``alias`` is stored: its row takes the id ``paper_id`` (same key, so its votes and
  vector stay with it, the vector current);
- both are stored: ``alias``'s row is folded into ``paper_id``'s (fields it lacks filled,
  votes and aliases moved) and removed, with a tombstone for the derived indexes;
- only ``paper_id`` is stored: the alias is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.papers import _next_seq, _update
from papersift.backends.postgres.rows import COLUMNS, row_to_paper
from papersift.backends.records import fingerprint
from papersift.identity import fill
from papersift.papers import Paper

__all__ = ["IdentityRows"]

_KEY, _ID, _FINGERPRINT, _SEQ = 0, 1, 15, 16


def _row(conn: psycopg.Connection[Any], paper_id: str) -> tuple[Any, ...] | None:
    """The row of a paper by its id or by one of its aliases, locked for this transaction."""
    found = conn.execute(f"SELECT {COLUMNS} FROM papers p WHERE p.id = %s FOR UPDATE",
                         (paper_id,)).fetchone()
    if found is None:
        found = conn.execute(f"SELECT {COLUMNS} FROM aliases a JOIN papers p ON p.key = a.paper "
                             "WHERE a.alias = %s FOR UPDATE OF p", (paper_id,)).fetchone()
    return found


def _alias(conn: psycopg.Connection[Any], alias: str, key: int) -> None:
    conn.execute("INSERT INTO aliases (alias, paper) VALUES (%s, %s) "
                 "ON CONFLICT (alias) DO UPDATE SET paper = excluded.paper", (alias, key))


def _keep_vector(conn: psycopg.Connection[Any], key: int, old_seq: int, seq: int) -> None:
    """The paper's text did not change: a vector current before is current after."""
    conn.execute("UPDATE embedded SET seq = %s WHERE paper = %s AND seq >= %s",
                 (seq, key, old_seq))


class IdentityRows:
    """Aliases and title lookups."""

    _db: Database

    def aliases_of(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """For the given ids that are aliases, the id of the paper each names now."""
        rows = self._db.rows("SELECT a.alias, p.id FROM aliases a JOIN papers p "
                             "ON p.key = a.paper WHERE a.alias = ANY(%s)", (list(paper_ids),))
        return {str(alias): str(paper_id) for alias, paper_id in rows}

    def alias_records(self, after: str, *, limit: int) -> list[tuple[str, str]]:
        """``(alias, paper id)`` of the aliases after ``after``, by alias (byte order)."""
        rows = self._db.rows(
            'SELECT a.alias, p.id FROM aliases a JOIN papers p ON p.key = a.paper '
            'WHERE a.alias > %s COLLATE "C" ORDER BY a.alias COLLATE "C" LIMIT %s',
            (after, limit))
        return [(str(alias), str(paper_id)) for alias, paper_id in rows]

    def import_aliases(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Record ``(alias, paper id)`` pairs (papers not stored here are skipped)."""
        if not pairs:
            return 0
        return len(self._db.rows(
            "INSERT INTO aliases AS a (alias, paper) SELECT x.alias, p.key FROM "
            "unnest(%s::text[], %s::text[]) AS x(alias, paper_id) JOIN papers p "
            "ON p.id = x.paper_id ON CONFLICT (alias) DO UPDATE SET paper = excluded.paper "
            "WHERE a.paper <> excluded.paper RETURNING 1",
            ([a for a, _ in pairs], [p for _, p in pairs])))

    def titled(self, keys: Sequence[str]) -> dict[str, list[Paper]]:
        """Papers whose normalised title (:func:`papersift.identity.title_key`) is one of
        ``keys``, by key."""
        found: dict[str, list[Paper]] = {}
        for row in self._db.rows(f"SELECT {COLUMNS}, p.title_key FROM papers p "
                                 "WHERE p.title_key = ANY(%s) ORDER BY p.key", (list(keys),)):
            found.setdefault(str(row[-1]), []).append(row_to_paper(row))
        return found

    def identify(self, alias: str, paper_id: str) -> None:
        """From now on ``alias`` names the paper ``paper_id`` (see the module docstring)."""
        if alias == paper_id:
            return
        with self._db.transaction() as conn:
            seq = _next_seq(conn)  # the counter's lock first: writers take their turn
            a, p = _row(conn, alias), _row(conn, paper_id)
            if a is None and p is None:
                raise KeyError(f"neither {alias!r} nor {paper_id!r} is stored")
            if p is not None and (a is None or a[_KEY] == p[_KEY]):
                _alias(conn, alias, int(p[_KEY]))
                return
            assert a is not None
            if p is None:
                conn.execute("UPDATE papers SET id = %s, seq = %s, updated_at = now() "
                             "WHERE key = %s", (paper_id, seq, a[_KEY]))
                _keep_vector(conn, int(a[_KEY]), int(a[_SEQ]), seq)
                target = int(a[_KEY])
            else:
                _fold(conn, a, p, seq)
                target = int(p[_KEY])
            _alias(conn, str(a[_ID]), target)
            if alias != a[_ID]:
                _alias(conn, alias, target)
            conn.execute("UPDATE counters SET value = %s WHERE name = 'seq'", (seq,))


def _fold(conn: psycopg.Connection[Any], a: tuple[Any, ...], p: tuple[Any, ...],
          seq: int) -> None:
    """Fold row ``a`` into row ``p``: fields, votes (members' too), ratings, saved items
    and aliases; ``a`` is removed."""
    into, gone = int(p[_KEY]), int(a[_KEY])
    kept = row_to_paper(p)
    merged = fill(kept, row_to_paper(a))
    fp = fingerprint(merged)
    if fp != p[_FINGERPRINT]:
        _update(conn, [(into, merged, fp)], seq)
        if (merged.title, merged.abstract) == (kept.title, kept.abstract):
            _keep_vector(conn, into, int(p[_SEQ]), seq)
    # votes (a member's stay theirs; one person's two votes count once), ratings and saved
    # items go with the paper; its row's own go with the row
    conn.execute("INSERT INTO votes (paper, voter, created, user_id, network) SELECT %s, "
                 "voter, created, user_id, network FROM votes WHERE paper = %s "
                 "ON CONFLICT DO NOTHING",
                 (into, gone))
    conn.execute("UPDATE papers SET votes_here = (SELECT count(*) FROM votes WHERE paper = %s), "
                 "votes_members = (SELECT count(*) FROM votes WHERE paper = %s "
                 "AND user_id IS NOT NULL) WHERE key = %s", (into, into, into))
    conn.execute("INSERT INTO ratings (user_id, paper, value, created) SELECT user_id, %s, "
                 "value, created FROM ratings WHERE paper = %s ON CONFLICT DO NOTHING",
                 (into, gone))
    conn.execute("INSERT INTO collection_items (collection, paper, note, added) "
                 "SELECT collection, %s, note, added FROM collection_items WHERE paper = %s "
                 "ORDER BY item ON CONFLICT DO NOTHING", (into, gone))
    conn.execute("UPDATE aliases SET paper = %s WHERE paper = %s", (into, gone))
    conn.execute("DELETE FROM papers WHERE key = %s", (gone,))
    conn.execute("INSERT INTO removed (key, seq) VALUES (%s, %s) "
                 "ON CONFLICT (key) DO UPDATE SET seq = excluded.seq", (gone, seq))
    conn.execute("UPDATE counters SET value = value - 1 WHERE name = 'papers'")
