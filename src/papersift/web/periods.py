"""Weekly and monthly views (like the Daily Papers page's tabs) and the date picker.

``/weeks/2026-W27`` and ``/months/2026-07`` list every paper of that ISO week or month,
most upvoted first; ``/api/weekly`` and ``/api/monthly`` are their JSON twins. The date
picker is a plain GET form to ``/browse?view=week&date=2026-06-30``, which redirects to
the period holding that day, so it works without JavaScript.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papersift.periods import Kind, Period, parse_period
from papersift.web.app import WebState, state
from papersift.web.models import PeriodPage, paper_out
from papersift.web.params import page_window, pagination, parse_day

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
Page = Annotated[int, Query(ge=1, description="1-based page number.")]
Day = Annotated[str | None, Query(description="Any day of the period, YYYY-MM-DD (the "
                                              "newest listing day if empty).")]
PATHS: dict[Kind, str] = {"day": "/days/", "week": "/weeks/", "month": "/months/"}


def period_path(period: Period) -> str:
    """The page of a period: ``/days/2026-07-01``, ``/weeks/2026-W27``, ``/months/2026-07``."""
    return PATHS[period.kind] + period.slug


def _page(web: WebState, kind: Kind, day: Date | None, page: int) -> PeriodPage:
    offset, limit = page_window(page, web.settings.per_page)
    found = web.library.period(kind, day, limit=limit, offset=offset)
    shown = found.period
    return PeriodPage(
        view=kind, period=shown.slug if shown else None, label=shown.label if shown else None,
        start=shown.start if shown else None, end=shown.end if shown else None,
        previous=found.previous.slug if found.previous else None,
        next=found.next.slug if found.next else None, total=found.total,
        pagination=pagination(page, limit, offset + limit < found.total),
        papers=[paper_out(p) for p in found.papers],
    )


def _parse(kind: Kind, text: str) -> Date:
    try:
        return parse_period(kind, text).start
    except ValueError:
        example = {"week": "2026-W27", "month": "2026-07", "day": "2026-07-01"}[kind]
        raise HTTPException(400, f"{kind}: expected like {example}, got {text!r}") from None


@router.get("/weeks/{week}", response_class=HTMLResponse, include_in_schema=False)
def week_page(request: Request, web: Web, week: str, page: Page = 1) -> HTMLResponse:
    """One ISO week's papers (HTML)."""
    return web.render(request, "period.html", page=_page(web, "week", _parse("week", week),
                                                         page))


@router.get("/months/{month}", response_class=HTMLResponse, include_in_schema=False)
def month_page(request: Request, web: Web, month: str, page: Page = 1) -> HTMLResponse:
    """One month's papers (HTML)."""
    return web.render(request, "period.html", page=_page(web, "month",
                                                         _parse("month", month), page))


@router.get("/api/weekly", response_model=PeriodPage, tags=["listings"])
def weekly_api(web: Web, date: Day = None, page: Page = 1) -> PeriodPage:
    """Papers listed in the ISO week (Monday to Sunday) holding `date`, most upvoted first,
    with the previous and next weeks that have papers. HTML: `/weeks/{2026-W27}`."""
    return _page(web, "week", parse_day(date), page)


@router.get("/api/monthly", response_model=PeriodPage, tags=["listings"])
def monthly_api(web: Web, date: Day = None, page: Page = 1) -> PeriodPage:
    """Papers listed in the month holding `date`, most upvoted first, with the previous and
    next months that have papers. HTML: `/months/{2026-07}`."""
    return _page(web, "month", parse_day(date), page)


@router.get("/browse", include_in_schema=False)
def browse(web: Web, view: Literal["day", "week", "month"] = "day",
           date: Day = None) -> RedirectResponse:
    """The date picker's target: the day, week or month holding ``date``."""
    day = parse_day(date) or web.library.period("day", None, limit=0).period
    if isinstance(day, Period):
        day = day.start
    if day is None:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(period_path(Period.of(view, day)), status_code=303)
