"""A paper's page (full abstract, authors, categories, links, similar papers) and upvotes.

Upvoting works as a plain form POST (answered with a redirect back) and, for scripts, as
JSON from ``/api/papers/{id}/upvote``. A second upvote by the same voter withdraws the
first. Voters are identified by a signed cookie; each vote takes a token from the voter's
bucket and from its IP address's bucket (see :mod:`papersift.web.limits`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papersift import feeds
from papersift.papers import Paper
from papersift.web.app import WebState, state
from papersift.web.models import PaperPage, VoteOut, paper_out, result_out
from papersift.web.params import paper_path

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
_YEAR = 365 * 24 * 3600


def _paper(web: WebState, paper_id: str) -> Paper:
    paper = web.library.get(paper_id)
    if paper is None:
        raise HTTPException(404, f"no paper with id {paper_id!r} in this library")
    return feeds.with_votes(web.library, [paper])[0]


def _voter(web: WebState, request: Request) -> str | None:
    return web.cookies.voter(request.cookies.get(web.cookies.name))


def _page(web: WebState, request: Request, paper_id: str) -> PaperPage:
    paper = _paper(web, paper_id)
    similar = web.library.similar(paper.id, limit=web.settings.similar)
    voter = _voter(web, request)
    voted = bool(voter and web.library.catalog.local_votes([paper.id], voter))
    return PaperPage(paper=paper_out(paper), similar=[result_out(r) for r in similar],
                     voted=voted)


def _check_origin(request: Request) -> None:
    """Refuse cross-site form posts (browsers send Origin with every POST)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(403, "upvotes must come from this site's own pages")


def _vote(web: WebState, request: Request, paper_id: str) -> tuple[VoteOut, str | None]:
    """Cast or withdraw this client's vote; also returns a new cookie value if one is due."""
    _check_origin(request)
    paper = _paper(web, paper_id)
    voter, cookie = _voter(web, request), None
    if voter is None:
        voter, cookie = web.cookies.issue()
    ip = request.client.host if request.client else "unknown"
    wait = max(web.votes.take(f"voter:{voter}"), web.ip_votes.take(f"ip:{ip}"))
    if wait > 0:
        raise HTTPException(429, "too many upvotes; try again shortly",
                            headers={"Retry-After": str(int(wait) + 1)})
    catalog = web.library.catalog
    voted = catalog.add_vote(paper.id, voter) or not catalog.remove_vote(paper.id, voter)
    upvotes = feeds.with_votes(web.library, [web.library.get(paper.id) or paper])[0].upvotes
    return VoteOut(id=paper.id, upvotes=upvotes, voted=voted), cookie


def _with_cookie(web: WebState, response: Response, cookie: str | None) -> Response:
    if cookie is not None:
        response.set_cookie(web.cookies.name, cookie, max_age=_YEAR, httponly=True,
                            samesite="lax")
    return response


def _local(path: str | None, fallback: str) -> str:
    """Only redirect within this site."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return fallback


@router.post("/api/papers/{paper_id:path}/upvote", response_model=VoteOut, tags=["papers"],
             responses={429: {"description": "Rate limited; see Retry-After."}})
async def upvote_api(request: Request, web: Web, paper_id: str) -> Response:
    """Upvote a paper (a second call by the same client withdraws the vote)."""
    vote, cookie = _vote(web, request, paper_id)
    return _with_cookie(web, JSONResponse(vote.model_dump()), cookie)


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False)
async def upvote_form(
    request: Request, web: Web, paper_id: str,
    next: Annotated[str | None, Query(description="Where to go back to.")] = None,
) -> Response:
    """Upvote from a plain HTML form; redirects back to the page it came from."""
    vote, cookie = _vote(web, request, paper_id)
    back = _local(next, paper_path(vote.id))
    return _with_cookie(web, RedirectResponse(back, status_code=303), cookie)


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse, include_in_schema=False)
async def paper_page(request: Request, web: Web, paper_id: str) -> HTMLResponse:
    """A paper's page (HTML)."""
    return web.render(request, "paper.html", page=_page(web, request, paper_id))


@router.get("/api/papers/{paper_id:path}", response_model=PaperPage, tags=["papers"])
async def paper_api(request: Request, web: Web, paper_id: str) -> PaperPage:
    """A paper with its similar papers. HTML: `/papers/{paper_id}`."""
    return _page(web, request, paper_id)
