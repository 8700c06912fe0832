"""The personal feed: new papers of a day or a date range, ranked for the signed-in member,
with "why this paper", a few questions (the papers its model is least sure about), and a
way to start: find papers by author name or by search, and rate them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from papersift.people import User
from papersift.web import auth
from papersift.web.app import WebState, state
from papersift.web.models import PaperOut, paper_out
from papersift.web.params import page_window, pagination, parse_day
from papersift.web.people_models import FeedPage, feed_page

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
Day = Annotated[str | None, Query(description="YYYY-MM-DD")]
Page = Annotated[int, Query(ge=1, description="1-based page number.")]


def _feed(web: WebState, user: User, date: str | None, since: str | None,
          until: str | None, page: int) -> FeedPage:
    day = parse_day(date)
    first, last = (day, day) if day else (parse_day(since, "since"), parse_day(until, "until"))
    offset, limit = page_window(page, web.settings.per_page)
    found = web.library.personal_feed(user, since=first, until=last, limit=limit + 1,
                                      offset=offset,
                                      questions=web.settings.feed_questions if page == 1 else 0)
    result = feed_page(found, pagination(page, limit, len(found.items) > limit),
                       [paper_out(p) for p in found.questions])
    result.items = result.items[:limit]
    return result


@router.get("/feed", response_class=HTMLResponse, include_in_schema=False)
def feed_html(request: Request, web: Web, date: Day = None, since: Day = None,
              until: Day = None, page: Page = 1) -> HTMLResponse:
    """The personal feed (HTML)."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return web.render(request, "feed.html", page=_feed(web, found.user, date, since, until,
                                                       page), nav="feed")


@router.get("/api/feed", response_model=FeedPage, tags=["people"],
            responses={401: {"description": "Not signed in."}})
def feed_api(request: Request, web: Web, date: Day = None, since: Day = None,
             until: Day = None, page: Page = 1) -> FeedPage:
    """New papers ranked for you by a model of your ratings, upvotes and saves: one day
    (`date`), a range (`since`, `until`), or the last few listing days. HTML: `/feed`."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return _feed(web, found.user, date, since, until, page)


class StartPage(BaseModel):
    """Papers to rate to start a feed: by an author's name, or by a search."""

    author: str | None = None
    query: str | None = None
    by_author: list[PaperOut] = Field(default_factory=list)
    by_search: list[PaperOut] = Field(default_factory=list)


def _start(web: WebState, author: str | None, q: str | None) -> StartPage:
    page = StartPage(author=author or None, query=q or None)
    if author:
        page.by_author = [paper_out(p) for p in web.library.author(author, limit=30).papers]
    if q:
        page.by_search = [paper_out(r.paper) for r in web.library.search(q, limit=20)]
    return page


Text = Annotated[str | None, Query(max_length=200)]


@router.get("/feed/start", response_class=HTMLResponse, include_in_schema=False)
def start_html(request: Request, web: Web, author: Text = None, q: Text = None) -> HTMLResponse:
    """Start a feed (HTML): find papers to rate."""
    auth.need_user(web, request)
    return web.render(request, "feed_start.html", page=_start(web, author, q), nav="feed")


@router.get("/api/feed/start", response_model=StartPage, tags=["people"])
def start_api(request: Request, web: Web, author: Text = None, q: Text = None) -> StartPage:
    """Papers to rate to start your feed: by an author's full name, or matching a search.
    HTML: `/feed/start`."""
    auth.need_user(web, request)
    return _start(web, author, q)
