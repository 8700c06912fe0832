"""An arXiv-API-compatible endpoint: ``/api/query`` answers as export.arxiv.org/api/query.

The query language and its mapping onto papersift's search are in
:mod:`papersift.arxiv_query`; the library answers (:meth:`papersift.Library.arxiv_query`)
and this module renders the arXiv API's Atom (opensearch paging,
``arxiv:primary_category``, a ``pdf`` link per entry). Work per request is bounded (ids per
request, results per page, query length), and a worker runs only a few such requests at
once (``WebSettings.heavy_requests``), so one client looping on it cannot stall the rest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from papersift.arxiv_query import MAX_RESULTS, ArxivRequest, SortBy, SortOrder
from papersift.query import MAX_QUERY_CHARS, QueryError
from papersift.web import atom
from papersift.web.app import WebState, state
from papersift.web.params import absolute, paper_path, self_url

__all__ = ["router"]

router = APIRouter()
Web = Annotated[WebState, Depends(state)]


@router.get("/api/query", tags=["arxiv"],
            responses={200: {"content": {"application/atom+xml": {}}},
                       400: {"description": "A parameter out of bounds (the detail says "
                                            "which)."}})
def query(
    request: Request, web: Web,
    search_query: Annotated[str, Query(max_length=MAX_QUERY_CHARS,
                                       description="arXiv query, e.g. ti:llm AND cat:cs.CL")] = "",
    id_list: Annotated[str, Query(max_length=8000,
                                  description="Comma-separated arXiv ids (at most 200).")] = "",
    start: Annotated[int, Query(ge=0, le=100_000, description="Index of the first result.")] = 0,
    max_results: Annotated[int, Query(ge=0, le=MAX_RESULTS,
                                      description="Results per page.")] = 10,
    sortBy: Annotated[SortBy, Query()] = "relevance",
    sortOrder: Annotated[SortOrder, Query()] = "descending",
) -> Response:
    """Search like the arXiv API and answer with the arXiv API's Atom."""
    try:
        call = ArxivRequest(search_query, tuple(id_list.split(",")), start, max_results,
                            sortBy, sortOrder)
    except QueryError as error:
        raise HTTPException(400, str(error)) from None
    with web.heavy:
        total, page = web.library.arxiv_query(call, window=web.settings.arxiv_api_window)
        body = atom.feed(
            title=f"ArXiv Query: search_query={search_query}&id_list={id_list}",
            self_url=self_url(request), papers=page,
            page_url=lambda p: absolute(request, paper_path(p.id)),
            opensearch=atom.OpenSearch(total=total, start=start, per_page=max_results),
            alternate_is_page=False,
        )
    return Response(body, media_type="application/atom+xml")
