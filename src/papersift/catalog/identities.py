"""Paper identities: other ids a paper is known by (aliases), papers by normalised title,
and making two ids one paper (a part of :class:`~papersift.catalog.Catalog`).

The rule deciding that two records are one paper lives in :mod:`papersift.identity`; this
module stores the outcome. ``identify(alias, paper_id)`` makes ``alias`` name the paper
``paper_id`` from now on, whatever is stored:

- only ``alias`` is stored: its row takes the id ``paper_id`` (same key, so its votes and
  vector stay with it; the vector stays current, the text being unchanged);
- both are stored: ``alias``'s row is folded into ``paper_id``'s (fields it lacks filled,
  votes moved, aliases moved) and removed, with a tombstone for the derived indexes;
- only ``paper_id`` is stored: the alias is recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from papersift.catalog.papers import (
    COLUMNS,
    _fingerprint,
    _get_meta,
    _put_meta,
    _write,
    now,
    row_to_paper,
)
from papersift.catalog.schema import Connections
from papersift.identity import fill
from papersift.papers import Paper

__all__ = ["IdentityRows"]


def _row(db: sqlite3.Connection, paper_id: str) -> sqlite3.Row | None:
    """The row of a paper by its id or by one of its aliases."""
    found = db.execute(f"SELECT {COLUMNS} FROM papers WHERE id = ?", (paper_id,)).fetchone()
    if found is None:
        found = db.execute(
            f"SELECT {', '.join('p.' + c.strip() for c in COLUMNS.split(','))} FROM aliases "
            "JOIN papers AS p ON p.rowid = aliases.paper WHERE aliases.alias = ?",
            (paper_id,)).fetchone()
    return found


def _alias(db: sqlite3.Connection, alias: str, key: int) -> None:
    db.execute("INSERT INTO aliases (alias, paper) VALUES (?, ?) "
               "ON CONFLICT (alias) DO UPDATE SET paper = excluded.paper", (alias, key))


def _keep_vector(db: sqlite3.Connection, key: int, old_seq: int, seq: int) -> None:
    """The paper's text did not change: a vector current before is current after."""
    db.execute("UPDATE embedded SET seq = ? WHERE paper = ? AND seq >= ?", (seq, key, old_seq))


class IdentityRows:
    """Aliases and title lookups (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    def get(self, paper_id: str) -> Paper | None:
        """A paper by its id or by any id it was merged from."""
        found = _row(self._conns.get(), paper_id)
        return row_to_paper(found) if found else None

    def aliases_of(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """For the given ids that are aliases, the id of the paper each names now."""
        found: dict[str, str] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._conns.get().execute(
                    f"SELECT aliases.alias, papers.id FROM aliases JOIN papers ON "
                    f"papers.rowid = aliases.paper WHERE aliases.alias IN ({marks})", chunk):
                found[str(row[0])] = str(row[1])
        return found

    def alias_records(self, after: str, *, limit: int) -> list[tuple[str, str]]:
        """``(alias, paper id)`` of the aliases after ``after``, by alias."""
        rows = self._conns.get().execute(
            "SELECT aliases.alias, papers.id FROM aliases JOIN papers ON papers.rowid = "
            "aliases.paper WHERE aliases.alias > ? ORDER BY aliases.alias LIMIT ?",
            (after, limit))
        return [(str(r[0]), str(r[1])) for r in rows]

    def import_aliases(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Record ``(alias, paper id)`` pairs (papers not stored here are skipped)."""
        with self._conns.writing() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO aliases (alias, paper) SELECT ?, rowid FROM papers WHERE id = ? "
                "ON CONFLICT (alias) DO UPDATE SET paper = excluded.paper "
                "WHERE paper != excluded.paper", list(pairs))
            return db.total_changes - before

    def titled(self, keys: Sequence[str]) -> dict[str, list[Paper]]:
        """Papers whose normalised title (:func:`papersift.identity.title_key`) is one of
        ``keys``, by key."""
        found: dict[str, list[Paper]] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._conns.get().execute(
                    f"SELECT {COLUMNS}, title_key FROM papers WHERE title_key IN ({marks})",
                    chunk):
                found.setdefault(row["title_key"], []).append(row_to_paper(row))
        return found

    def identify(self, alias: str, paper_id: str) -> None:
        """From now on ``alias`` names the paper ``paper_id`` (see the module docstring)."""
        if alias == paper_id:
            return
        with self._conns.writing() as db:
            a, p = _row(db, alias), _row(db, paper_id)
            if a is None and p is None:
                raise KeyError(f"neither {alias!r} nor {paper_id!r} is stored")
            if p is not None and (a is None or a["rowid"] == p["rowid"]):
                _alias(db, alias, p["rowid"])
                return
            assert a is not None
            seq = int(_get_meta(db, "seq") or 0) + 1
            if p is None:
                db.execute("UPDATE papers SET id = ?, seq = ?, updated_at = ? WHERE rowid = ?",
                           (paper_id, seq, now(), a["rowid"]))
                _keep_vector(db, a["rowid"], a["seq"], seq)
            else:
                self._fold(db, a, p, seq)
            _alias(db, a["id"], a["rowid"] if p is None else p["rowid"])
            if alias != a["id"]:
                _alias(db, alias, a["rowid"] if p is None else p["rowid"])
            _put_meta(db, "seq", str(seq))

    @staticmethod
    def _fold(db: sqlite3.Connection, a: sqlite3.Row, p: sqlite3.Row, seq: int) -> None:
        """Fold row ``a`` into row ``p``: fields, votes and aliases; ``a`` is removed."""
        kept = row_to_paper(p)
        merged = fill(kept, row_to_paper(a))
        fingerprint = _fingerprint(merged)
        if fingerprint != p["fingerprint"]:
            _write(db, merged, fingerprint, seq, now(), p["rowid"])
            if (merged.title, merged.abstract) == (kept.title, kept.abstract):
                _keep_vector(db, p["rowid"], p["seq"], seq)
        into, gone = p["rowid"], a["rowid"]
        # votes (a member's stay theirs; one person's two votes count once), ratings and
        # saved items go with the paper; its row's own go with the row
        db.execute("INSERT OR IGNORE INTO votes (paper, voter, created, user, network) "
                   "SELECT ?, voter, created, user, network FROM votes WHERE paper = ?",
                   (into, gone))
        db.execute("UPDATE papers SET votes_here = (SELECT count(*) FROM votes WHERE paper = ?), "
                   "votes_members = (SELECT count(*) FROM votes WHERE paper = ? "
                   "AND user IS NOT NULL) WHERE rowid = ?", (into, into, into))
        db.execute("INSERT OR IGNORE INTO ratings (user, paper, value, created) "
                   "SELECT user, ?, value, created FROM ratings WHERE paper = ?", (into, gone))
        db.execute("INSERT OR IGNORE INTO collection_items (collection, paper, note, added) "
                   "SELECT collection, ?, note, added FROM collection_items WHERE paper = ?",
                   (into, gone))
        db.execute("UPDATE aliases SET paper = ? WHERE paper = ?", (p["rowid"], a["rowid"]))
        db.execute("DELETE FROM papers WHERE rowid = ?", (a["rowid"],))
        db.execute("INSERT OR REPLACE INTO removed (rowid, seq) VALUES (?, ?)", (a["rowid"], seq))

