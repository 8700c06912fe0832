"""Signing in by mailed link, signing out (here or everywhere), the account page, API
tokens, and a member's data: export it, or delete the account with all of it.

Asking for a link answers the same for every address (no way to learn who has an
account), takes as long (the mail goes out in the background), and is rate-limited per
address and per network; new accounts are limited per network too. A link opens a page
with a button: following it spends the link (so a mail scanner that fetches links spends
nothing), once, before it expires.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papersift.people import PersonError, User, normalize_email
from papersift.web import auth
from papersift.web.app import WebState, state
from papersift.web.limits import network_of
from papersift.web.people_models import (
    AccountPage,
    NewTokenIn,
    NewTokenOut,
    SessionOut,
    SignInIn,
    SignInOut,
    TokenOut,
    user_out,
)
from papersift.web.render import url_for_query

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
log = logging.getLogger("papersift")

SENT = ("If this address may sign in here, a sign-in link is on its way to it. The link "
        "works once, for {minutes:g} minutes.")


def _loopback_server(request: Request) -> tuple[str, int] | None:
    from papersift.web.serve import is_loopback

    server = request.scope.get("server")
    if server and server[0] and is_loopback(str(server[0])):
        return str(server[0]), int(server[1] or 80)
    return None


def registration(web: WebState, request: Request) -> Literal["open", "closed"]:
    """The registration in force: 'auto' is open only on a loopback server that has no
    public base URL (a site behind a proxy sets ``base_url``, and so is closed)."""
    value = web.settings.registration
    if value in ("open", "closed"):
        return value  # type: ignore[return-value]
    base = urlsplit(web.settings.base_url or "").hostname
    from papersift.web.serve import is_loopback

    if base and not is_loopback(base):
        return "closed"
    return "open" if _loopback_server(request) else "closed"


def link_base(web: WebState, request: Request) -> str | None:
    """Where mailed links point: ``base_url``, or this server's own address on loopback
    (never the request's Host header, which a client chooses)."""
    if web.settings.base_url:
        return web.settings.base_url.rstrip("/")
    local = _loopback_server(request)
    if local is None:
        return None
    host = f"[{local[0]}]" if ":" in local[0] else local[0]
    return f"http://{host}:{local[1]}"


def _limited(web: WebState, key: str, per_hour: float) -> float:
    return web.library.take_token(key, max(int(per_hour), 1), per_hour / 60.0)


def _ask(web: WebState, request: Request, email: str, next_path: str) -> str:
    """Ask for a sign-in link; returns what to tell the person (the same for any address)."""
    base = link_base(web, request)
    if base is None:
        raise HTTPException(503, "sign-in is not set up on this server: its base_url "
                            "setting is missing")
    mail_ready = web.library.mail_settings.configured
    if not mail_ready and _loopback_server(request) is None:
        raise HTTPException(503, "sign-in is not set up on this server: mail is not "
                            "configured (PAPERSIFT_SMTP_HOST)")
    try:
        address = normalize_email(email)
    except PersonError as error:
        raise HTTPException(400, str(error)) from None
    network = network_of(request.client.host if request.client else "unknown")
    settings = web.settings
    wait = max(_limited(web, f"signin-address:{address}", settings.sign_ins_per_hour),
               _limited(web, f"signin-net:{network}", settings.network_sign_ins_per_hour))
    if wait > 0:
        raise HTTPException(429, "too many sign-in requests; try again later",
                            headers={"Retry-After": str(int(wait) + 1)})
    # New accounts are limited per network without saying so: a different answer would
    # tell whether the address has an account.
    new_ok = (web.library.user(address) is not None
              or _limited(web, f"signup-net:{network}", settings.sign_ups_per_hour) == 0)
    done = web.library.request_sign_in(
        address, link_for=lambda secret: f"{base}{url_for_query('/signin/confirm', token=secret)}",
        registration=registration(web, request), next_path=next_path, site=settings.title,
        allow_new=new_ok)
    minutes = web.library.settings.sign_in_minutes
    if not mail_ready:
        if done.link:  # loopback only: the person running the server reads its log
            log.warning("mail is not set up; sign-in link for %s: %s", address, done.link)
        return SENT.format(minutes=minutes) + (" Mail is not set up on this server: the link "
                                               "is written to the server's log.")
    return SENT.format(minutes=minutes)


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_page(request: Request, web: Web,
                next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    """The sign-in page (HTML)."""
    return web.render(request, "signin.html", page=_session(web, request),
                      next_path=_local(next), nav="signin")


@router.post("/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_form(request: Request, web: Web, email: Annotated[str, Form(max_length=300)],
                csrf: Annotated[str | None, Form()] = None,
                next: Annotated[str | None, Form(max_length=500)] = None) -> HTMLResponse:
    """Ask for a sign-in link from the form."""
    _visitor_change(web, request, csrf)
    told = _ask(web, request, email, _local(next))
    return web.render(request, "signin.html", page=_session(web, request), sent=told,
                      next_path=_local(next), nav="signin")


@router.get("/api/session", response_model=SessionOut, tags=["accounts"])
def session_api(request: Request, web: Web) -> SessionOut:
    """Who is signed in (null when nobody), the CSRF token this client's state-changing
    calls must send as `X-CSRF-Token`, and how sign-in works here. HTML: `/signin`."""
    return _session(web, request)


@router.post("/api/signin", response_model=SignInOut, status_code=202, tags=["accounts"],
             responses={403: {"description": "Cross-site, or no CSRF token (get one from "
                                             "/api/session)."},
                        429: {"description": "Rate limited; see Retry-After."}})
def signin_api(request: Request, web: Web, body: SignInIn) -> SignInOut:
    """Ask for a sign-in link by mail. The answer is the same whether or not the address
    has an account. Needs `X-CSRF-Token` from `/api/session` (same cookies)."""
    _visitor_change(web, request, None)
    return SignInOut(detail=_ask(web, request, body.email, _local(body.next)))


def _visitor_change(web: WebState, request: Request, token: str | None) -> None:
    auth.check_same_site(request)
    if not auth.csrf_ok(auth.viewer(web, request), request, token):
        raise HTTPException(403, "this form has expired: reload the page and try again")


@router.get("/signin/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, web: Web,
                 token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """The page a mailed link opens: one button signs in (a GET spends nothing)."""
    page = web.render(request, "signin_confirm.html", token=token, nav="signin")
    # Referrer-Policy stays same-origin: no-referrer would make the button's POST say
    # Origin "null", which is refused as cross-site
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/signin/confirm", include_in_schema=False)
def confirm(request: Request, web: Web,
            token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Spend the link: a session cookie and a redirect, or a page saying it is spent."""
    auth.check_same_site(request)
    session = web.library.sign_in(token)
    if session is None:
        return web.render(request, "signin.html", status_code=400, page=_session(web, request),
                          failed=True, next_path="/", nav="signin")
    response = RedirectResponse(_local(session.next_path), status_code=303)
    auth.set_session(web, request, response, session.secret)
    return response


@router.post("/signout", include_in_schema=False)
def signout(request: Request, web: Web, csrf: Annotated[str | None, Form()] = None,
            everywhere: Annotated[str | None, Form()] = None) -> Response:
    """Sign out of this browser, or (``everywhere``) end every session of the account."""
    found = auth.require_change(web, request, csrf)
    assert found.user is not None and found.session is not None
    if everywhere:
        web.library.sign_out_everywhere(found.user)
    else:
        web.library.sign_out(found.session)
    response = RedirectResponse("/", status_code=303)
    auth.clear_session(web, request, response)
    return response


@router.post("/api/signout", response_model=SignInOut, tags=["accounts"])
def signout_api(request: Request, web: Web,
                everywhere: Annotated[bool, Query(description="End every session.")] = False
                ) -> Response:
    """End this session (or, with `everywhere`, all of the account's sessions)."""
    found = auth.require_change(web, request)
    assert found.user is not None
    if everywhere:
        ended = web.library.sign_out_everywhere(found.user)
    else:
        ended = 1 if found.session else 0
        if found.session:
            web.library.sign_out(found.session)
    response = JSONResponse({"detail": f"{ended} session(s) ended"})
    if found.via == "session":
        auth.clear_session(web, request, response)
    return response


def _session(web: WebState, request: Request) -> SessionOut:
    found = auth.viewer(web, request)
    return SessionOut(user=user_out(found.user) if found.user else None, csrf=found.csrf,
                      registration=registration(web, request),
                      mail=web.library.mail_settings.configured)


def _account(web: WebState, user: User) -> AccountPage:
    return AccountPage(user=user_out(user), sessions=web.library.sessions(user),
                       tokens=[TokenOut.of(t) for t in web.library.api_tokens(user)],
                       collections=len(web.library.collections(user)))


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, web: Web) -> HTMLResponse:
    """The account page (HTML): sessions, API tokens, export, delete."""
    found = auth.need_user(web, request)
    assert found.user is not None
    page = web.render(request, "account.html", page=_account(web, found.user), nav="account")
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/api/me", response_model=AccountPage, tags=["accounts"],
            responses={401: {"description": "Not signed in."}})
def account_api(request: Request, web: Web) -> AccountPage:
    """The signed-in account: sessions, API tokens (names only). HTML: `/account`."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return _account(web, found.user)


@router.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def token_form(request: Request, web: Web, name: Annotated[str, Form(max_length=300)],
               csrf: Annotated[str | None, Form()] = None) -> HTMLResponse:
    """Create an API token; the page shows its secret once."""
    found = auth.require_change(web, request, csrf)
    assert found.user is not None
    secret = _new_token(web, found.user, name).token
    page = web.render(request, "account.html", page=_account(web, found.user),
                      new_token=secret, nav="account")
    page.headers["Cache-Control"] = "no-store"  # the new token is on it
    return page


@router.post("/api/me/tokens", response_model=NewTokenOut, status_code=201, tags=["accounts"])
def token_api(request: Request, web: Web, body: NewTokenIn) -> NewTokenOut:
    """Create a personal API token (send it as `Authorization: Bearer ...`); the secret
    is in this answer only."""
    found = auth.require_change(web, request)
    assert found.user is not None
    return _new_token(web, found.user, body.name)


def _new_token(web: WebState, user: User, name: str) -> NewTokenOut:
    try:
        secret, token = web.library.create_api_token(user, name)
    except PersonError as error:
        raise HTTPException(400, str(error)) from None
    return NewTokenOut(token=secret, id=token.id, name=token.name, created=token.created)


@router.post("/account/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_form(request: Request, web: Web, token_id: int,
                csrf: Annotated[str | None, Form()] = None) -> Response:
    found = auth.require_change(web, request, csrf)
    assert found.user is not None
    web.library.revoke_api_token(found.user, token_id)
    return RedirectResponse("/account", status_code=303)


@router.delete("/api/me/tokens/{token_id}", status_code=204, tags=["accounts"])
def revoke_api(request: Request, web: Web, token_id: int) -> Response:
    """Revoke one of your API tokens."""
    found = auth.require_change(web, request)
    assert found.user is not None
    if not web.library.revoke_api_token(found.user, token_id):
        raise HTTPException(404, f"you have no token {token_id}")
    return Response(status_code=204)


@router.get("/api/me/export", tags=["accounts"],
            responses={200: {"content": {"application/json": {}}}})
def export_api(request: Request, web: Web) -> Response:
    """Everything this site keeps about you, as one JSON file (also linked from
    `/account`)."""
    found = auth.need_user(web, request)
    assert found.user is not None
    data = web.library.export_user_data(found.user)
    return Response(json.dumps(data, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="papersift-data.json"',
                             "Cache-Control": "no-store"})


@router.post("/account/delete", include_in_schema=False)
def delete_form(request: Request, web: Web, confirm: Annotated[str, Form(max_length=300)] = "",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """Delete the account and all its data, after the address is typed to confirm."""
    found = auth.require_change(web, request, csrf)
    assert found.user is not None
    if confirm.strip().lower() != found.user.email:
        raise HTTPException(400, "type your address to confirm deleting your account")
    web.library.remove_user(found.user.email)
    response = RedirectResponse("/", status_code=303)
    auth.clear_session(web, request, response)
    return response


@router.delete("/api/me", status_code=204, tags=["accounts"])
def delete_api(request: Request, web: Web) -> Response:
    """Delete your account and everything of yours: votes, ratings, collections, tokens."""
    found = auth.require_change(web, request)
    assert found.user is not None
    web.library.remove_user(found.user.email)
    response = Response(status_code=204)
    auth.clear_session(web, request, response)
    return response


def _local(path: str | None) -> str:
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/"
