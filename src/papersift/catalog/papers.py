"""Paper rows: upserts with change numbers, reads by id or key, the change log, filters.

Each write batch gets a new *change number* (``seq``); every paper row carries the number
of the batch that last wrote it, and removals leave a tombstone with theirs. The derived
stores (the lexical index, the vectors) remember the last change number they include and
catch up by replaying ``changes_since(n)``, so a crash between stores is repaired by
running the same command again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from papersift.backends.base import Change, UpsertCounts
from papersift.backends.records import fingerprint as _fingerprint
from papersift.backends.records import merge_records as _merge
from papersift.catalog.schema import Connections
from papersift.identity import title_key
from papersift.papers import Links, Paper
from papersift.query import Filters, name_key

__all__ = ["COLUMNS", "PaperRows", "row_to_paper"]

COLUMNS = (
    "rowid, id, version, title, abstract, authors, author_count, published, categories, "
    "organization, upvotes, abs_url, pdf_url, code_urls, comment, fingerprint, seq, votes_here, "
    "submitter, votes_members"
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def row_to_paper(row: sqlite3.Row) -> Paper:
    return Paper(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(json.loads(row["authors"])),
        published=date.fromisoformat(row["published"]) if row["published"] else None,
        categories=tuple(json.loads(row["categories"])),
        organization=row["organization"],
        upvotes=row["upvotes"],
        links=Links(row["abs_url"], row["pdf_url"], tuple(json.loads(row["code_urls"]))),
        version=row["version"],
        author_count=row["author_count"],
        comment=row["comment"],
        votes_here=row["votes_here"],
        submitter=row["submitter"],
        votes_members=row["votes_members"],
    )


class PaperRows:
    """The ``papers`` table and its change log (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def meta_items(self, prefix: str = "") -> dict[str, str]:
        """Every meta entry whose key starts with ``prefix``."""
        rows = self._db.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, length(?)) = ? ORDER BY key",
            (prefix, prefix))
        return {str(r[0]): str(r[1]) for r in rows}

    def set_meta(self, key: str, value: str) -> None:
        with self._conns.writing() as db:
            _put_meta(db, key, value)

    def kept_votes(self, paper_id: str) -> int:
        """How many votes are kept for a paper its source deleted (until it returns)."""
        return int(self._db.execute("SELECT count(*) FROM kept_votes WHERE paper_id = ?",
                                    (paper_id,)).fetchone()[0])

    def set_meta_once(self, key: str, value: str) -> str:
        with self._conns.writing() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return str(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    @property
    def seq(self) -> int:
        """The number of the last change written to the catalog."""
        return int(self.get_meta("seq", "0") or 0)

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, papers: Sequence[Paper], *,
               state: Mapping[str, str] | None = None) -> UpsertCounts:
        """Add or update papers by id in one transaction; identical records change nothing.

        ``state`` (meta keys and values) is written in the same transaction, so a harvest's
        resumption point is stored exactly when the papers it covers are.
        """
        if not papers and not state:
            return UpsertCounts()
        latest: dict[str, Paper] = {}
        for paper in papers:  # the same id twice in one batch: the later record wins
            latest[paper.id] = _merge(latest[paper.id], paper) if paper.id in latest else paper
        with self._conns.writing() as db:
            existing = self._rows_by_id(db, list(latest))
            seq = int(_get_meta(db, "seq") or 0) + 1
            stamp = now()
            counts = UpsertCounts()
            for paper in latest.values():
                row = existing.get(paper.id)
                if row is not None:
                    paper = _merge(row_to_paper(row), paper)
                fingerprint = _fingerprint(paper)
                if row is not None and row["fingerprint"] == fingerprint:
                    counts += UpsertCounts(unchanged=1)
                    continue
                _write(db, paper, fingerprint, seq, stamp, row["rowid"] if row else None)
                counts += UpsertCounts(added=1) if row is None else UpsertCounts(updated=1)
            if counts.added or counts.updated:
                _put_meta(db, "seq", str(seq))
            for key, value in (state or {}).items():
                _put_meta(db, key, value)
        return counts

    @staticmethod
    def _rows_by_id(db: sqlite3.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
        found: dict[str, sqlite3.Row] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in db.execute(f"SELECT {COLUMNS} FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = row
        return found

    def remove(self, ids: Iterable[str], *, keep_votes: bool = False) -> int:
        """Remove papers by id; returns how many were there.

        ``keep_votes``: for papers their source deleted, keep the votes cast here (by paper
        id) and give them back when the paper is added again.
        """
        with self._conns.writing() as db:
            seq = int(_get_meta(db, "seq") or 0) + 1
            removed = 0
            for paper_id in ids:
                found = db.execute("SELECT rowid FROM papers WHERE id = ?", (paper_id,)).fetchone()
                if found is None:
                    continue
                if keep_votes:
                    _keep_marks(db, paper_id, found[0])
                db.execute("DELETE FROM papers WHERE rowid = ?", (found[0],))
                db.execute("INSERT OR REPLACE INTO removed (rowid, seq) VALUES (?, ?)",
                           (found[0], seq))
                removed += 1
            if removed:
                _put_meta(db, "seq", str(seq))
        return removed

    # -- reads ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM papers").fetchone()[0])

    def get(self, paper_id: str) -> Paper | None:
        found = self._db.execute(f"SELECT {COLUMNS} FROM papers WHERE id = ?",
                                 (paper_id,)).fetchone()
        return row_to_paper(found) if found else None

    def key_of(self, paper_id: str) -> int | None:
        row = self._db.execute("SELECT rowid FROM papers WHERE id = ?", (paper_id,)).fetchone()
        return int(row[0]) if row else None

    def keys_of(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Keys of the given paper ids (unknown ids left out)."""
        found: dict[str, int] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT id, rowid FROM papers WHERE id IN ({marks})",
                                        chunk):
                found[row[0]] = int(row[1])
        return found

    def papers(self, keys: Sequence[int]) -> dict[int, Paper]:
        """Papers for keys (missing ones are left out)."""
        found: dict[int, Paper] = {}
        for start in range(0, len(keys), 500):
            chunk = [int(r) for r in keys[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {COLUMNS} FROM papers WHERE rowid IN ({marks})", chunk
            ):
                found[int(row["rowid"])] = row_to_paper(row)
        return found

    # -- the change log -------------------------------------------------------------------
    def changes_since(self, seq: int, *, batch: int = 2000) -> Iterator[list[Change]]:
        """Writes and removals after change ``seq``, in batches, oldest key first."""
        last = 0
        while True:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM papers WHERE seq > ? AND rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (seq, last, batch),
            ).fetchall()
            if not rows:
                break
            last = int(rows[-1]["rowid"])
            yield [Change(int(r["rowid"]), int(r["seq"]), row_to_paper(r)) for r in rows]
        gone = self._db.execute("SELECT rowid, seq FROM removed WHERE seq > ?", (seq,))
        removed = [Change(int(r[0]), int(r[1]), None) for r in gone]
        if removed:
            yield removed

    def written_after(self, seq: int, key: int, *, limit: int) -> list[Change]:
        """Papers written after the cursor ``(seq, key)``, in ``(seq, key)`` order.

        A consumer that commits its cursor with each batch resumes exactly where it stopped.
        """
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM papers WHERE seq > ? OR (seq = ? AND rowid > ?) "
            "ORDER BY seq, rowid LIMIT ?",
            (seq, seq, key, limit),
        ).fetchall()
        return [Change(int(r["rowid"]), int(r["seq"]), row_to_paper(r)) for r in rows]

    def removed_since(self, seq: int) -> list[int]:
        """Keys of papers removed after change ``seq``."""
        rows = self._db.execute("SELECT rowid FROM removed WHERE seq > ?", (seq,))
        return [int(r[0]) for r in rows]

    def count_after(self, seq: int, key: int) -> int:
        """How many papers :meth:`written_after` would return in all."""
        row = self._db.execute(
            "SELECT count(*) FROM papers WHERE seq > ? OR (seq = ? AND rowid > ?)",
            (seq, seq, key),
        ).fetchone()
        return int(row[0])

    def count_since(self, seq: int) -> int:
        """How many papers were written after change ``seq``."""
        row = self._db.execute("SELECT count(*) FROM papers WHERE seq > ?", (seq,)).fetchone()
        return int(row[0])

    def rowids(self) -> list[int]:
        return [int(r[0]) for r in self._db.execute("SELECT rowid FROM papers ORDER BY rowid")]

    # -- embedding state ------------------------------------------------------------------
    _UNEMBEDDED = (
        "FROM papers LEFT JOIN embedded ON embedded.paper = papers.rowid "
        "AND embedded.encoder = ? WHERE embedded.seq IS NULL OR embedded.seq < papers.seq"
    )

    def unembedded(self, encoder: str, *, limit: int) -> list[Change]:
        """Papers without a current vector of ``encoder``: the newest listing day first (so
        today's papers are searchable by meaning first), in the order they were added within
        a day, undated ones last."""
        rows = self._db.execute(
            f"SELECT {', '.join('papers.' + c.strip() for c in COLUMNS.split(','))} "
            f"{self._UNEMBEDDED} ORDER BY papers.published IS NULL, papers.published DESC, "
            "papers.rowid LIMIT ?",
            (encoder, limit),
        ).fetchall()
        return [Change(int(r["rowid"]), int(r["seq"]), row_to_paper(r)) for r in rows]

    def count_unembedded(self, encoder: str) -> int:
        """How many papers :meth:`unembedded` would return in all."""
        return int(self._db.execute(f"SELECT count(*) {self._UNEMBEDDED}",
                                    (encoder,)).fetchone()[0])

    def mark_embedded(self, encoder: str, items: Sequence[tuple[int, int]]) -> None:
        """Record ``(key, seq)``: the paper's vector was made from its change ``seq``."""
        with self._conns.writing() as db:
            db.executemany(
                "INSERT INTO embedded (encoder, paper, seq) SELECT ?, rowid, ? FROM papers "
                "WHERE rowid = ? ON CONFLICT (encoder, paper) DO UPDATE SET seq = excluded.seq",
                [(encoder, int(seq), int(key)) for key, seq in items],
            )

    def current_keys(self, encoder: str) -> np.ndarray:
        """Keys of the papers whose vector of ``encoder`` is current, ascending."""
        rows = self._db.execute(
            "SELECT papers.rowid FROM papers JOIN embedded ON embedded.paper = papers.rowid "
            "AND embedded.encoder = ? WHERE embedded.seq >= papers.seq ORDER BY papers.rowid",
            (encoder,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _column_of(self, keys: Sequence[int], column: str) -> dict[int, Any]:
        """One column of each paper, by key (unknown keys left out)."""
        found: dict[int, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = [int(k) for k in keys[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                    f"SELECT rowid, {column} FROM papers WHERE rowid IN ({marks})", chunk):
                found[int(row[0])] = row[1]
        return found

    def ids_of(self, keys: Sequence[int]) -> dict[int, str]:
        """The paper id of each key (unknown keys left out)."""
        return {k: str(v) for k, v in self._column_of(keys, "id").items()}

    def dates_of(self, keys: Sequence[int]) -> dict[int, date | None]:
        """The listing day of each paper (a cheap read: for ordering a window by date)."""
        return {k: date.fromisoformat(v) if v else None
                for k, v in self._column_of(keys, "published").items()}

    def seqs_of(self, keys: Sequence[int]) -> dict[int, int]:
        """The change number each paper was last written in."""
        return {k: int(v) for k, v in self._column_of(keys, "seq").items()}

    # -- filters --------------------------------------------------------------------------
    def matching(self, filters: Filters) -> np.ndarray:
        """Keys of every paper the filters accept (see :class:`papersift.query.Filters`)."""
        where, params = ["1"], []  # type: tuple[list[str], list[object]]
        if filters.since:
            where.append("published >= ?")
            params.append(filters.since.isoformat())
        if filters.until:
            where.append("published <= ?")
            params.append(filters.until.isoformat())
        if filters.categories:
            marks = ",".join("?" * len(filters.categories))
            where.append("rowid IN (SELECT paper FROM paper_categories "
                         f"WHERE category IN ({marks}))")
            params.extend(filters.categories)
        for key in filters.author_keys:
            if not key:  # a value with no letters or digits names nobody
                return np.empty(0, dtype=np.int64)
            where.append("rowid IN (SELECT paper_authors.paper FROM author_words JOIN "
                         "paper_authors ON paper_authors.rowid = author_words.rowid "
                         "WHERE author_words MATCH ?)")
            params.append(f'key : "{key}"')
        if filters.ids:
            marks = ",".join("?" * len(filters.ids))
            where.append(f"id IN ({marks})")
            params.extend(filters.ids)
        rows = self._db.execute(
            f"SELECT rowid FROM papers WHERE {' AND '.join(where)} ORDER BY rowid", params
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def _get_meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _keep_marks(db: sqlite3.Connection, paper_id: str, rowid: int) -> None:
    """Keep what people did to a paper its source deleted (votes, ratings, saves), by id."""
    db.execute("INSERT OR IGNORE INTO kept_votes (paper_id, voter, created, user, network) "
               "SELECT ?, voter, created, user, network FROM votes WHERE paper = ?",
               (paper_id, rowid))
    db.execute("INSERT OR IGNORE INTO kept_ratings (paper_id, user, value, created) "
               "SELECT ?, user, value, created FROM ratings WHERE paper = ?", (paper_id, rowid))
    db.execute("INSERT OR IGNORE INTO kept_saves (paper_id, collection, note, added) "
               "SELECT ?, collection, note, added FROM collection_items WHERE paper = ?",
               (paper_id, rowid))


def _restore_marks(db: sqlite3.Connection, paper_id: str, rowid: int) -> None:
    """Give a paper added again the votes, ratings and saves kept when its source deleted
    it (those of an account or collection removed meanwhile went with it)."""
    # one indexed look per added paper: almost every paper added has nothing kept
    if db.execute("SELECT EXISTS (SELECT 1 FROM kept_votes WHERE paper_id = ?) OR "
                  "EXISTS (SELECT 1 FROM kept_ratings WHERE paper_id = ?) OR "
                  "EXISTS (SELECT 1 FROM kept_saves WHERE paper_id = ?)",
                  (paper_id, paper_id, paper_id)).fetchone()[0] == 0:
        return
    db.execute("INSERT OR IGNORE INTO ratings (user, paper, value, created) "
               "SELECT user, ?, value, created FROM kept_ratings WHERE paper_id = ?",
               (rowid, paper_id))
    db.execute("INSERT OR IGNORE INTO collection_items (collection, paper, note, added) "
               "SELECT collection, ?, note, added FROM kept_saves WHERE paper_id = ?",
               (rowid, paper_id))
    # a member's vote comes back as theirs; one whose account was removed meanwhile is gone
    db.execute("INSERT OR IGNORE INTO votes (paper, voter, created, user, network) "
               "SELECT ?, voter, created, user, network FROM kept_votes WHERE paper_id = ? "
               "AND (user IS NULL OR user IN (SELECT id FROM users))", (rowid, paper_id))
    db.execute("UPDATE papers SET votes_here = (SELECT count(*) FROM votes WHERE paper = ?), "
               "votes_members = (SELECT count(*) FROM votes WHERE paper = ? AND user IS NOT NULL) "
               "WHERE rowid = ?", (rowid, rowid, rowid))
    for table in ("kept_votes", "kept_ratings", "kept_saves"):
        db.execute(f"DELETE FROM {table} WHERE paper_id = ?", (paper_id,))


def _write(db: sqlite3.Connection, p: Paper, fingerprint: str, seq: int, stamp: str,
           rowid: int | None) -> None:
    values = (
        p.version, p.title, p.abstract, json.dumps(p.authors, ensure_ascii=False),
        p.author_count, p.published.isoformat() if p.published else None,
        json.dumps(p.categories), p.organization, p.upvotes, p.links.abs, p.links.pdf,
        json.dumps(p.links.code), p.comment, fingerprint, seq, p.submitter, title_key(p.title),
    )
    if rowid is None:
        cursor = db.execute(
            "INSERT INTO papers (version, title, abstract, authors, author_count, published,"
            " categories, organization, upvotes, abs_url, pdf_url, code_urls, comment,"
            " fingerprint, seq, submitter, title_key, id, added_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, p.id, stamp, stamp),
        )
        rowid = int(cursor.lastrowid or 0)
        _restore_marks(db, p.id, rowid)
    else:
        db.execute(
            "UPDATE papers SET version = ?, title = ?, abstract = ?, authors = ?,"
            " author_count = ?, published = ?, categories = ?, organization = ?,"
            " upvotes = ?, abs_url = ?, pdf_url = ?, code_urls = ?, comment = ?,"
            " fingerprint = ?, seq = ?, submitter = ?, title_key = ?, updated_at = ?"
            " WHERE rowid = ?",
            (*values, stamp, rowid),
        )
        db.execute("DELETE FROM paper_authors WHERE paper = ?", (rowid,))
        db.execute("DELETE FROM paper_categories WHERE paper = ?", (rowid,))
    db.executemany(
        "INSERT INTO paper_authors (paper, position, name, key) VALUES (?, ?, ?, ?)",
        [(rowid, i, name, name_key(name)) for i, name in enumerate(p.authors)],
    )
    db.executemany(
        "INSERT INTO paper_categories (paper, position, category) VALUES (?, ?, ?)",
        [(rowid, i, cat) for i, cat in enumerate(p.categories)],
    )
