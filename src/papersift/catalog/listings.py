"""Listings: papers by day (most upvoted first), by category and by author, and counts.

Every listing ranks by all upvotes a paper has: the count its source gave
(``papers.upvotes``) plus the votes cast here (``papers.votes_here``, kept by the vote's own
transaction). Both stay apart so that re-ingesting a source never erases votes.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from papersift.backends.base import StoreStats
from papersift.catalog.papers import COLUMNS, row_to_paper
from papersift.catalog.schema import Connections
from papersift.papers import Paper
from papersift.query import name_key

__all__ = ["ListingRows"]

_TOTAL = "(upvotes + votes_here)"


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class ListingRows:
    """Listing queries (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    def latest_day(self) -> date | None:
        """The newest publication (listing) day in the catalog."""
        return _day(self._db.execute("SELECT max(published) FROM papers").fetchone()[0])

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        """The listing days just before and just after ``day`` that have papers."""
        before = self._db.execute(
            "SELECT max(published) FROM papers WHERE published < ?", (day.isoformat(),)
        ).fetchone()[0]
        after = self._db.execute(
            "SELECT min(published) FROM papers WHERE published > ?", (day.isoformat(),)
        ).fetchone()[0]
        return _day(before), _day(after)

    def ranked_between(self, since: date, until: date, *, limit: int,
                       offset: int = 0) -> list[Paper]:
        """Papers published in ``[since, until]``, most upvoted first, then the newest."""
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM papers WHERE published BETWEEN ? AND ? "
            f"ORDER BY {_TOTAL} DESC, published DESC, rowid DESC LIMIT ? OFFSET ?",
            (since.isoformat(), until.isoformat(), limit, offset),
        )
        return [row_to_paper(r) for r in rows]

    def count_between(self, since: date, until: date) -> int:
        """How many papers were published in ``[since, until]``."""
        row = self._db.execute(
            "SELECT count(*) FROM papers WHERE published BETWEEN ? AND ?",
            (since.isoformat(), until.isoformat()),
        ).fetchone()
        return int(row[0])

    def voted_between(self, since: date, until: date) -> list[tuple[int, date, int]]:
        """``(key, published, total upvotes)`` of every upvoted paper in ``[since, until]``."""
        rows = self._db.execute(
            f"SELECT rowid, published, {_TOTAL} AS total FROM papers "
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
        """Papers with an author of this full name (compared as
        :func:`papersift.query.name_key` writes names: any case, accents, punctuation)."""
        return self._listing(
            "SELECT paper FROM paper_authors WHERE key = ?", name_key(name), limit, offset
        )

    def _listing(self, members: str, value: str, limit: int,
                 offset: int) -> tuple[list[Paper], int]:
        """Papers whose key ``members`` (a constant subquery) selects, newest first."""
        total = self._db.execute(
            f"SELECT count(DISTINCT paper) FROM ({members})", (value,)
        ).fetchone()[0]
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM papers WHERE rowid IN ({members}) "
            "ORDER BY published DESC, rowid DESC LIMIT ? OFFSET ?",
            (value, limit, offset),
        )
        return [row_to_paper(r) for r in rows], int(total)

    def stats(self) -> StoreStats:
        """Counts and date range of the papers."""
        db = self._db
        row = db.execute(
            "SELECT count(*), min(published), max(published), count(DISTINCT published), "
            "coalesce(sum(votes_here), 0) FROM papers"
        ).fetchone()
        top = db.execute(
            "SELECT category, count(*) AS n FROM paper_categories WHERE position = 0 "
            "GROUP BY category ORDER BY n DESC LIMIT 10"
        ).fetchall()
        authors = db.execute("SELECT count(DISTINCT key) FROM paper_authors").fetchone()[0]
        seq = db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return StoreStats(
            papers=int(row[0]), first_date=_day(row[1]), last_date=_day(row[2]),
            days=int(row[3]), authors=int(authors),
            top_categories={r[0]: int(r[1]) for r in top}, votes=int(row[4]),
            seq=int(seq[0]) if seq else 0,
        )
