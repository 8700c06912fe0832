"""The JSON shapes of the API: every HTML page renders one of these, and ``/api/...``
returns it as is (so the OpenAPI schema documents what each page shows)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from papersift.papers import Paper
from papersift.ranking import SearchResult

__all__ = [
    "DailyPage",
    "LinksOut",
    "ListingPage",
    "Pagination",
    "PaperOut",
    "PaperPage",
    "ResultOut",
    "SearchPage",
    "StatusOut",
    "TrendingPage",
    "VoteOut",
    "paper_out",
    "result_out",
]

Day = date  # an alias: ``DailyPage`` has a field named ``date``
SearchMode = Literal["auto", "lexical", "semantic", "hybrid"]


class LinksOut(BaseModel):
    """Where to read a paper."""

    abs: str | None = Field(None, description="Abstract page (arXiv) URL.")
    pdf: str | None = Field(None, description="PDF URL.")
    code: list[str] = Field(default_factory=list, description="Code repositories.")


class PaperOut(BaseModel):
    """A paper as the pages show it."""

    id: str = Field(description="Canonical id: bare arXiv id, doi:..., or a source key.")
    version: int | None = None
    title: str
    abstract: str
    authors: list[str]
    author_count: int = Field(description="How many authors, named or only counted.")
    published: date | None = None
    categories: list[str]
    organization: str | None = None
    upvotes: int = Field(description="Upvotes from the source plus votes cast here.")
    links: LinksOut
    comment: str | None = None


class ResultOut(BaseModel):
    """One search hit."""

    paper: PaperOut
    score: float
    why: list[str] = Field(description="Why it matched: terms found, semantic match.")


class Pagination(BaseModel):
    """Where a page sits in its list."""

    page: int = Field(1, ge=1)
    per_page: int
    has_previous: bool
    has_next: bool


class DailyPage(BaseModel):
    """The papers listed on one day, most upvoted first."""

    date: Day | None
    previous: Day | None = Field(None, description="Previous listing day with papers.")
    next: Day | None = Field(None, description="Next listing day with papers.")
    total: int
    pagination: Pagination
    papers: list[PaperOut]


class TrendingPage(BaseModel):
    """Upvoted papers of the last days, by votes / (age_days + 2) ** 1.5."""

    reference_day: date | None
    days: int
    papers: list[PaperOut]
    scores: list[float]


class SearchPage(BaseModel):
    """One page of search results, with the query and filters that made it."""

    query: str
    mode: SearchMode
    since: date | None = None
    until: date | None = None
    category: str | None = None
    author: str | None = None
    pagination: Pagination
    results: list[ResultOut]


class PaperPage(BaseModel):
    """A paper with the papers most similar to it."""

    paper: PaperOut
    similar: list[ResultOut]
    voted: bool = Field(False, description="Whether this client has upvoted it.")


class ListingPage(BaseModel):
    """The papers of one category or one author, newest first."""

    kind: Literal["category", "author"]
    name: str
    total: int
    pagination: Pagination
    papers: list[PaperOut]


class VoteOut(BaseModel):
    """The result of an upvote."""

    id: str
    upvotes: int
    voted: bool = Field(description="Whether this client's vote is now counted.")


class StatusOut(BaseModel):
    """What the library holds."""

    papers: int
    first_date: str | None = None
    last_date: str | None = None
    days: int = 0
    semantic_ready: bool = Field(False, description="Every paper embedded: hybrid is on.")
    embedded: int = Field(0, description="Papers with a vector so far.")
    details: dict[str, object] = Field(default_factory=dict)


def paper_out(paper: Paper) -> PaperOut:
    """The API shape of a paper."""
    return PaperOut(
        id=paper.id, version=paper.version, title=paper.title, abstract=paper.abstract,
        authors=list(paper.authors), author_count=paper.n_authors, published=paper.published,
        categories=list(paper.categories), organization=paper.organization,
        upvotes=paper.upvotes,
        links=LinksOut(abs=paper.links.abs, pdf=paper.links.pdf, code=list(paper.links.code)),
        comment=paper.comment,
    )


def result_out(result: SearchResult) -> ResultOut:
    """The API shape of a search hit."""
    return ResultOut(paper=paper_out(result.paper), score=result.score, why=list(result.why))
