"""The community on the web: digest subscriptions (double opt-in, one-click unsubscribe),
papers submitted to a day's feed (admins hide or feature them), and comments on papers.

Subscribing and confirming follow the sign-in pattern: a form with a CSRF token asks for a
confirmation mail (rate-limited per address and per network), and the mailed link opens a
page whose button confirms (so a mail scanner that fetches links confirms nothing). An
unsubscribe link is a signed capability: ``POST /unsubscribe?s=..&t=..`` needs no cookie
or CSRF token, which is what RFC 8058's ``List-Unsubscribe-Post`` asks for (the mail
provider posts ``List-Unsubscribe=One-Click``); ``GET`` shows a page with the button.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field

from papersift.community import Comment, CommunityError, Submission
from papersift.people import PersonError, User
from papersift.web import auth
from papersift.web.accounts import link_base
from papersift.web.app import WebState, state
from papersift.web.limits import network_of
from papersift.web.models import PaperOut, paper_out
from papersift.web.params import paper_path, parse_day
from papersift.web.render import url_for_query

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
Csrf = Annotated[str | None, Form()]

__all__ = ["CommentOut", "SubmissionOut", "comment_counts", "comments_view", "router",
           "submissions_view"]


class CommentOut(BaseModel):
    """A comment as pages and the API show it (``html``: its Markdown, rendered safely)."""

    id: int
    paper: str
    author: str
    body: str
    html: str
    created: datetime
    edited: datetime | None = None
    reply_to: int | None = None
    hidden: bool = False
    mine: bool = False


class CommentIn(BaseModel):
    paper: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    reply_to: int | None = None


class SubmissionOut(BaseModel):
    id: int
    day: date
    state: str
    submitter: str | None
    paper: PaperOut


def _comment_out(web: WebState, comment: Comment, user: User | None) -> CommentOut:
    return CommentOut(id=comment.id, paper=comment.paper_id, author=comment.author,
                      body=comment.body, html=web.library.render_comment(comment.body),
                      created=comment.created, edited=comment.edited, reply_to=comment.parent,
                      hidden=comment.hidden, mine=bool(user and user.id == comment.user_id))


def comments_view(web: WebState, request: Request, paper_id: str) -> list[dict[str, Any]]:
    """A paper's comments for its page, each with its safe HTML as markup."""
    user = auth.viewer(web, request).user
    shown = []
    for comment in web.library.comments(paper_id, viewer=user):
        out = _comment_out(web, comment, user)
        # safe: comment_text rendered it with raw HTML off and links checked
        shown.append({**out.model_dump(), "html": Markup(out.html)})
    return shown


def submissions_view(web: WebState, request: Request, day: date | None) -> list[SubmissionOut]:
    """The papers submitted to a day's feed (hidden ones too for an admin)."""
    if day is None:
        return []
    user = auth.viewer(web, request).user
    return [_submission_out(s) for s in
            web.library.submissions(day, hidden=bool(user and user.admin))]


def _submission_out(found: Submission) -> SubmissionOut:
    return SubmissionOut(id=found.id, day=found.day, state=found.state,
                         submitter=found.submitter, paper=paper_out(found.paper))


def comment_counts(web: WebState, context: dict[str, Any]) -> dict[str, int]:
    """Visible comments of every paper a page shows (one query per page)."""
    ids = list(dict.fromkeys(p.id for value in context.values()
                             for p in auth.papers_in(value)))
    return web.library.comment_counts(ids)


# -- limits and answers -------------------------------------------------------------------
def _limited(web: WebState, key: str, burst: float, per_hour: float, what: str) -> None:
    wait = web.library.take_token(key, max(int(burst), 1), per_hour / 60.0)
    if wait > 0:
        raise HTTPException(429, f"too many {what}; try again later",
                            headers={"Retry-After": str(int(wait) + 1)})


@contextmanager
def _answering() -> Iterator[None]:
    """Turns the library's refusals into answers: 400, 403 (not allowed), 404."""
    from papersift.curation import NotAllowed

    try:
        yield
    except NotAllowed as error:
        raise HTTPException(403, str(error)) from None
    except (CommunityError, PersonError) as error:
        raise HTTPException(400, str(error)) from None
    except KeyError as error:
        raise HTTPException(404, f"not found: {error.args[0]}") from None


