"""What a search returns: the results, and how they were found.

A :class:`SearchResults` is a list of :class:`~papersift.ranking.SearchResult` that also
says which mode ran (``auto`` resolves to one), how much of the library the semantic side
covered, and a notice for people when the answer is partial or fell back.
"""

from __future__ import annotations

from collections.abc import Iterable

from papersift.query import Mode
from papersift.ranking import SearchResult

__all__ = ["SearchResults", "Vote"]


class SearchResults(list[SearchResult]):
    """Search results, best first, with ``mode`` (the mode used), ``requested``,
    ``coverage`` (share of papers with a vector, for semantic and hybrid) and ``notice``."""

    def __init__(self, results: Iterable[SearchResult] = (), *, mode: Mode = "lexical",
                 requested: Mode = "auto", coverage: float = 1.0,
                 notice: str | None = None) -> None:
        super().__init__(results)
        self.mode: Mode = mode
        self.requested: Mode = requested
        self.coverage = coverage
        self.notice = notice


class Vote:
    """The outcome of an upvote: the paper's total now, and whether this voter's counts."""

    __slots__ = ("id", "upvotes", "voted")

    def __init__(self, paper_id: str, upvotes: int, voted: bool) -> None:
        self.id = paper_id
        self.upvotes = upvotes
        self.voted = voted

    def __repr__(self) -> str:
        return f"Vote(id={self.id!r}, upvotes={self.upvotes}, voted={self.voted})"
