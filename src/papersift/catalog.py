"""The catalog: a SQLite database that is the source of truth for a library.

This is the only module that runs SQL. Every statement takes its values as parameters.

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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path

from papersift.papers import Links, Paper

__all__ = ["Catalog", "CatalogError", "Change", "UpsertCounts"]

MIGRATIONS: tuple[str, ...] = (
    # 1: papers, their authors and categories, and the change log
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE papers (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        version INTEGER,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL,
        authors TEXT NOT NULL,
        author_count INTEGER,
        published TEXT,
        categories TEXT NOT NULL,
        organization TEXT,
        upvotes INTEGER NOT NULL DEFAULT 0,
        abs_url TEXT,
        pdf_url TEXT,
        code_urls TEXT NOT NULL,
        comment TEXT,
        fingerprint TEXT NOT NULL,
        seq INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX papers_seq ON papers (seq);
    CREATE INDEX papers_published ON papers (published);
    CREATE TABLE paper_authors (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (paper, position)
    );
    CREATE INDEX paper_authors_name ON paper_authors (name COLLATE NOCASE);
    CREATE TABLE paper_categories (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        category TEXT NOT NULL,
        PRIMARY KEY (paper, position)
    );
    CREATE INDEX paper_categories_category ON paper_categories (category);
    CREATE TABLE removed (rowid INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE INDEX removed_seq ON removed (seq);
    """,
    # 2: upvotes cast on this server, one per voter (a signed cookie id or a user key)
    """
    CREATE TABLE votes (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        voter TEXT NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (paper, voter)
    );
    CREATE INDEX votes_voter ON votes (voter);
    """,
    # 3: who posted a paper to a Daily Papers listing; the votes of papers their source
    # deleted, kept by paper id until the paper returns (votes cascade with their paper row)
    """
    ALTER TABLE papers ADD COLUMN submitter TEXT;
    CREATE TABLE kept_votes (
        paper_id TEXT NOT NULL,
        voter TEXT NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (paper_id, voter)
    );
    """,
)

_COLUMNS = (
    "rowid, id, version, title, abstract, authors, author_count, published, categories, "
    "organization, upvotes, abs_url, pdf_url, code_urls, comment, fingerprint, seq, submitter"
)


