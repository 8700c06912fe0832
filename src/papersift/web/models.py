"""The JSON shapes of the API: every HTML page renders one of these, and ``/api/...``
returns it as is (so the OpenAPI schema documents what each page shows)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from papersift.jobs import JobState
from papersift.library import LibraryStats, LibraryStatus
from papersift.papers import Paper
from papersift.ranking import SearchResult
from papersift.web.harvests import HarvestOut

__all__ = [
    "DailyPage",
    "JobOut",
    "LinksOut",
    "ListingPage",
    "Pagination",
    "PaperOut",
    "PaperPage",
    "PeriodPage",
    "ResultOut",
    "SearchPage",
    "StatusOut",
    "TrendingPage",
    "VoteOut",
    "VotesOut",
    "paper_out",
    "result_out",
    "status_out",
]

Day = date  # an alias: ``DailyPage`` has a field named ``date``
SearchMode = Literal["auto", "lexical", "semantic", "hybrid"]


class LinksOut(BaseModel):
    """Where to read a paper."""

    abs: str | None = Field(None, description="Abstract page (arXiv) URL.")
    pdf: str | None = Field(None, description="PDF URL.")
    code: list[str] = Field(default_factory=list, description="Code repositories.")


class VotesOut(BaseModel):
    """Where a paper's upvotes come from."""

    source: int = Field(description="Upvotes its source reported (e.g. Daily Papers).")
    here: int = Field(description="Upvotes cast on this server (anonymous + members).")
    anonymous: int = Field(0, description="Of those, by visitors not signed in.")
    members: int = Field(0, description="Of those, by signed-in members.")


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
    votes: VotesOut
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
    days: int = Field(description="The window used (wider than asked when that had none).")
    requested_days: int | None = Field(
        None, description="The window asked for, when it held no upvoted paper.")
    notice: str | None = Field(None, description="Why the window was widened.")
    papers: list[PaperOut]
    scores: list[float]


class PeriodPage(BaseModel):
    """The papers listed in one week or month, most upvoted first."""

    view: Literal["day", "week", "month"]
    period: str | None = Field(None, description="2026-W27 or 2026-07 (in the page's URL).")
    label: str | None = Field(None, description="The period in words.")
    start: date | None = None
    end: date | None = None
    previous: str | None = Field(None, description="Previous period with papers.")
    next: str | None = Field(None, description="Next period with papers.")
    total: int
    pagination: Pagination
    papers: list[PaperOut]


class SearchPage(BaseModel):
    """One page of search results, with the query and filters that made it."""

    query: str
    mode: SearchMode = Field(description="The mode asked for.")
    mode_used: SearchMode | None = Field(
        None, description="The mode that ran (auto resolves to one; semantic and hybrid "
        "fall back to lexical while no vectors exist).")
    coverage: float = Field(1.0, description="Share of the papers with a vector.")
    notice: str | None = Field(None, description="Why the results may be partial.")
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
    similar_mode: SearchMode = Field(
        "semantic", description="semantic, or lexical while the paper has no vector.")
    notice: str | None = None
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


class JobOut(BaseModel):
    """A background job's state, as every process sees it."""

    name: str
    status: str = Field(description="running, done, failed, stopped, or stalled (its "
                        "process died; it resumes on the next run).")
    done: int
    total: int | None = None
    unit: str
    rate: float | None = Field(None, description="Per second, over the last minute.")
    eta_seconds: float | None = None
    started_at: str | None = None
    updated_at: str | None = Field(None, description="The last heartbeat.")
    finished_at: str | None = None
    error: str | None = None
    owner: str | None = None
    message: str = ""
    summary: str = Field(description="One line for people.")


class StatusOut(BaseModel):
    """What the library holds and what it is doing."""

    papers: int
    first_date: date | None = None
    last_date: date | None = None
    days: int = 0
    lexical_ready: bool = Field(True, description="The lexical index has every paper.")
    encoder: str
    semantic_ready: bool = Field(False, description="Every paper embedded: hybrid is on.")
    embedded: int = Field(0, description="Papers with a vector so far.")
    coverage: float = Field(1.0, description="Share of the papers with a vector.")
    votes: int = Field(0, description="Upvotes cast on this server.")
    top_categories: dict[str, int] = Field(default_factory=dict)
    jobs: list[JobOut] = Field(default_factory=list)
    harvests: list[HarvestOut] = Field(default_factory=list, description="Each harvest "
                                       "source: last run, papers brought, last error.")


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


def job_out(job: JobState) -> JobOut:
    """The API shape of a job state."""
    return JobOut(
        name=job.name, status="stalled" if job.stalled() else job.status, done=job.done,
        total=job.total, unit=job.unit, rate=job.rate, eta_seconds=job.eta_seconds,
        started_at=_iso(job.started_at), updated_at=_iso(job.updated_at),
        finished_at=_iso(job.finished_at), error=job.error, owner=job.owner,
        message=job.message, summary=job.describe(),
    )


def status_out(status: LibraryStatus, stats: LibraryStats,
               harvests: list[HarvestOut] | None = None) -> StatusOut:
    """The API shape of the library's status."""
    return StatusOut(
        papers=status.papers, first_date=stats.store.first_date,
        last_date=stats.store.last_date, days=stats.store.days,
        lexical_ready=status.lexical_ready, encoder=status.encoder,
        semantic_ready=status.semantic_ready, embedded=status.embedded,
        coverage=status.coverage, votes=stats.store.votes,
        top_categories=stats.store.top_categories, jobs=[job_out(j) for j in status.jobs],
        harvests=harvests or [],
    )


def paper_out(paper: Paper) -> PaperOut:
    """The API shape of a paper."""
    return PaperOut(
        id=paper.id, version=paper.version, title=paper.title, abstract=paper.abstract,
        authors=list(paper.authors), author_count=paper.n_authors, published=paper.published,
        categories=list(paper.categories), organization=paper.organization,
        upvotes=paper.total_upvotes,
        votes=VotesOut(source=paper.upvotes, here=paper.votes_here,
                       anonymous=paper.votes_anonymous, members=paper.votes_members),
        links=LinksOut(abs=paper.links.abs, pdf=paper.links.pdf, code=list(paper.links.code)),
        comment=paper.comment,
    )


def result_out(result: SearchResult) -> ResultOut:
    """The API shape of a search hit."""
    return ResultOut(paper=paper_out(result.paper), score=result.score, why=list(result.why))
