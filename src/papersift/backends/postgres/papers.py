"""Paper rows in PostgreSQL: upserts with change numbers, reads, the change log, embedding
state and filters (a part of :class:`~papersift.backends.postgres.store.PostgresStore`).

The same rules as the embedded catalog (:mod:`papersift.catalog.papers`): each write batch
that changes anything gets the next change number, identical records change nothing, a
record read again merges with the stored one (:func:`papersift.backends.records.merge_records`),
removals leave a tombstone. Writers take the ``seq`` counter's row lock first, so change
numbers follow commit order across any number of processes and machines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from papersift.backends.base import Change, UpsertCounts
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.filters import filter_sql
from papersift.backends.postgres.rows import COLUMNS, row_change, row_to_paper
from papersift.backends.records import fingerprint, merge_records
from papersift.identity import title_key
from papersift.papers import Paper
from papersift.query import Filters, name_key

__all__ = ["PaperRows"]

_PAPER_FIELDS = ("key, id, version, title, abstract, authors, author_count, published, "
                 "categories, organization, upvotes, abs_url, pdf_url, code_urls, comment, "
                 "fingerprint, seq, submitter, title_key")


def _values(key: int, p: Paper, fp: str, seq: int) -> tuple[Any, ...]:
    return (key, p.id, p.version, p.title, p.abstract, list(p.authors), p.author_count,
            p.published, list(p.categories), p.organization, p.upvotes, p.links.abs,
            p.links.pdf, list(p.links.code), p.comment, fp, seq, p.submitter,
            title_key(p.title))


def _keys(rows: Iterable[tuple[Any, ...]]) -> np.ndarray:
    found = [int(r[0]) for r in rows]
    return np.asarray(found, dtype=np.int64)


class PaperRows:
    """Papers, the change log, embedding state and filters."""

    _db: Database

    # -- meta and change numbers ---------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.one("SELECT value FROM meta WHERE key = %s", (key,))
        return str(row[0]) if row else default

    def meta_items(self, prefix: str = "") -> dict[str, str]:
        """Every meta entry whose key starts with ``prefix``."""
        rows = self._db.rows("SELECT key, value FROM meta WHERE starts_with(key, %s) "
                             "ORDER BY key", (prefix,))
        return {str(k): str(v) for k, v in rows}

    def set_meta(self, key: str, value: str) -> None:
        with self._db.transaction() as conn:
            _put_meta(conn, key, value)

    def set_meta_once(self, key: str, value: str) -> str:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (key, value))
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
            return str(row[0]) if row else value

    @property
    def seq(self) -> int:
        row = self._db.one("SELECT value FROM counters WHERE name = 'seq'")
        return int(row[0]) if row else 0

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, papers: Sequence[Paper], *,
               state: Mapping[str, str] | None = None) -> UpsertCounts:
        """Add or update papers by id in one transaction; identical records change nothing;
        ``state`` goes to meta in the same transaction."""
        if not papers and not state:
            return UpsertCounts()
        latest: dict[str, Paper] = {}
        for paper in papers:  # the same id twice in one batch: the later record wins
            latest[paper.id] = merge_records(latest[paper.id], paper) if paper.id in latest \
                else paper
        with self._db.transaction() as conn:
            seq = _next_seq(conn)
            existing = {row[1]: row for row in conn.execute(
                f"SELECT {COLUMNS} FROM papers p WHERE p.id = ANY(%s)", (list(latest),))}
            added: list[tuple[Paper, str]] = []
            changed: list[tuple[int, Paper, str]] = []
            unchanged = 0
            for paper in latest.values():
                row = existing.get(paper.id)
                if row is not None:
                    paper = merge_records(row_to_paper(row), paper)
                fp = fingerprint(paper)
                if row is None:
                    added.append((paper, fp))
                elif row[15] == fp:
                    unchanged += 1
                else:
                    changed.append((int(row[0]), paper, fp))
            _insert(conn, added, seq)
            _update(conn, changed, seq)
            if added or changed:
                conn.execute("UPDATE counters SET value = %s WHERE name = 'seq'", (seq,))
            if added:
                conn.execute("UPDATE counters SET value = value + %s WHERE name = 'papers'",
                             (len(added),))
            for key, value in (state or {}).items():
                _put_meta(conn, key, value)
        return UpsertCounts(len(added), len(changed), unchanged)

    def remove(self, ids: Iterable[str], *, keep_votes: bool = False) -> int:
        """Remove papers by id; returns how many were there. ``keep_votes``: for papers
        their source deleted, keep the votes cast here (by paper id) and give them back when
        the paper is added again."""
        wanted = list(dict.fromkeys(ids))
        with self._db.transaction() as conn:
            seq = _next_seq(conn)
            if keep_votes:
                conn.execute(
                    "INSERT INTO kept_votes (paper_id, voter, created, user_id, network) "
                    "SELECT p.id, v.voter, v.created, v.user_id, v.network FROM votes v "
                    "JOIN papers p ON p.key = v.paper "
                    "WHERE p.id = ANY(%s) ON CONFLICT DO NOTHING", (wanted,))
                conn.execute(
                    "INSERT INTO kept_ratings (paper_id, user_id, value, created) SELECT p.id, "
                    "r.user_id, r.value, r.created FROM ratings r JOIN papers p ON p.key = r.paper "
                    "WHERE p.id = ANY(%s) ON CONFLICT DO NOTHING", (wanted,))
                conn.execute(
                    "INSERT INTO kept_saves (paper_id, collection, note, added) SELECT p.id, "
                    "i.collection, i.note, i.added FROM collection_items i JOIN papers p "
                    "ON p.key = i.paper WHERE p.id = ANY(%s) ON CONFLICT DO NOTHING", (wanted,))
            gone = conn.execute("DELETE FROM papers WHERE id = ANY(%s) RETURNING key",
                                (wanted,)).fetchall()
            if not gone:
                return 0
            conn.execute(
                "INSERT INTO removed (key, seq) SELECT k, %s FROM unnest(%s::bigint[]) AS k "
                "ON CONFLICT (key) DO UPDATE SET seq = excluded.seq",
                (seq, [int(r[0]) for r in gone]))
            conn.execute("UPDATE counters SET value = %s WHERE name = 'seq'", (seq,))
            conn.execute("UPDATE counters SET value = value - %s WHERE name = 'papers'",
                         (len(gone),))
        return len(gone)

    def kept_votes(self, paper_id: str) -> int:
        """How many votes are kept for a paper its source deleted (until it returns)."""
        row = self._db.one("SELECT count(*) FROM kept_votes WHERE paper_id = %s", (paper_id,))
        return int(row[0]) if row else 0

    # -- reads ----------------------------------------------------------------------------
    def __len__(self) -> int:
        row = self._db.one("SELECT value FROM counters WHERE name = 'papers'")
        return int(row[0]) if row else 0

    def get(self, paper_id: str) -> Paper | None:
        """A paper by its id or by any id it was merged from."""
        row = self._db.one(f"SELECT {COLUMNS} FROM papers p WHERE p.id = %s", (paper_id,))
        if row is None:
            row = self._db.one(f"SELECT {COLUMNS} FROM aliases a JOIN papers p "
                               "ON p.key = a.paper WHERE a.alias = %s", (paper_id,))
        return row_to_paper(row) if row else None

    def key_of(self, paper_id: str) -> int | None:
        row = self._db.one("SELECT key FROM papers WHERE id = %s", (paper_id,))
        return int(row[0]) if row else None

    def keys_of(self, paper_ids: Sequence[str]) -> dict[str, int]:
        rows = self._db.rows("SELECT id, key FROM papers WHERE id = ANY(%s)",
                             (list(paper_ids),))
        return {str(r[0]): int(r[1]) for r in rows}

    def papers(self, keys: Sequence[int]) -> dict[int, Paper]:
        rows = self._db.rows(f"SELECT {COLUMNS} FROM papers p WHERE p.key = ANY(%s)",
                             ([int(k) for k in keys],))
        return {int(r[0]): row_to_paper(r) for r in rows}

    def ids_of(self, keys: Sequence[int]) -> dict[int, str]:
        rows = self._db.rows("SELECT key, id FROM papers WHERE key = ANY(%s)",
                             ([int(k) for k in keys],))
        return {int(r[0]): str(r[1]) for r in rows}

    def dates_of(self, keys: Sequence[int]) -> dict[int, date | None]:
        """The listing day of each paper (unknown keys left out)."""
        rows = self._db.rows("SELECT key, published FROM papers WHERE key = ANY(%s)",
                             ([int(k) for k in keys],))
        return {int(r[0]): r[1] for r in rows}

    def seqs_of(self, keys: Sequence[int]) -> dict[int, int]:
        rows = self._db.rows("SELECT key, seq FROM papers WHERE key = ANY(%s)",
                             ([int(k) for k in keys],))
        return {int(r[0]): int(r[1]) for r in rows}

    # -- the change log -------------------------------------------------------------------
    def changes_since(self, seq: int, *, batch: int = 2000) -> Iterator[list[Change]]:
        """Writes and removals after change ``seq``, in batches, oldest key first."""
        last = 0
        while True:
            rows = self._db.rows(
                f"SELECT {COLUMNS} FROM papers p WHERE p.seq > %s AND p.key > %s "
                "ORDER BY p.key LIMIT %s", (seq, last, batch))
            if not rows:
                break
            last = int(rows[-1][0])
            yield [row_change(r) for r in rows]
        gone = self._db.rows("SELECT key, seq FROM removed WHERE seq > %s ORDER BY key", (seq,))
        if gone:
            yield [Change(int(r[0]), int(r[1]), None) for r in gone]

    def written_after(self, seq: int, key: int, *, limit: int) -> list[Change]:
        rows = self._db.rows(
            f"SELECT {COLUMNS} FROM papers p WHERE (p.seq, p.key) > (%s, %s) "
            "ORDER BY p.seq, p.key LIMIT %s", (seq, key, limit))
        return [row_change(r) for r in rows]

    def count_after(self, seq: int, key: int) -> int:
        row = self._db.one("SELECT count(*) FROM papers WHERE (seq, key) > (%s, %s)", (seq, key))
        return int(row[0]) if row else 0

    def count_since(self, seq: int) -> int:
        row = self._db.one("SELECT count(*) FROM papers WHERE seq > %s", (seq,))
        return int(row[0]) if row else 0

    def removed_since(self, seq: int) -> list[int]:
        return [int(r[0]) for r in self._db.rows(
            "SELECT key FROM removed WHERE seq > %s ORDER BY key", (seq,))]

    # -- embedding state ------------------------------------------------------------------
    _UNEMBEDDED = ("FROM papers p LEFT JOIN embedded e ON e.paper = p.key AND e.encoder = %s "
                   "WHERE e.seq IS NULL OR e.seq < p.seq")

    def unembedded(self, encoder: str, *, limit: int) -> list[Change]:
        """Papers without a current vector of ``encoder``, newest listing day first."""
        rows = self._db.rows(
            f"SELECT {COLUMNS} {self._UNEMBEDDED} "
            "ORDER BY p.published DESC NULLS LAST, p.key DESC LIMIT %s", (encoder, limit))
        return [row_change(r) for r in rows]

    def count_unembedded(self, encoder: str) -> int:
        row = self._db.one(f"SELECT count(*) {self._UNEMBEDDED}", (encoder,))
        return int(row[0]) if row else 0

    def mark_embedded(self, encoder: str, items: Sequence[tuple[int, int]]) -> None:
        """Record ``(key, seq)``: the paper's vector was made from its change ``seq``."""
        if not items:
            return
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO embedded (encoder, paper, seq) "
                "SELECT %s, p.key, x.seq FROM unnest(%s::bigint[], %s::bigint[]) AS x(key, seq) "
                "JOIN papers p ON p.key = x.key "
                "ON CONFLICT (encoder, paper) DO UPDATE SET seq = excluded.seq",
                (encoder, [int(k) for k, _ in items], [int(s) for _, s in items]))

    def current_keys(self, encoder: str) -> np.ndarray:
        return _keys(self._db.rows(
            "SELECT p.key FROM papers p JOIN embedded e ON e.paper = p.key AND e.encoder = %s "
            "WHERE e.seq >= p.seq ORDER BY p.key", (encoder,)))

    # -- filters --------------------------------------------------------------------------
    def matching(self, filters: Filters) -> np.ndarray:
        """Keys of every paper the filters accept, ascending."""
        condition, params = filter_sql(filters)
        query = sql.SQL("SELECT p.key FROM papers p WHERE {} ORDER BY p.key").format(condition)
        return _keys(self._db.rows(query, params))