class CatalogError(Exception):
    """The catalog cannot be opened or is from a newer papersift."""


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What one :meth:`Catalog.upsert` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A paper written (``paper`` set) or removed (``paper`` None) after some change number."""

    rowid: int
    seq: int
    paper: Paper | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fingerprint(paper: Paper) -> str:
    record = [
        paper.version, paper.title, paper.abstract, paper.authors, paper.author_count,
        paper.published.isoformat() if paper.published else None, paper.categories,
        paper.organization, paper.upvotes, paper.links.abs, paper.links.pdf,
        paper.links.code, paper.comment,
    ]
    if paper.submitter:  # appended only when set, so older fingerprints stay valid
        record.append(paper.submitter)
    return sha256(json.dumps(record, ensure_ascii=False).encode()).hexdigest()[:24]


def _merge(old: Paper, new: Paper) -> Paper:
    """A record read again overrides what it states; what it leaves empty is kept.

    A Daily Papers entry (upvotes, organization, no categories) must not erase the
    categories an arXiv listing gave the same paper, and vice versa.
    """
    links = Links(
        abs=new.links.abs or old.links.abs,
        pdf=new.links.pdf or old.links.pdf,
        code=new.links.code or old.links.code,
    )
    return replace(
        new,
        version=new.version if new.version is not None else old.version,
        title=new.title or old.title,
        abstract=new.abstract or old.abstract,
        authors=new.authors or old.authors,
        author_count=new.author_count if new.author_count is not None else old.author_count,
        published=new.published or old.published,
        categories=new.categories or old.categories,
        organization=new.organization or old.organization,
        upvotes=new.upvotes or old.upvotes,
        links=links,
        comment=new.comment or old.comment,
        submitter=new.submitter or old.submitter,
    )


def _row_to_paper(row: sqlite3.Row) -> Paper:
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
        submitter=row["submitter"],
    )


class Catalog:
    """The papers of one library, in ``catalog.sqlite``.

    >>> cat = Catalog(":memory:")
    >>> cat.upsert([Paper(id="2401.00001", title="T", abstract="A")]).added
    1
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = str(path)
        uri = f"file:{self.path}?mode=ro" if readonly else self.path
        try:
            self._db = sqlite3.connect(
                uri, uri=readonly, check_same_thread=False, isolation_level=None
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA busy_timeout = 10000")
            if not readonly and self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            if not readonly:
                self._migrate()
        except sqlite3.DatabaseError as err:
            raise CatalogError(f"{self.path}: not a papersift catalog ({err})") from None

    # -- schema ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        current = self._db.execute("PRAGMA user_version").fetchone()[0]
        if current > len(MIGRATIONS):
            raise CatalogError(
                f"{self.path}: made by a newer papersift (schema {current}); upgrade papersift"
            )
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number:d}")

    def close(self) -> None:
        self._db.close()

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta_items(self, prefix: str) -> dict[str, str]:
        """Every meta entry whose key starts with ``prefix``."""
        rows = self._db.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, length(?)) = ? ORDER BY key",
            (prefix, prefix),
        )
        return {r[0]: r[1] for r in rows}

    def kept_votes(self, paper_id: str) -> int:
        """How many votes are kept for a paper its source deleted."""
        row = self._db.execute("SELECT count(*) FROM kept_votes WHERE paper_id = ?", (paper_id,))
        return int(row.fetchone()[0])

    @property
    def seq(self) -> int:
        """The number of the last change written to the catalog."""
        return int(self.get_meta("seq", "0") or 0)

    # -- writes ---------------------------------------------------------------------------
    def upsert(
        self, papers: Sequence[Paper], *, state: Mapping[str, str] | None = None
    ) -> UpsertCounts:
        """Add or update papers by id in one transaction; identical records change nothing.

        ``state`` (meta key -> value) is written in the same transaction, so a harvester's
        position is stored if and only if the papers it read up to there are.
        """
        if not papers and not state:
            return UpsertCounts()
        latest: dict[str, Paper] = {}
        for paper in papers:  # the same id twice in one batch: the later record wins
            latest[paper.id] = _merge(latest[paper.id], paper) if paper.id in latest else paper
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            existing = self._rows_by_id(list(latest))
            seq = self.seq + 1
            now = _now()
            counts = UpsertCounts()
            for paper in latest.values():
                row = existing.get(paper.id)
                if row is not None:
                    paper = _merge(_row_to_paper(row), paper)
                fingerprint = _fingerprint(paper)
                if row is not None and row["fingerprint"] == fingerprint:
                    counts += UpsertCounts(unchanged=1)
                    continue
                self._write(paper, fingerprint, seq, now, row["rowid"] if row else None)
                counts += UpsertCounts(added=1) if row is None else UpsertCounts(updated=1)
            if counts.added or counts.updated:
                self.set_meta("seq", str(seq))
            for key, value in (state or {}).items():
                self.set_meta(key, value)
        return counts

    def _rows_by_id(self, ids: list[str]) -> dict[str, sqlite3.Row]:
        found: dict[str, sqlite3.Row] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_COLUMNS} FROM papers WHERE id IN ({marks})", chunk
            ):
                found[row["id"]] = row
        return found

    def _write(self, p: Paper, fingerprint: str, seq: int, now: str, rowid: int | None) -> None:
        values = (
            p.version, p.title, p.abstract, json.dumps(p.authors, ensure_ascii=False),
            p.author_count, p.published.isoformat() if p.published else None,
            json.dumps(p.categories), p.organization, p.upvotes, p.links.abs, p.links.pdf,
            json.dumps(p.links.code), p.comment, fingerprint, seq, p.submitter,
        )
        if rowid is None:
            cursor = self._db.execute(
                "INSERT INTO papers (version, title, abstract, authors, author_count, published,"
                " categories, organization, upvotes, abs_url, pdf_url, code_urls, comment,"
                " fingerprint, seq, submitter, id, added_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, p.id, now, now),
            )
            rowid = int(cursor.lastrowid or 0)
            self._restore_votes(p.id, rowid)
        else:
            self._db.execute(
                "UPDATE papers SET version = ?, title = ?, abstract = ?, authors = ?,"
                " author_count = ?, published = ?, categories = ?, organization = ?,"
                " upvotes = ?, abs_url = ?, pdf_url = ?, code_urls = ?, comment = ?,"
                " fingerprint = ?, seq = ?, submitter = ?, updated_at = ? WHERE rowid = ?",
                (*values, now, rowid),
            )
            self._db.execute("DELETE FROM paper_authors WHERE paper = ?", (rowid,))
            self._db.execute("DELETE FROM paper_categories WHERE paper = ?", (rowid,))
        self._db.executemany(
            "INSERT INTO paper_authors (paper, position, name) VALUES (?, ?, ?)",
            [(rowid, i, name) for i, name in enumerate(p.authors)],
        )
        self._db.executemany(
            "INSERT INTO paper_categories (paper, position, category) VALUES (?, ?, ?)",
            [(rowid, i, cat) for i, cat in enumerate(p.categories)],
        )

    def _restore_votes(self, paper_id: str, rowid: int) -> None:
        """Give a paper added again the votes kept when its source deleted it."""
        if self._db.execute("SELECT 1 FROM kept_votes WHERE paper_id = ? LIMIT 1",
                            (paper_id,)).fetchone() is None:
            return
        self._db.execute(
            "INSERT OR IGNORE INTO votes (paper, voter, created) "
            "SELECT ?, voter, created FROM kept_votes WHERE paper_id = ?", (rowid, paper_id)
        )
        self._db.execute("DELETE FROM kept_votes WHERE paper_id = ?", (paper_id,))

    def remove(self, ids: Iterable[str], *, keep_votes: bool = False) -> int:
        """Remove papers by id; returns how many were there.

        ``keep_votes``: for a paper its source deleted, keep the votes cast here (by paper
        id) and give them back if the paper is added again.
        """
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            seq = self.seq + 1
            removed = 0
            for paper_id in ids:
                row = self._db.execute("SELECT rowid FROM papers WHERE id = ?", (paper_id,))
                found = row.fetchone()
                if found is None:
                    continue
                if keep_votes:
                    self._db.execute(
                        "INSERT OR IGNORE INTO kept_votes (paper_id, voter, created) "
                        "SELECT ?, voter, created FROM votes WHERE paper = ?", (paper_id, found[0])
                    )
                self._db.execute("DELETE FROM papers WHERE rowid = ?", (found[0],))
                self._db.execute(
                    "INSERT OR REPLACE INTO removed (rowid, seq) VALUES (?, ?)", (found[0], seq)
                )
                removed += 1
            if removed:
                self.set_meta("seq", str(seq))
        return removed

    # -- reads ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM papers").fetchone()[0])

    def get(self, paper_id: str) -> Paper | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM papers WHERE id = ?", (paper_id,))
        found = row.fetchone()
        return _row_to_paper(found) if found else None

    def rowid(self, paper_id: str) -> int | None:
        row = self._db.execute("SELECT rowid FROM papers WHERE id = ?", (paper_id,)).fetchone()
        return int(row[0]) if row else None

    def by_rowids(self, rowids: Sequence[int]) -> dict[int, Paper]:
        """Papers for catalog row ids (missing ones are left out)."""
        found: dict[int, Paper] = {}
        for start in range(0, len(rowids), 500):
            chunk = [int(r) for r in rowids[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_COLUMNS} FROM papers WHERE rowid IN ({marks})", chunk
            ):
                found[int(row["rowid"])] = _row_to_paper(row)
        return found

    def changes_since(self, seq: int, *, batch: int = 2000) -> Iterator[list[Change]]:
        """Writes and removals after change ``seq``, in batches, oldest rowid first."""
        last = 0
        while True:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM papers WHERE seq > ? AND rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (seq, last, batch),
            ).fetchall()
            if not rows:
                break
            last = int(rows[-1]["rowid"])
            yield [Change(int(r["rowid"]), int(r["seq"]), _row_to_paper(r)) for r in rows]
        gone = self._db.execute("SELECT rowid, seq FROM removed WHERE seq > ?", (seq,))
        removed = [Change(int(r[0]), int(r[1]), None) for r in gone]
        if removed:
            yield removed

    def written_after(self, seq: int, rowid: int, *, limit: int) -> list[Change]:
        """Papers written after the cursor ``(seq, rowid)``, in ``(seq, rowid)`` order.

        A consumer that commits its cursor with each batch resumes exactly where it stopped.
        """
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM papers WHERE seq > ? OR (seq = ? AND rowid > ?) "
            "ORDER BY seq, rowid LIMIT ?",
            (seq, seq, rowid, limit),
        ).fetchall()
        return [Change(int(r["rowid"]), int(r["seq"]), _row_to_paper(r)) for r in rows]

    def removed_since(self, seq: int) -> list[int]:
        """Row ids of papers removed after change ``seq``."""
        rows = self._db.execute("SELECT rowid FROM removed WHERE seq > ?", (seq,))
        return [int(r[0]) for r in rows]

    def count_after(self, seq: int, rowid: int) -> int:
        """How many papers :meth:`written_after` would return in all."""
        row = self._db.execute(
            "SELECT count(*) FROM papers WHERE seq > ? OR (seq = ? AND rowid > ?)",
            (seq, seq, rowid),
        ).fetchone()
        return int(row[0])

    def count_since(self, seq: int) -> int:
        """How many papers were written after change ``seq``."""
        row = self._db.execute("SELECT count(*) FROM papers WHERE seq > ?", (seq,)).fetchone()
        return int(row[0])

    def rowids(self) -> list[int]:
        return [int(r[0]) for r in self._db.execute("SELECT rowid FROM papers ORDER BY rowid")]

    def stats(self) -> dict[str, object]:
        """Counts and date range of the papers."""
        row = self._db.execute(
            "SELECT count(*), min(published), max(published), "
            "count(DISTINCT published) FROM papers"
        ).fetchone()
        top = self._db.execute(
            "SELECT category, count(*) AS n FROM paper_categories WHERE position = 0 "
            "GROUP BY category ORDER BY n DESC LIMIT 10"
        ).fetchall()
        authors = self._db.execute("SELECT count(DISTINCT name) FROM paper_authors").fetchone()
        return {
            "papers": row[0],
            "first_date": row[1],
            "last_date": row[2],
            "days": row[3],
            "authors": authors[0],
            "top_categories": {r[0]: r[1] for r in top},
            "seq": self.seq,
        }

    # -- feeds and votes (web) --
    # Listings rank by all upvotes: the count a source gave (``papers.upvotes``) plus the
    # votes cast here. Both stay apart so that re-ingesting a source never erases votes.
    _TOTAL_VOTES = (
        "(papers.upvotes + (SELECT count(*) FROM votes WHERE votes.paper = papers.rowid))"
    )

    def latest_day(self) -> date | None:
        """The newest publication (listing) day in the catalog."""
        row = self._db.execute("SELECT max(published) FROM papers").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        """The listing days just before and just after ``day`` that have papers."""
        before = self._db.execute(
            "SELECT max(published) FROM papers WHERE published < ?", (day.isoformat(),)
        ).fetchone()[0]
        after = self._db.execute(
            "SELECT min(published) FROM papers WHERE published > ?", (day.isoformat(),)
        ).fetchone()[0]
        return (
            date.fromisoformat(before) if before else None,
            date.fromisoformat(after) if after else None,
        )

    def ranked_between(
        self, since: date, until: date, *, limit: int, offset: int = 0
    ) -> list[Paper]:
        """Papers published in ``[since, until]``, most upvoted first, then the newest."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM papers WHERE published BETWEEN ? AND ? "
            f"ORDER BY {self._TOTAL_VOTES} DESC, published DESC, rowid DESC LIMIT ? OFFSET ?",
            (since.isoformat(), until.isoformat(), limit, offset),
        )
        return [_row_to_paper(r) for r in rows]

    def count_between(self, since: date, until: date) -> int:
        """How many papers were published in ``[since, until]``."""
        row = self._db.execute(
            "SELECT count(*) FROM papers WHERE published BETWEEN ? AND ?",
            (since.isoformat(), until.isoformat()),
        ).fetchone()
        return int(row[0])

    def voted_between(self, since: date, until: date) -> list[tuple[int, date, int]]:
        """``(rowid, published, total upvotes)`` of every upvoted paper in ``[since, until]``."""
        rows = self._db.execute(
            f"SELECT rowid, published, {self._TOTAL_VOTES} AS total FROM papers "
            "WHERE published BETWEEN ? AND ? AND total > 0",
            (since.isoformat(), until.isoformat()),
        )
        return [(int(r[0]), date.fromisoformat(r[1]), int(r[2])) for r in rows]

    def in_category(self, category: str, *, limit: int, offset: int = 0) -> tuple[list[Paper], int]:
        """Papers listed in a category (any position), newest first, and how many there are."""
        return self._listing(
            "SELECT paper FROM paper_categories WHERE category = ?", category, limit, offset
        )

    def by_author(self, name: str, *, limit: int, offset: int = 0) -> tuple[list[Paper], int]:
        """Papers with an author of exactly this name (any case), newest first, and the count."""
        return self._listing(
            "SELECT paper FROM paper_authors WHERE name = ? COLLATE NOCASE", name, limit, offset
        )

    def _listing(self, members: str, value: str, limit: int,
                 offset: int) -> tuple[list[Paper], int]:
        """Papers whose rowid ``members`` (a constant subquery) selects, newest first."""
        total = self._db.execute(
            f"SELECT count(DISTINCT paper) FROM ({members})", (value,)
        ).fetchone()[0]
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM papers WHERE rowid IN ({members}) "
            "ORDER BY published DESC, rowid DESC LIMIT ? OFFSET ?",
            (value, limit, offset),
        )
        return [_row_to_paper(r) for r in rows], int(total)

    def add_vote(self, paper_id: str, voter: str) -> bool:
        """Record a voter's upvote; False when the paper is unknown or already upvoted."""
        with self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO votes (paper, voter, created) "
                "SELECT rowid, ?, ? FROM papers WHERE id = ?",
                (voter, _now(), paper_id),
            )
        return cursor.rowcount > 0

    def remove_vote(self, paper_id: str, voter: str) -> bool:
        """Withdraw a voter's upvote; False when there was none."""
        with self._db:
            cursor = self._db.execute(
                "DELETE FROM votes WHERE voter = ? AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)",
                (voter, paper_id),
            )
        return cursor.rowcount > 0

    def local_votes(self, paper_ids: Sequence[str], voter: str | None = None) -> dict[str, int]:
        """Votes cast here per paper id (``voter`` set: 1 or 0 for that voter alone)."""
        found: dict[str, int] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            who = "" if voter is None else " AND votes.voter = ?"
            rows = self._db.execute(
                "SELECT papers.id, count(votes.paper) FROM papers JOIN votes "
                f"ON votes.paper = papers.rowid{who} WHERE papers.id IN ({marks}) "
                "GROUP BY papers.id",
                ([] if voter is None else [voter]) + chunk,
            )
            found.update({r[0]: int(r[1]) for r in rows})
        return found