def _back(path: str | None, fallback: str) -> RedirectResponse:
    ok = path and path.startswith("/") and not path.startswith(("//", "/\\"))
    return RedirectResponse(path if ok else fallback, status_code=303)  # type: ignore[arg-type]


def _member(web: WebState, request: Request, csrf: str | None) -> User:
    found = auth.require_change(web, request, csrf)
    assert found.user is not None
    return found.user


# -- digests ------------------------------------------------------------------------------
def _digest_page(web: WebState, request: Request, status_code: int = 200,
                 **extra: Any) -> HTMLResponse:
    user = auth.viewer(web, request).user
    page = web.render(request, "digests.html", status_code=status_code, nav="digests",
                      subscription=web.library.subscription_of(user) if user else None,
                      prefs=web.library.community_prefs(user) if user else None, **extra)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/digests", response_class=HTMLResponse, include_in_schema=False)
def digests_page(request: Request, web: Web) -> HTMLResponse:
    """Subscribe to the digest; members change what it holds and their saved searches."""
    return _digest_page(web, request)


def _subscribe(web: WebState, request: Request, email: str, frequency: str) -> str:
    base = link_base(web, request)
    if base is None or not web.library.mail_settings.configured:
        raise HTTPException(503, "digests are not set up on this server: it needs base_url "
                            "and mail (PAPERSIFT_SMTP_HOST)")
    settings = web.settings
    network = network_of(request.client.host if request.client else "unknown")
    with _answering():
        address = email.strip().lower()
        _limited(web, f"subscribe-net:{network}", settings.network_subscriptions_per_hour,
                 settings.network_subscriptions_per_hour, "subscription requests")
        _limited(web, f"subscribe-address:{address}", settings.subscription_mails_per_hour,
                 settings.subscription_mails_per_hour, "subscription requests")
        web.library.subscribe(
            email, frequency=frequency, site=settings.title,
            link_for=lambda secret: f"{base}{url_for_query('/digests/confirm', token=secret)}")
    return ("A confirmation link is on its way to that address. The digest starts when "
            "you follow it.")


@router.post("/digests/subscribe", response_class=HTMLResponse, include_in_schema=False)
def subscribe_form(request: Request, web: Web, email: Annotated[str, Form(max_length=300)],
                   frequency: Annotated[str, Form(max_length=10)] = "daily",
                   csrf: Csrf = None) -> HTMLResponse:
    """Ask for a digest (a confirmation mail goes to the address)."""
    auth.check_same_site(request)
    if not auth.csrf_ok(auth.viewer(web, request), request, csrf):
        raise HTTPException(403, "this form has expired: reload the page and try again")
    return _digest_page(web, request, sent=_subscribe(web, request, email, frequency))


