"""Request parameters shared by the routers: days, pages, and URLs of papers."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import HTTPException, Request

from papersift.web.models import Pagination

__all__ = ["MAX_PAGE", "absolute", "page_window", "pagination", "paper_path", "parse_day",
           "self_url"]

#: Deepest page served: ranked lists are cut by the engines' top-N, not walked to the end.
MAX_PAGE = 50


def parse_day(value: str | None, name: str = "date") -> date | None:
    """``YYYY-MM-DD`` to a date; empty means none (HTML forms send empty fields)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(400, f"{name}: expected a day as YYYY-MM-DD, got {value!r}") from None


def page_window(page: int, per_page: int) -> tuple[int, int]:
    """``(offset, limit)`` of a 1-based page."""
    page = min(max(page, 1), MAX_PAGE)
    return (page - 1) * per_page, per_page


def pagination(page: int, per_page: int, has_next: bool) -> Pagination:
    """Where a page sits in its list."""
    page = min(max(page, 1), MAX_PAGE)
    return Pagination(page=page, per_page=per_page, has_previous=page > 1,
                      has_next=has_next and page < MAX_PAGE)


def paper_path(paper_id: str) -> str:
    """The path of a paper's page (ids such as ``hep-th/9901001`` keep their slash)."""
    return "/papers/" + quote(paper_id, safe="/:")


def absolute(request: Request, path: str) -> str:
    """``path`` as an absolute URL on this site: under the configured ``base_url`` (never
    from the request's ``Host`` header, which any client can set), or, for an app without
    one (tests, embedding in another app), the request's own base URL."""
    base = request.app.state.web.settings.base_url or str(request.base_url)
    return base.rstrip("/") + path


def self_url(request: Request) -> str:
    """The absolute URL of this request (a feed's ``self`` link)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return absolute(request, request.url.path + query)
