"""An arXiv-API-compatible endpoint: ``/api/query`` answers as export.arxiv.org/api/query.

Existing arXiv clients (the ``arxiv`` package, feed readers) can point at papersift. The
arXiv query language is mapped onto papersift's search, flattening the boolean structure:

=====================  ===============================================================
arXiv                  papersift
=====================  ===============================================================
``all:``/``ti:``/      words searched in title and abstract (one BM25 field), so
``abs:``/bare words    ``ti:`` and ``abs:`` both search the whole text
``"a phrase"``         a phrase that must appear
``ANDNOT x``           ``-x``: papers containing the word are left out
``au:del_maestro``     author filter (``_`` stands for a space, as on arXiv)
``cat:cs.CL``          category filter; several ``cat:`` terms accept any of them
``id:2401.00001``      the same as ``id_list``
``submittedDate:[YYYYMMDDhhmm TO YYYYMMDDhhmm]``  publication date range
``AND``/``OR``/``()``  accepted and ignored: ranked search treats words as OR, and filters
                       as AND
=====================  ===============================================================

Ranking is lexical (BM25), the mode that matches what arXiv does; results page through the
first ``arxiv_api_window`` hits, and ``opensearch:totalResults`` counts within it.
``sortBy=submittedDate|lastUpdatedDate`` orders that window by date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from papersift.library import Library
from papersift.papers import Paper, normalize_id
from papersift.ranking import Filters
from papersift.web import atom
from papersift.web.app import WebState, state
from papersift.web.params import absolute, paper_path

__all__ = ["ArxivQuery", "parse_arxiv_query", "router"]

router = APIRouter()
Web = Annotated[WebState, Depends(state)]

_TOKEN = re.compile(
    r'(?P<field>[A-Za-z]+):(?P<value>"[^"]*"|\[[^\]]*\]|[^\s()]+)'
    r'|(?P<phrase>"[^"]*")|(?P<paren>[()])|(?P<word>[^\s()"]+)'
)
_TEXT_FIELDS = {"all", "ti", "abs", "co", "jr", "rn"}
_DATE_RANGE = re.compile(r"\[\s*(\d{8})\d*\s+TO\s+(\d{8})\d*\s*\]", re.I)


@dataclass
class ArxivQuery:
    """An arXiv ``search_query`` mapped onto papersift's search."""

    text: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None

    @property
    def query(self) -> str:
        return " ".join(self.text)

    def filters(self) -> Filters:
        return Filters(since=self.since, until=self.until,
                       categories=tuple(self.categories), authors=tuple(self.authors))


