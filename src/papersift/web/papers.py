"""A paper's page (full abstract, authors, categories, links, similar papers) and upvotes.

Upvoting works as a plain form POST (answered with a redirect back) and, for scripts, as
JSON from ``/api/papers/{id}/upvote``. A second upvote by the same voter withdraws the
first. Voters are identified by a signed cookie that a page view issued: a vote without one
is not counted but gets the cookie and is asked to vote again, so a script cannot mint a
fresh voter per request. Each vote takes a token from the voter's bucket and from its
network's (see :mod:`papersift.web.limits`). Cross-site posts are refused: a browser's
``Origin`` (``null`` included) or ``Sec-Fetch-Site`` must say this site.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papersift.papers import Paper
from papersift.web import auth
from papersift.web.app import WebState, state
from papersift.web.auth import check_same_site
from papersift.web.limits import network_of
from papersift.web.models import PaperPage, VoteOut, paper_out, result_out
from papersift.web.params import paper_path
from papersift.web.saved import member

router = APIRouter()
Web = Annotated[WebState, Depends(state)]


def _paper(web: WebState, paper_id: str) -> Paper:
    paper = web.library.get(paper_id)
    if paper is None:
        raise HTTPException(404, f"no paper with id {paper_id!r} in this library")
    return paper


def _voter(web: WebState, request: Request) -> str | None:
    return web.cookies.voter(request.cookies.get(web.cookies.name))


def _page(web: WebState, request: Request, paper_id: str) -> PaperPage:
    paper = _paper(web, paper_id)
    similar = web.library.similar(paper.id, limit=web.settings.similar)
    user = auth.viewer(web, request).user
    voted = paper.id in (web.library.member_voted([paper.id], user) if user else
                         web.library.voted([paper.id], _voter(web, request)))
    return PaperPage(paper=paper_out(paper), similar=[result_out(r) for r in similar],
                     voted=voted, similar_mode=similar.mode, notice=similar.notice)


class _NeedsCookie(Exception):
    """The vote came without a voter cookie; one is issued, and the vote must be repeated."""


def _vote(web: WebState, request: Request, paper_id: str, csrf: str | None = None) -> VoteOut:
    """Cast or withdraw this client's vote (a member's, counted apart, when signed in)."""
    if auth.viewer(web, request).user is not None:
        user = member(web, request, csrf)  # this site, the CSRF token, the member's bucket
        vote = web.library.member_upvote(_paper(web, paper_id).id, user)
        return VoteOut(id=vote.id, upvotes=vote.upvotes, voted=vote.voted)
    check_same_site(request)
    paper = _paper(web, paper_id)
    voter = _voter(web, request)
    if voter is None:
        raise _NeedsCookie
    network = network_of(request.client.host if request.client else "unknown")
    settings = web.settings
    wait = max(web.library.take_token(f"voter:{voter}", settings.vote_burst,
                                      settings.votes_per_minute),
               web.library.take_token(f"net:{network}", settings.ip_vote_burst,
                                      settings.ip_votes_per_minute))
    if wait > 0:
        raise HTTPException(429, "too many upvotes; try again shortly",
                            headers={"Retry-After": str(int(wait) + 1)})
    vote = web.library.upvote(paper.id, voter, network)
    return VoteOut(id=vote.id, upvotes=vote.upvotes, voted=vote.voted)


def _local(path: str | None, fallback: str) -> str:
    """Only redirect within this site."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return fallback


@router.post("/api/papers/{paper_id:path}/upvote", response_model=VoteOut, tags=["papers"],
             responses={403: {"description": "Cross-site, or no voter cookie yet (one is "
                                             "set: vote again)."},
                        429: {"description": "Rate limited; see Retry-After."}})
def upvote_api(request: Request, web: Web, paper_id: str) -> Response:
    """Upvote a paper (a second call by the same client withdraws the vote). The client
    needs the voter cookie any page of this site sets; without it the answer is 403 with
    the cookie set, and the same call then counts."""
    try:
        return JSONResponse(_vote(web, request, paper_id).model_dump())
    except _NeedsCookie:
        response = JSONResponse({"detail": "no voter cookie yet: one is set now; vote again"},
                                status_code=403)
        web.cookies.set(response)
        return response


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False)
def upvote_form(
    request: Request, web: Web, paper_id: str,
    next: Annotated[str | None, Query(description="Where to go back to.")] = None,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Upvote from a plain HTML form; redirects back to the page it came from."""
    back = _local(next, paper_path(paper_id))
    try:
        _vote(web, request, paper_id, csrf)
    except _NeedsCookie:
        response = RedirectResponse(f"{paper_path(paper_id)}?vote=again", status_code=303)
        web.cookies.set(response)
        return response
    return RedirectResponse(back, status_code=303)


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse, include_in_schema=False)
def paper_page(request: Request, web: Web, paper_id: str,
               vote: Annotated[str | None, Query(include_in_schema=False)] = None
               ) -> HTMLResponse:
    """A paper's page (HTML)."""
    from papersift.web.community import comments_view

    user = auth.viewer(web, request).user
    page = _page(web, request, paper_id)
    return web.render(request, "paper.html", page=page,
                      vote_again=vote == "again",
                      comments=comments_view(web, request, page.paper.id),
                      collections=web.library.collections(user) if user else [])


@router.get("/api/papers/{paper_id:path}", response_model=PaperPage, tags=["papers"])
def paper_api(request: Request, web: Web, paper_id: str) -> PaperPage:
    """A paper with its similar papers. HTML: `/papers/{paper_id}`."""
    return _page(web, request, paper_id)