def _next_seq(conn: psycopg.Connection[Any]) -> int:
    """The next change number, with the counter's row lock held to the end of the
    transaction: writers take their turn, and numbers follow commit order."""
    row = conn.execute("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE").fetchone()
    return int(row[0]) + 1 if row else 1


def _put_meta(conn: psycopg.Connection[Any], key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def _insert(conn: psycopg.Connection[Any], added: list[tuple[Paper, str]], seq: int) -> None:
    if not added:
        return
    keys = [int(r[0]) for r in conn.execute(
        "SELECT nextval(pg_get_serial_sequence('papers', 'key')) "
        "FROM generate_series(1, %s)", (len(added),))]
    with conn.cursor().copy(f"COPY papers ({_PAPER_FIELDS}) FROM STDIN") as copy:
        for key, (paper, fp) in zip(keys, added, strict=True):
            copy.write_row(_values(key, paper, fp, seq))
    _write_authors(conn, [(key, paper) for key, (paper, _) in zip(keys, added, strict=True)])
    _restore_votes(conn, [paper.id for paper, _ in added])


def _restore_votes(conn: psycopg.Connection[Any], ids: list[str]) -> None:
    """Give papers added again the votes kept when their source deleted them: a member's
    vote comes back as theirs; one whose account was removed meanwhile is gone."""
    conn.execute(
        "WITH back AS (DELETE FROM kept_ratings WHERE paper_id = ANY(%s) RETURNING *) "
        "INSERT INTO ratings (user_id, paper, value, created) SELECT b.user_id, p.key, b.value, "
        "b.created FROM back b JOIN papers p ON p.id = b.paper_id ON CONFLICT DO NOTHING",
        (ids,))
    conn.execute(
        "WITH back AS (DELETE FROM kept_saves WHERE paper_id = ANY(%s) RETURNING *) "
        "INSERT INTO collection_items (collection, paper, note, added) SELECT b.collection, "
        "p.key, b.note, b.added FROM back b JOIN papers p ON p.id = b.paper_id "
        "ORDER BY b.added ON CONFLICT DO NOTHING", (ids,))
    back = conn.execute(
        "DELETE FROM kept_votes WHERE paper_id = ANY(%s) "
        "RETURNING paper_id, voter, created, user_id, network", (ids,)).fetchall()
    if not back:
        return
    conn.execute(
        "INSERT INTO votes (paper, voter, created, user_id, network) "
        "SELECT p.key, k.voter, k.created, k.user_id, k.network FROM unnest(%s::text[], "
        "%s::text[], %s::timestamptz[], %s::bigint[], %s::text[]) "
        "AS k(paper_id, voter, created, user_id, network) "
        "JOIN papers p ON p.id = k.paper_id "
        "WHERE k.user_id IS NULL OR k.user_id IN (SELECT id FROM users) "
        "ON CONFLICT DO NOTHING",
        ([r[0] for r in back], [r[1] for r in back], [r[2] for r in back],
         [r[3] for r in back], [r[4] for r in back]))
    conn.execute("UPDATE papers p SET votes_here = (SELECT count(*) FROM votes v "
                 "WHERE v.paper = p.key), votes_members = (SELECT count(*) FROM votes v "
                 "WHERE v.paper = p.key AND v.user_id IS NOT NULL) WHERE p.id = ANY(%s)",
                 (list({r[0] for r in back}),))


def _update(conn: psycopg.Connection[Any], changed: list[tuple[int, Paper, str]],
            seq: int) -> None:
    if not changed:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE papers SET version = %s, title = %s, abstract = %s, authors = %s, "
            "author_count = %s, published = %s, categories = %s, organization = %s, "
            "upvotes = %s, abs_url = %s, pdf_url = %s, code_urls = %s, comment = %s, "
            "fingerprint = %s, seq = %s, submitter = %s, title_key = %s, updated_at = now() "
            "WHERE key = %s",
            [(*_values(key, paper, fp, seq)[2:], key) for key, paper, fp in changed])
    conn.execute("DELETE FROM paper_authors WHERE paper = ANY(%s)",
                 ([key for key, _, _ in changed],))
    _write_authors(conn, [(key, paper) for key, paper, _ in changed])


def _write_authors(conn: psycopg.Connection[Any], papers: list[tuple[int, Paper]]) -> None:
    with conn.cursor().copy("COPY paper_authors (paper, ord, name, name_key) FROM STDIN") as copy:
        for key, paper in papers:
            for i, name in enumerate(paper.authors):
                copy.write_row((key, i, name, name_key(name)))
