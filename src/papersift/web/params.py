"""Request parameters shared by the routers: days, pages, and URLs of papers."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import HTTPException, Request

from papersift.web.models import Pagination

__all__ = ["MAX_PAGE", "page_window", "pagination", "paper_path", "parse_day"]

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
    """``path`` as an absolute URL on the server that received ``request``."""
    return str(request.base_url).rstrip("/") + path
