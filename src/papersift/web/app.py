"""``create_app(library)``: the FastAPI application over one :class:`Library`.

Nothing is created at import time. Route handlers are plain ``def`` functions: FastAPI runs
them in a thread pool, so SQLite, tantivy and the encoder never stall the event loop, and a
slow request (or one waiting for another process's write lock) holds up only itself. The
app keeps no state beyond a request: votes, rate limits and the cookie key live in the
library's store, so any number of worker processes serve one library alike.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papersift.library import Library
from papersift.settings import describe_settings, setting
from papersift.web import auth
from papersift.web.invalid import field_name, invalid_response
from papersift.web.limits import VoterCookies
from papersift.web.render import Highlighter, environment, url_for_query

__all__ = ["BASE_URL_ENV", "SECRET_ENV", "WebSettings", "WebState", "create_app", "describe",
           "state"]

SECRET_ENV = "PAPERSIFT_SECRET"
BASE_URL_ENV = "PAPERSIFT_BASE_URL"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class WebSettings:
    """Settings of the web faces; ``describe()`` lists each with its help."""

    secret: str | None = setting(
        None, f"Key signing voter and session cookies and CSRF tokens (or env {SECRET_ENV}). "
        "Required for a public "
        "server; a loopback server without one uses a random key kept in the library.")
    per_page: int = setting(20, "Papers per page in listings and search results.")
    excerpt_chars: int = setting(400, "Characters of abstract shown in listings.")
    similar: int = setting(8, "Similar papers shown on a paper's page.")
    trending_days: int = setting(7, "Days of listings that trending looks back over.")
    vote_burst: int = setting(10, "Upvotes a client may cast at once (token bucket size).")
    votes_per_minute: float = setting(10.0, "Rate a client's upvote bucket refills at.")
    ip_vote_burst: int = setting(
        60, "Upvotes one network (an IPv4 /24 or IPv6 /48) may cast at once.")
    ip_votes_per_minute: float = setting(30.0, "Rate a network's upvote bucket refills at.")
    heavy_requests: int = setting(
        1, "Expensive requests (arXiv API, feeds) one worker runs at once; more wait, so "
        "cheap pages stay fast while a client hammers the expensive ones.")
    arxiv_api_window: int = setting(
        1000, "Most results the arXiv-compatible API pages through for one query.")
    title: str = setting("papersift", "Site name shown in the header and feeds.")
    base_url: str | None = setting(
        None, f"The site's public address, e.g. https://papers.example.org, for absolute "
        f"links in feeds and sign-in mails (or env {BASE_URL_ENV}); never taken from a "
        "request's Host header. Required for a public server (a loopback server uses the "
        "address it listens on); cookies are Secure when it is https.")
    registration: str = setting(
        "auto", "Who may make an account by signing in: 'open' (anyone), 'closed' (new "
        "addresses wait for an admin: `papersift user add`), or 'auto': open on a loopback "
        "server without a public base_url, closed everywhere else.")
    sign_ins_per_hour: float = setting(
        5.0, "Sign-in links one address may be sent per hour (a bucket of as many).")
    network_sign_ins_per_hour: float = setting(
        30.0, "Sign-in requests one network (an IPv4 /24 or IPv6 /48) may make per hour.")
    sign_ups_per_hour: float = setting(
        10.0, "New accounts (or requests to join a closed site) one network may start per "
        "hour.")
    ratings_per_minute: float = setting(
        60.0, "Ratings, saves, collection changes and upvotes one member may make per "
        "minute (a bucket of as many).")
    feed_questions: int = setting(
        5, "Papers the personal feed asks about: those its model is least sure of.")
    subscription_mails_per_hour: float = setting(
        3.0, "Digest confirmation mails one address may be sent per hour.")
    network_subscriptions_per_hour: float = setting(
        20.0, "Digest subscription requests one network may make per hour.")
    submissions_per_day: float = setting(
        10.0, "Papers one member may submit to the daily feeds per day (a bucket of as many).")
    comments_per_hour: float = setting(
        30.0, "Comments (and edits) one member may post per hour (a bucket of 10).")

    def replace(self, **changes: Any) -> WebSettings:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


def describe() -> list[tuple[str, Any, str]]:
    """Every web setting as ``(name, default, help)``."""
    return describe_settings(WebSettings)


@dataclass
class WebState:
    """What every request handler shares (read-only: the state lives in the library)."""

    library: Library
    settings: WebSettings
    templates: Environment
    highlighter: Highlighter
    cookies: VoterCookies
    heavy: threading.BoundedSemaphore
    key: bytes = b""

    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        """An HTML page from a template (autoescaped) with the site-wide context; a visitor
        without a voter cookie gets one (votes need a cookie a page view issued)."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        new_voter = None
        if self.cookies.voter(request.cookies.get(self.cookies.name)) is None:
            new_voter = self.cookies.issue()  # before rendering: its forms need its token
            request.state.new_voter = new_voter
            request.state.viewer = None  # worked out again, with the new voter's token
        viewer = auth.viewer_or_nobody(self, request)
        from papersift.web.community import comment_counts

        html = self.templates.get_template(template).render(
            request=request, here=here, site=self.settings, talk=comment_counts(self, context),
            paper_count=self.library.paper_count(), snippet=self.snippet,
            mark=self.highlighter.mark, viewer=viewer, mine=auth.marks(self, viewer, context),
            **context
        )
        response = HTMLResponse(html, status_code=status_code)
        if new_voter is not None:
            self.cookies.set(response, new_voter[1])
        return response

    def snippet(self, text: str, terms: frozenset[str] = frozenset()) -> Markup:
        """An escaped abstract excerpt with the query's terms marked."""
        return self.highlighter.excerpt(text, terms, self.settings.excerpt_chars)


