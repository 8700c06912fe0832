"""Listings: the daily feed (home), trending, categories and authors, and the daily Atom feed.

Each page has a JSON twin under ``/api``; both call the same function in
:mod:`papersift.feeds` and differ only in how they render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from papersift.web import atom, maps
from papersift.web.app import WebState, state
from papersift.web.community import submissions_view
from papersift.web.harvests import harvests, source_lines
from papersift.web.models import (
    DailyPage,
    ListingPage,
    StatusOut,
    TrendingPage,
    paper_out,
    status_out,
)
from papersift.web.params import absolute, page_window, pagination, paper_path, parse_day, self_url

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
Page = Annotated[int, Query(ge=1, description="1-based page number.")]
Day = Annotated[str | None, Query(description="Listing day, YYYY-MM-DD (newest if empty).")]


def _daily(web: WebState, day: str | None, page: int) -> DailyPage:
    offset, limit = page_window(page, web.settings.per_page)
    listing = web.library.daily(parse_day(day), limit=limit, offset=offset)
    return DailyPage(
        date=listing.day, previous=listing.previous, next=listing.next, total=listing.total,
        pagination=pagination(page, limit, offset + limit < listing.total),
        papers=[paper_out(p) for p in listing.papers],
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, web: Web, date: Day = None, page: Page = 1) -> HTMLResponse:
    """The daily listing (HTML), under the most upvoted papers of late, with the map's rising
    topics and the papers members submitted for the day."""
    found = _daily(web, date, page)
    return web.render(request, "daily.html", page=found,
                      upvoted=_trending(web, None, limit=5), rising=maps.rising_topics(web),
                      sources=source_lines(web.library),
                      submitted=submissions_view(web, request, found.date))


@router.get("/days/{day}", response_class=HTMLResponse, include_in_schema=False)
def day_page(request: Request, web: Web, day: str, page: Page = 1) -> HTMLResponse:
    """The listing of one day (HTML)."""
    found = _daily(web, day, page)
    return web.render(request, "daily.html", page=found,
                      submitted=submissions_view(web, request, found.date))


@router.get("/api/daily", response_model=DailyPage, tags=["listings"])
def daily_api(web: Web, date: Day = None, page: Page = 1) -> DailyPage:
    """Papers listed on a day, most upvoted first, with the previous and next listing days.
    HTML: `/` and `/days/{day}`."""
    return _daily(web, date, page)


def _trending(web: WebState, days: int | None, limit: int | None = None) -> TrendingPage:
    days = days or web.settings.trending_days
    found = web.library.trending(days=days, limit=limit or web.settings.per_page)
    return TrendingPage(reference_day=found.reference, days=found.days,
                        requested_days=found.requested_days, notice=found.notice,
                        papers=[paper_out(p) for p in found.papers], scores=found.scores)


TrendDays = Annotated[int | None, Query(ge=1, le=3660, description="Days to look back.")]


@router.get("/trending", response_class=HTMLResponse, include_in_schema=False)
def trending(request: Request, web: Web, days: TrendDays = None) -> HTMLResponse:
    """Trending papers (HTML)."""
    return web.render(request, "trending.html", page=_trending(web, days))


@router.get("/api/trending", response_model=TrendingPage, tags=["listings"])
def trending_api(web: Web, days: TrendDays = None) -> TrendingPage:
    """Upvoted papers of the last `days` days by votes / (age_days + 2) ** 1.5.
    HTML: `/trending`."""
    return _trending(web, days)


def _category(web: WebState, name: str, page: int) -> ListingPage:
    offset, limit = page_window(page, web.settings.per_page)
    found = web.library.category(name, limit=limit, offset=offset)
    return ListingPage(kind="category", name=name, total=found.total,
                       pagination=pagination(page, limit, offset + limit < found.total),
                       papers=[paper_out(p) for p in found.papers])


def _author(web: WebState, name: str, page: int) -> ListingPage:
    offset, limit = page_window(page, web.settings.per_page)
    found = web.library.author(name, limit=limit, offset=offset)
    return ListingPage(kind="author", name=name, total=found.total,
                       pagination=pagination(page, limit, offset + limit < found.total),
                       papers=[paper_out(p) for p in found.papers])


@router.get("/categories/{name}", response_class=HTMLResponse, include_in_schema=False)
def category(request: Request, web: Web, name: str, page: Page = 1) -> HTMLResponse:
    """A category's papers (HTML)."""
    return web.render(request, "listing.html", page=_category(web, name, page))


@router.get("/api/categories/{name}", response_model=ListingPage, tags=["listings"])
def category_api(web: Web, name: str, page: Page = 1) -> ListingPage:
    """Papers in a category (e.g. `cs.CL`), newest first. HTML: `/categories/{name}`."""
    return _category(web, name, page)


@router.get("/authors/{name}", response_class=HTMLResponse, include_in_schema=False)
def author(request: Request, web: Web, name: str, page: Page = 1) -> HTMLResponse:
    """An author's papers (HTML)."""
    return web.render(request, "listing.html", page=_author(web, name, page))


@router.get("/api/authors/{name}", response_model=ListingPage, tags=["listings"])
def author_api(web: Web, name: str, page: Page = 1) -> ListingPage:
    """Papers by an author (exact name, any case), newest first. HTML: `/authors/{name}`."""
    return _author(web, name, page)


@router.get("/feeds/daily.atom", tags=["feeds"],
            responses={200: {"content": {"application/atom+xml": {}}}})
def daily_feed(request: Request, web: Web, date: Day = None) -> Response:
    """The daily listing as an Atom feed (newest listing day unless `date` is given)."""
    with web.heavy:
        listing = web.library.daily(parse_day(date), limit=100)
    day = listing.day.isoformat() if listing.day else "empty"
    body = atom.feed(
        title=f"{web.settings.title}: daily papers {day}", self_url=self_url(request),
        papers=listing.papers, page_url=lambda p: absolute(request, paper_path(p.id)),
    )
    return Response(body, media_type="application/atom+xml")


@router.get("/api/status", response_model=StatusOut, tags=["library"])
def status(web: Web) -> StatusOut:
    """What the library holds, whether semantic search is on, and what its jobs are doing."""
    return status_out(web.library.status(), web.library.stats(), harvests(web.library))