@router.get("/digests/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, web: Web,
                 token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """The page a confirmation link opens: its button confirms (a GET changes nothing)."""
    page = web.render(request, "digest_confirm.html", token=token, nav="digests")
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/digests/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm(request: Request, web: Web,
            token: Annotated[str, Form(max_length=200)] = "") -> HTMLResponse:
    """Confirm a subscription (double opt-in)."""
    auth.check_same_site(request)
    found = web.library.confirm_subscription(token)
    if found is None:
        return _digest_page(web, request, status_code=400,
                            failed="That confirmation link is unknown or has expired; "
                                   "subscribe again.")
    return _digest_page(web, request, confirmed=found)


@router.post("/digests/settings", include_in_schema=False)
def settings_form(request: Request, web: Web, csrf: Csrf = None,
                  frequency: Annotated[str, Form(max_length=10)] = "daily",
                  trending: Annotated[str | None, Form()] = None,
                  picks: Annotated[str | None, Form()] = None) -> Response:
    """A member changes how often the digest comes and what it holds."""
    user = _member(web, request, csrf)
    with _answering():
        web.library.update_digest(user, frequency=frequency, trending=bool(trending),
                                  picks=bool(picks))
    return _back("/digests", "/digests")


@router.post("/digests/searches", include_in_schema=False)
def add_search_form(request: Request, web: Web, query: Annotated[str, Form(max_length=400)],
                    mode: Annotated[str, Form(max_length=10)] = "auto",
                    csrf: Csrf = None) -> Response:
    """Add a saved search: its new matches come with each digest."""
    user = _member(web, request, csrf)
    with _answering():
        web.library.add_saved_search(user, query, mode)
    return _back("/digests", "/digests")


@router.post("/digests/searches/{search_id}/delete", include_in_schema=False)
def remove_search_form(request: Request, web: Web, search_id: int,
                       csrf: Csrf = None) -> Response:
    user = _member(web, request, csrf)
    web.library.remove_saved_search(user, search_id)
    return _back("/digests", "/digests")


@router.post("/account/community", include_in_schema=False)
def prefs_form(request: Request, web: Web, csrf: Csrf = None,
               name: Annotated[str, Form(max_length=200)] = "",
               notify_replies: Annotated[str | None, Form()] = None) -> Response:
    """The name shown beside a member's submissions and comments; reply mails."""
    user = _member(web, request, csrf)
    with _answering():
        web.library.set_community_prefs(user, name=name, notify_replies=bool(notify_replies))
    return _back("/digests", "/digests")


@router.get("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, web: Web, s: int = 0,
                     t: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The page a digest's unsubscribe link opens: one button, no sign-in."""
    return web.render(request, "unsubscribe.html", s=s, t=t, nav="digests")


@router.post("/unsubscribe", response_class=HTMLResponse, tags=["digests"])
def unsubscribe(request: Request, web: Web, s: int = 0,
                t: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """Unsubscribe by a digest's signed link: the page's button, or a mail provider's
    one-click POST (`List-Unsubscribe=One-Click`, RFC 8058). No cookie or CSRF token: the
    signature is the authority."""
    found = web.library.unsubscribe(s, t)
    if found is None:
        return web.render(request, "unsubscribe.html", status_code=400, s=s, t=t,
                          failed=True, nav="digests")
    return web.render(request, "unsubscribe.html", s=s, t=t, done=found.email,
                      nav="digests")


# -- submissions --------------------------------------------------------------------------
@router.get("/submit", response_class=HTMLResponse, include_in_schema=False)
def submit_page(request: Request, web: Web,
                day: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    """Submit a paper to a day's feed (members)."""
    auth.need_user(web, request)
    chosen = parse_day(day, "day") or date.today()
    return web.render(request, "submit.html", day=chosen, nav="daily")


def _submit(web: WebState, request: Request, user: User, day: date, fields: dict[str, str]
            ) -> Submission:
    per_day = web.settings.submissions_per_day
    _limited(web, f"submit:{user.id}", per_day, per_day / 24.0, "submissions")
    with _answering():
        return web.library.submit_paper(user, day, **fields)


@router.post("/submit", include_in_schema=False)
def submit_form(request: Request, web: Web, day: Annotated[str, Form(max_length=20)],
                csrf: Csrf = None, arxiv_id: Annotated[str, Form(max_length=200)] = "",
                title: Annotated[str, Form(max_length=1000)] = "",
                abstract: Annotated[str, Form(max_length=20_000)] = "",
                authors: Annotated[str, Form(max_length=20_000)] = "",
                link: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Submit a paper by arXiv id, or by pasting its metadata."""
    user = _member(web, request, csrf)
    chosen = parse_day(day, "day") or date.today()
    done = _submit(web, request, user, chosen, {"paper_id": arxiv_id, "title": title,
                                                "abstract": abstract, "authors": authors,
                                                "link": link})
    return RedirectResponse(f"/days/{done.day.isoformat()}#submitted", status_code=303)


class SubmissionIn(BaseModel):
    day: date
    arxiv_id: str = Field("", max_length=200)
    title: str = Field("", max_length=1000)
    abstract: str = Field("", max_length=20_000)
    authors: str = Field("", max_length=20_000)
    link: str = Field("", max_length=500)


@router.post("/api/submissions", response_model=SubmissionOut, status_code=201,
             tags=["community"])
def submit_api(request: Request, web: Web, body: SubmissionIn) -> SubmissionOut:
    """Submit a paper to a day's feed by arXiv id (in this library), or by its metadata."""
    user = _member(web, request, None)
    return _submission_out(_submit(web, request, user, body.day, {
        "paper_id": body.arxiv_id, "title": body.title, "abstract": body.abstract,
        "authors": body.authors, "link": body.link}))


@router.get("/api/days/{day}/submissions", response_model=list[SubmissionOut],
            tags=["community"])
def submissions_api(request: Request, web: Web, day: str) -> list[SubmissionOut]:
    """The papers members submitted to a day's feed, featured first."""
    return submissions_view(web, request, parse_day(day, "day"))


@router.post("/submissions/{submission_id}/state", include_in_schema=False)
def moderate_form(request: Request, web: Web, submission_id: int,
                  state: Annotated[str, Form(max_length=10)], csrf: Csrf = None,
                  next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """An admin shows, hides or features a submitted paper."""
    user = _member(web, request, csrf)
    with _answering():
        web.library.moderate_submission(user, submission_id, state)  # type: ignore[arg-type]
    return _back(next, "/")


# -- comments -----------------------------------------------------------------------------
def _post_comment(web: WebState, request: Request, user: User, paper_id: str, body: str,
                  parent: int | None) -> Comment:
    _limited(web, f"comment:{user.id}", 10, web.settings.comments_per_hour, "comments")
    base = link_base(web, request)
    with _answering():
        return web.library.comment(
            user, paper_id, body, parent=parent, site=web.settings.title,
            paper_url=(lambda pid: f"{base}{paper_path(pid)}") if base else None)


@router.post("/papers/{paper_id:path}/comments", include_in_schema=False)
def comment_form(request: Request, web: Web, paper_id: str,
                 body: Annotated[str, Form(max_length=20_000)], csrf: Csrf = None,
                 reply_to: Annotated[int | None, Form()] = None) -> Response:
    """Post a comment (or a reply) on a paper's page."""
    user = _member(web, request, csrf)
    made = _post_comment(web, request, user, paper_id, body, reply_to)
    return RedirectResponse(f"{paper_path(made.paper_id)}#comment-{made.id}", status_code=303)


@router.get("/api/comments", response_model=list[CommentOut], tags=["community"])
def comments_api(request: Request, web: Web,
                 paper: Annotated[str, Query(max_length=200)]) -> list[CommentOut]:
    """A paper's comments, oldest first (`html` is the Markdown rendered safely)."""
    user = auth.viewer(web, request).user
    return [_comment_out(web, c, user) for c in web.library.comments(paper, viewer=user)]


@router.post("/api/comments", response_model=CommentOut, status_code=201, tags=["community"])
def comment_api(request: Request, web: Web, body: CommentIn) -> CommentOut:
    """Comment on a paper (a small Markdown subset; raw HTML shows as text)."""
    user = _member(web, request, None)
    made = _post_comment(web, request, user, body.paper, body.body, body.reply_to)
    return _comment_out(web, made, user)


def _comment_paper(web: WebState, comment_id: int) -> str:
    found = web.library.comment_by_id(comment_id)
    if found is None:
        raise HTTPException(404, f"no comment {comment_id}")
    return paper_path(found.paper_id)


@router.post("/comments/{comment_id}/edit", include_in_schema=False)
def edit_form(request: Request, web: Web, comment_id: int,
              body: Annotated[str, Form(max_length=20_000)], csrf: Csrf = None) -> Response:
    user = _member(web, request, csrf)
    _limited(web, f"comment:{user.id}", 10, web.settings.comments_per_hour, "comments")
    with _answering():
        made = web.library.edit_comment(user, comment_id, body)
    return RedirectResponse(f"{paper_path(made.paper_id)}#comment-{made.id}", status_code=303)


@router.post("/comments/{comment_id}/delete", include_in_schema=False)
def delete_form(request: Request, web: Web, comment_id: int, csrf: Csrf = None) -> Response:
    user = _member(web, request, csrf)
    with _answering():
        gone = web.library.delete_comment(user, comment_id)
    return RedirectResponse(f"{paper_path(gone.paper_id)}#comments", status_code=303)


@router.delete("/api/comments/{comment_id}", status_code=204, tags=["community"])
def delete_api(request: Request, web: Web, comment_id: int) -> Response:
    """Delete one of your comments."""
    user = _member(web, request, None)
    with _answering():
        web.library.delete_comment(user, comment_id)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/hide", include_in_schema=False)
def hide_form(request: Request, web: Web, comment_id: int, csrf: Csrf = None,
              hidden: Annotated[int, Form()] = 1) -> Response:
    """An admin hides a comment (or shows it again)."""
    user = _member(web, request, csrf)
    back = _comment_paper(web, comment_id)
    with _answering():
        web.library.hide_comment(user, comment_id, bool(hidden))
    return RedirectResponse(f"{back}#comment-{comment_id}", status_code=303)
