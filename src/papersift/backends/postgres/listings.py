"""Listings in PostgreSQL: papers by day (most upvoted first), by category, by author, and
the counts (a part of :class:`~papersift.backends.postgres.store.PostgresStore`).

Ranked as the embedded catalog ranks them (:mod:`papersift.catalog.listings`): all upvotes
(the source's count plus the votes cast here), then the newest; undated papers last.
"""

from __future__ import annotations

from datetime import date

from papersift.backends.base import StoreStats
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.rows import COLUMNS, row_to_paper
from papersift.papers import Paper
from papersift.query import name_key

__all__ = ["ListingRows"]

_TOTAL = "(p.upvotes + p.votes_here)"


class ListingRows:
    """Listing queries."""

    _db: Database

    def latest_day(self) -> date | None:
        row = self._db.one("SELECT max(published) FROM papers")
        return row[0] if row else None

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        row = self._db.one(
            "SELECT (SELECT max(published) FROM papers WHERE published < %s), "
            "(SELECT min(published) FROM papers WHERE published > %s)", (day, day))
        return (row[0], row[1]) if row else (None, None)

    def ranked_between(self, since: date, until: date, *, limit: int,
                       offset: int = 0) -> list[Paper]:
        rows = self._db.rows(
            f"SELECT {COLUMNS} FROM papers p WHERE p.published BETWEEN %s AND %s "
            f"ORDER BY {_TOTAL} DESC, p.published DESC, p.key DESC LIMIT %s OFFSET %s",
            (since, until, limit, offset))
        return [row_to_paper(r) for r in rows]

    def count_between(self, since: date, until: date) -> int:
        row = self._db.one("SELECT count(*) FROM papers WHERE published BETWEEN %s AND %s",
                           (since, until))
        return int(row[0]) if row else 0

    def voted_between(self, since: date, until: date) -> list[tuple[int, date, int]]:
        rows = self._db.rows(
            f"SELECT p.key, p.published, {_TOTAL} FROM papers p "
            f"WHERE p.published BETWEEN %s AND %s AND {_TOTAL} > 0", (since, until))
        return [(int(r[0]), r[1], int(r[2])) for r in rows]

    def in_category(self, category: str, *, limit: int, offset: int = 0) -> tuple[list[Paper],
                                                                                  int]:
        """Papers listed in a category (any position), newest first, and how many."""
        return self._listing("p.categories @> ARRAY[%s]::text[]", category, limit, offset)

    def by_author(self, name: str, *, limit: int, offset: int = 0) -> tuple[list[Paper], int]:
        """Papers with an author of this full name (as :func:`papersift.query.name_key`
        writes names)."""
        return self._listing(
            "p.key IN (SELECT paper FROM paper_authors WHERE name_key = %s)", name_key(name),
            limit, offset)

    def _listing(self, condition: str, value: str, limit: int,
                 offset: int) -> tuple[list[Paper], int]:
        total = self._db.one(f"SELECT count(*) FROM papers p WHERE {condition}", (value,))
        rows = self._db.rows(
            f"SELECT {COLUMNS} FROM papers p WHERE {condition} "
            "ORDER BY p.published DESC NULLS LAST, p.key DESC LIMIT %s OFFSET %s",
            (value, limit, offset))
        return [row_to_paper(r) for r in rows], int(total[0]) if total else 0

    def stats(self) -> StoreStats:
        row = self._db.one(
            "SELECT count(*), min(published), max(published), count(DISTINCT published), "
            "coalesce(sum(votes_here), 0) FROM papers")
        top = self._db.rows(
            "SELECT categories[1] AS category, count(*) AS n FROM papers "
            "WHERE cardinality(categories) > 0 GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10")
        authors = self._db.one("SELECT count(DISTINCT name_key) FROM paper_authors")
        seq = self._db.one("SELECT value FROM counters WHERE name = 'seq'")
        assert row is not None
        return StoreStats(
            papers=int(row[0]), first_date=row[1], last_date=row[2], days=int(row[3]),
            authors=int(authors[0]) if authors else 0,
            top_categories={str(r[0]): int(r[1]) for r in top}, votes=int(row[4]),
            seq=int(seq[0]) if seq else 0,
        )
