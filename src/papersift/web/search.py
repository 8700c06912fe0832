"""Search: the search page, its JSON twin and its Atom feed (a saved search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from papersift.papers import Paper
from papersift.query import Filters, QueryError, SearchRequest
from papersift.search_results import SearchResults
from papersift.web import atom
from papersift.web.app import WebState, state
from papersift.web.models import SearchMode, SearchPage, result_out
from papersift.web.params import absolute, page_window, pagination, paper_path, self_url
from papersift.web.render import url_for_query

router = APIRouter()
Web = Annotated[WebState, Depends(state)]


@dataclass(frozen=True)
class SearchQuery:
    """A search as the page, the API and the feed receive it."""

    q: str
    mode: SearchMode
    since: str | None
    until: str | None
    category: str | None
    author: str | None
    page: int

    def filters(self) -> Filters:
        try:
            return Filters.parse(since=self.since, until=self.until, category=self.category,
                                 author=self.author)
        except QueryError as error:
            raise HTTPException(400, str(error)) from None

    def url(self, path: str, **changes: object) -> str:
        params: dict[str, object] = {
            "q": self.q, "mode": None if self.mode == "auto" else self.mode,
            "since": self.since, "until": self.until, "category": self.category,
            "author": self.author, "page": None if self.page == 1 else self.page,
        }
        params.update(changes)
        return url_for_query(path, **params)


def search_query(
    q: Annotated[str, Query(max_length=500, description="Words, \"phrases\", -excluded.")] = "",
    mode: Annotated[SearchMode, Query(description="Ranker: auto picks the best ready.")] = "auto",
    since: Annotated[str | None, Query(description="Published on or after, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, Query(description="Published on or before, YYYY-MM-DD.")] = None,
    category: Annotated[str | None, Query(max_length=500,
                                          description="Categories, comma separated.")] = None,
    author: Annotated[str | None, Query(max_length=200, description="Author name.")] = None,
    page: Annotated[int, Query(ge=1, description="1-based page number.")] = 1,
) -> SearchQuery:
    """The search parameters (a FastAPI dependency)."""
    return SearchQuery(q.strip(), mode, since or None, until or None, category or None,
                       author or None, page)


Search = Annotated[SearchQuery, Depends(search_query)]


def _search(web: WebState, query: SearchQuery) -> tuple[SearchPage, list[Paper]]:
    filters = query.filters()
    offset, limit = page_window(query.page, web.settings.per_page)
    results = SearchResults()
    if query.q:
        results = web.library.search_request(
            SearchRequest(query.q, query.mode, filters, limit + 1, offset))
    kept = results[:limit]
    page = SearchPage(
        query=query.q, mode=query.mode, mode_used=results.mode if query.q else None,
        coverage=results.coverage, notice=results.notice, since=filters.since,
        until=filters.until, category=query.category, author=query.author,
        pagination=pagination(query.page, limit, len(results) > limit),
        results=[result_out(r) for r in kept],
    )
    return page, [r.paper for r in kept]


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, web: Web, query: Search) -> HTMLResponse:
    """The search page (HTML)."""
    page, _ = _search(web, query)
    terms = frozenset(web.library.analyze(query.q).terms)
    return web.render(request, "search.html", page=page, search=query, terms=terms,
                      status=web.library.status())


@router.get("/api/search", response_model=SearchPage, tags=["search"])
def search_api(web: Web, query: Search) -> SearchPage:
    """Search papers: lexical (BM25), semantic or hybrid, with date, category and author
    filters. HTML: `/search`; Atom: `/feeds/search.atom`."""
    return _search(web, query)[0]


@router.get("/feeds/search.atom", tags=["feeds"],
            responses={200: {"content": {"application/atom+xml": {}}}})
def search_feed(request: Request, web: Web, query: Search) -> Response:
    """Any search as an Atom feed, to follow in a feed reader."""
    with web.heavy:
        _, papers = _search(web, query)
    body = atom.feed(
        title=f"{web.settings.title}: search {query.q!r}", self_url=self_url(request),
        papers=papers,
        page_url=lambda p: absolute(request, paper_path(p.id)),
    )
    return Response(body, media_type="application/atom+xml")