def state(request: Request) -> WebState:
    """The :class:`WebState` of the app serving ``request`` (a FastAPI dependency)."""
    found: WebState = request.app.state.web
    return found


def create_app(library: Library, *, settings: WebSettings | None = None) -> FastAPI:
    """The papersift web app: HTML pages, their JSON twins under ``/api``, Atom feeds and an
    arXiv-compatible query API, all over ``library``."""
    from papersift.web import (
        accounts,
        arxiv_api,
        community,
        docs,
        feed,
        listings,
        maps,
        papers,
        periods,
        saved,
        search,
    )

    settings = settings or WebSettings()
    secret = settings.secret or os.environ.get(SECRET_ENV) or library.site_secret()
    app = FastAPI(
        title=f"{settings.title} API",
        summary="Daily papers, trending, search and an arXiv-compatible query API.",
        version="1", docs_url=None, redoc_url=None,  # /docs is ours: offline (web/docs.py)
    )
    app.state.web = WebState(
        library=library, settings=settings, templates=environment(),
        highlighter=Highlighter(library.terms), cookies=VoterCookies(secret),
        heavy=threading.BoundedSemaphore(max(settings.heavy_requests, 1)),
        key=secret.encode(),
    )
    for module in (community, papers, listings, periods, search, arxiv_api, maps, accounts, saved,
                   feed):
        app.include_router(module.router)
    _answer_head(app)
    docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_handlers(app)
    return app


class _HeadAsGet:
    """Every page answers HEAD as it answers GET (link checkers and feed readers use it):
    the request is routed as a GET and the body is dropped, the headers kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _answer_head(app: FastAPI) -> None:
    app.add_middleware(_HeadAsGet)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/feeds/", "/static/"))


def _install_handlers(app: FastAPI) -> None:
    @app.middleware("http")
    async def server_timing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        elapsed = (time.perf_counter() - start) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        # URLs (a sign-in link's token among them) never travel to other sites
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.media_type == "text/html" or _wants_html(request):
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'"
            )
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if not _wants_html(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        if exc.status_code == 401 and request.method == "GET":  # a page for members only
            return RedirectResponse(url_for_query("/signin", next=request.url.path),
                                    status_code=303)
        page = state(request).render(request, "error.html", status_code=exc.status_code,
                                     status=exc.status_code, detail=str(exc.detail))
        for key, value in (exc.headers or {}).items():
            page.headers[key] = value
        return page

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _wants_html(request):
            return invalid_response(exc.errors(), request.headers.get("content-type"))
        detail = "; ".join(f"{field_name(e)}: {e['msg']}" for e in exc.errors())
        return state(request).render(request, "error.html", status_code=422, status=422,
                                     detail=detail)
