"""Who is asking, and whether they may change something: sessions, API tokens, CSRF.

- **Sessions**: the cookie ``papersift_session`` carries a session secret signed with the
  site's key (HMAC-SHA256), ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when the request
  came over HTTPS or the configured ``base_url`` is https. The library keeps only the
  secret's digest; signing out ends the row, signing out everywhere ends all of them.
- **API tokens**: ``Authorization: Bearer pst_...`` authenticates a script. A bearer
  request carries no ambient credential, so it needs no CSRF token.
- **CSRF**: every state-changing form and JSON call made with the session cookie must
  carry a token (form field ``csrf`` or header ``X-CSRF-Token``) derived from the session
  with the site's key, and come from this site (``Origin``/``Sec-Fetch-Site``). Forms for
  visitors who are not signed in (asking for a sign-in link) carry a token derived from
  their voter cookie. Tokens are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from pydantic import BaseModel
from starlette.responses import Response

from papersift.people import User
from papersift.web.models import PaperOut

if TYPE_CHECKING:
    from papersift.web.app import WebState

__all__ = ["SESSION_COOKIE", "Viewer", "check_same_site", "csrf_ok", "marks", "need_user",
           "require_change", "viewer"]

SESSION_COOKIE = "papersift_session"
CSRF_HEADER = "x-csrf-token"
Via = Literal["session", "token"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request: a user (by session or API token) or nobody."""

    user: User | None = None
    via: Via | None = None
    session: str | None = None  # the session secret (from the signed cookie)
    csrf: str | None = None  # the token forms and JSON calls must carry


def _sign(key: bytes, text: str, size: int = 24) -> str:
    mac = hmac.new(key, text.encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def session_cookie_value(key: bytes, secret: str) -> str:
    return f"{secret}.{_sign(key, 'session:' + secret)}"


def _session_secret(key: bytes, value: str | None) -> str | None:
    if not value or "." not in value or len(value) > 300:
        return None
    secret, signature = value.rsplit(".", 1)
    return secret if hmac.compare_digest(signature, _sign(key, "session:" + secret)) else None


def secure_cookies(web: WebState, request: Request) -> bool:
    """Whether cookies must be ``Secure`` (HTTPS here, or an https base URL)."""
    base = web.settings.base_url or ""
    return request.url.scheme == "https" or base.startswith("https://")


def set_session(web: WebState, request: Request, response: Response, secret: str) -> None:
    response.set_cookie(SESSION_COOKIE, session_cookie_value(web.key, secret),
                        max_age=int(web.library.settings.session_days * 86400),
                        httponly=True, samesite="lax", secure=secure_cookies(web, request),
                        path="/")


def clear_session(web: WebState, request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                           secure=secure_cookies(web, request), path="/")


def viewer(web: WebState, request: Request) -> Viewer:
    """The person behind this request (worked out once per request); a bad API token
    answers 401."""
    found: Viewer | None = getattr(request.state, "viewer", None)
    if found is not None:
        return found
    found = _resolve(web, request)
    request.state.viewer = found
    return found


def _resolve(web: WebState, request: Request) -> Viewer:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user = web.library.api_token_user(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise HTTPException(401, "invalid or revoked API token; create one on /account",
                                headers={"WWW-Authenticate": "Bearer"})
        return Viewer(user, "token")
    session = _session_secret(web.key, request.cookies.get(SESSION_COOKIE))
    if session is not None:
        member = web.library.session_user(session)
        if member is not None and member.active:
            return Viewer(member, "session", session, _sign(web.key, "csrf:" + session))
    voter = web.cookies.voter(request.cookies.get(web.cookies.name))
    issued = getattr(request.state, "new_voter", None)  # a cookie this response sets
    voter = voter or (issued[0] if issued else None)
    return Viewer(csrf=_sign(web.key, "csrf-visitor:" + voter) if voter else None)


def viewer_or_nobody(web: WebState, request: Request) -> Viewer:
    """The person behind a request, or nobody (for rendering error pages)."""
    try:
        return viewer(web, request)
    except HTTPException:
        return Viewer()


def check_same_site(request: Request) -> None:
    """Refuse cross-site posts: browsers send ``Origin`` (``null`` from sandboxed frames and
    some redirects) and ``Sec-Fetch-Site`` with every POST."""
    origin = request.headers.get("origin")
    if origin is not None and (origin == "null"
                               or urlsplit(origin).netloc != request.url.netloc):
        raise HTTPException(403, "this action must come from this site's own pages")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise HTTPException(403, "this action must come from this site's own pages")


def csrf_ok(found: Viewer, request: Request, form_token: str | None) -> bool:
    """Whether a request carries the viewer's CSRF token (form field or header)."""
    sent = form_token or request.headers.get(CSRF_HEADER)
    return bool(found.csrf and sent and hmac.compare_digest(sent, found.csrf))


def require_change(web: WebState, request: Request, form_token: str | None = None) -> Viewer:
    """A signed-in person allowed to change their things: by API token, or by session from
    this site with the CSRF token. Raises 401 (nobody) or 403 (cross-site, no token)."""
    found = need_user(web, request)
    if found.via == "token":
        return found
    check_same_site(request)
    if not csrf_ok(found, request, form_token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return found


def need_user(web: WebState, request: Request) -> Viewer:
    """A signed-in person, or 401 (pages: a redirect to sign in, see the app's handler)."""
    found = viewer(web, request)
    if found.user is None:
        raise HTTPException(401, "sign in first", headers={"X-Sign-In": "/signin"})
    return found


def _papers_in(value: Any, depth: int = 0) -> Iterable[PaperOut]:
    """Every paper model inside a page's context (pages, results, lists of them)."""
    if depth > 4:
        return
    if isinstance(value, PaperOut):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _papers_in(getattr(value, name), depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _papers_in(item, depth + 1)


papers_in = _papers_in  # the community's comment counts look at the same papers


def marks(web: WebState, found: Viewer, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For a signed-in viewer, their marks on every paper a page shows: their upvote,
    rating and the collections holding it (three queries for the whole page)."""
    if found.user is None:
        return {}
    ids = list(dict.fromkeys(p.id for value in context.values() for p in _papers_in(value)))
    if not ids:
        return {}
    library = web.library
    voted = library.member_voted(ids, found.user)
    ratings = library.ratings(found.user, ids)
    saved = library.saved_in(found.user, ids)
    return {i: {"voted": i in voted, "rating": ratings.get(i, 0), "saved": saved.get(i, [])}
            for i in ids}
