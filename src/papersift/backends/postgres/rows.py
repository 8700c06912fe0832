"""Paper rows as the store reads them, and their conversion to :class:`Paper`."""

from __future__ import annotations

from typing import Any

from papersift.backends.base import Change
from papersift.papers import Links, Paper

__all__ = ["COLUMNS", "row_change", "row_to_paper"]

#: The columns every paper read selects, in the order :func:`row_to_paper` reads them.
COLUMNS = (
    "p.key, p.id, p.version, p.title, p.abstract, p.authors, p.author_count, p.published, "
    "p.categories, p.organization, p.upvotes, p.abs_url, p.pdf_url, p.code_urls, p.comment, "
    "p.fingerprint, p.seq, p.votes_here, p.submitter, p.votes_members"
)


def row_to_paper(row: tuple[Any, ...]) -> Paper:
    return Paper(
        id=row[1], version=row[2], title=row[3], abstract=row[4], authors=tuple(row[5]),
        author_count=row[6], published=row[7], categories=tuple(row[8]), organization=row[9],
        upvotes=row[10], links=Links(row[11], row[12], tuple(row[13])), comment=row[14],
        votes_here=row[17], submitter=row[18], votes_members=row[19],
    )


def row_change(row: tuple[Any, ...]) -> Change:
    return Change(int(row[0]), int(row[16]), row_to_paper(row))