def _day(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _add_term(parsed: ArxivQuery, name: str, value: str, negated: bool) -> None:
    plain = value.strip('"')
    if name in _TEXT_FIELDS:
        if negated:
            parsed.text.extend(f"-{w}" for w in plain.split())
        else:
            parsed.text.append(value if value.startswith('"') else plain)
    elif name == "au" and not negated:
        parsed.authors.append(plain.replace("_", " "))
    elif name == "cat" and not negated:
        parsed.categories.append(plain)
    elif name == "id":
        parsed.ids.append(plain)
    elif name.lower() in ("submitteddate", "lastupdateddate"):
        found = _DATE_RANGE.match(value)
        if found:
            parsed.since, parsed.until = _day(found.group(1)), _day(found.group(2))


def parse_arxiv_query(search_query: str) -> ArxivQuery:
    """Map arXiv's query syntax onto text, filters and ids.

    >>> q = parse_arxiv_query('ti:"neural networks" AND au:del_maestro ANDNOT abs:quantum')
    >>> q.query, q.authors
    ('"neural networks" -quantum', ['del maestro'])
    """
    parsed = ArxivQuery()
    negated = False
    for match in _TOKEN.finditer(search_query):
        word = match.group("word")
        if word in ("AND", "OR", "ANDNOT"):
            negated = word == "ANDNOT"
            continue
        if match.group("paren"):
            continue
        if match.group("field"):
            _add_term(parsed, match.group("field"), match.group("value"), negated)
        else:
            _add_term(parsed, "all", match.group("phrase") or word, negated)
        negated = False
    return parsed


def _by_ids(library: Library, ids: list[str]) -> list[Paper]:
    papers = (library.get(normalize_id(i)[0]) for i in ids if i.strip())
    return [p for p in papers if p is not None]


def _window(library: Library, parsed: ArxivQuery, window: int) -> list[int]:
    """Row ids of the whole result window, best first."""
    filters = parsed.filters()
    if parsed.query:
        return library.lexical.search(parsed.query, filters=filters, limit=window).ids.tolist()
    if filters:  # no words: every paper passing the filters, newest added first
        return sorted(library.lexical.matching(filters).tolist(), reverse=True)[:window]
    return []


def _date_order(papers: dict[int, Paper], rowids: list[int], order: str) -> list[int]:
    known = [r for r in rowids if r in papers]
    return sorted(known, key=lambda r: papers[r].published or date.min,
                  reverse=order == "descending")


@dataclass(frozen=True)
class _Request:
    parsed: ArxivQuery
    ids: list[str]
    start: int
    max_results: int
    sort_by: str
    order: str


def _answer(library: Library, req: _Request, window: int) -> tuple[int, list[Paper]]:
    """``(totalResults, the requested page of papers)``."""
    end = req.start + req.max_results
    if req.ids and not (req.parsed.query or req.parsed.filters()):
        papers = _by_ids(library, req.ids)
        if req.sort_by != "relevance":
            papers.sort(key=lambda p: p.published or date.min, reverse=req.order == "descending")
        return len(papers), papers[req.start : end]
    rowids = _window(library, req.parsed, window)
    if req.ids:  # both given: the search restricted to the listed papers
        wanted = {library.catalog.rowid(p.id) for p in _by_ids(library, req.ids)}
        rowids = [r for r in rowids if r in wanted]
    if req.sort_by != "relevance":
        rowids = _date_order(library.catalog.by_rowids(rowids), rowids, req.order)
    elif req.order == "ascending":
        rowids = rowids[::-1]
    chosen = rowids[req.start : end]
    found = library.catalog.by_rowids(chosen)
    return len(rowids), [found[r] for r in chosen if r in found]


SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]


@router.get("/api/query", tags=["arxiv"],
            responses={200: {"content": {"application/atom+xml": {}}}})
async def query(
    request: Request, web: Web,
    search_query: Annotated[str, Query(description="arXiv query, e.g. ti:llm AND cat:cs.CL")] = "",
    id_list: Annotated[str, Query(description="Comma-separated arXiv ids.")] = "",
    start: Annotated[int, Query(ge=0, description="Index of the first result.")] = 0,
    max_results: Annotated[int, Query(ge=0, le=2000, description="Results per page.")] = 10,
    sortBy: Annotated[SortBy, Query()] = "relevance",
    sortOrder: Annotated[Literal["ascending", "descending"], Query()] = "descending",
) -> Response:
    """Search like the arXiv API and answer with the arXiv API's Atom (opensearch paging,
    `arxiv:primary_category`, a `pdf` link per entry)."""
    parsed = parse_arxiv_query(search_query)
    ids = [i for i in id_list.split(",") if i.strip()] + parsed.ids
    req = _Request(parsed, ids, start, max_results, sortBy, sortOrder)
    total, page = _answer(web.library, req, web.settings.arxiv_api_window)
    body = atom.feed(
        title=f"ArXiv Query: search_query={search_query}&id_list={id_list}",
        self_url=str(request.url), papers=page,
        page_url=lambda p: absolute(request, paper_path(p.id)),
        opensearch=atom.OpenSearch(total=total, start=start, per_page=max_results),
        alternate_is_page=False,
    )
    return Response(body, media_type="application/atom+xml")
