"""Accounts without passwords: one-time sign-in links by e-mail, sessions, API tokens.

- **Sign-in links** are random 256-bit secrets, mailed once, kept as digests, spent by
  their first use, and dead after ``sign_in_minutes``. Asking for one answers the same
  whatever the address: an active account gets a link; under open registration an unknown
  address gets one that makes its account; under closed registration an unknown address is
  recorded as *pending* for an admin to approve (``papersift user add``) and gets no mail.
- **Sessions** are random secrets too (the web signs them into a cookie); each is a row,
  so signing out everywhere ends them all.
- **API tokens** (``pst_...``) authenticate scripts; shown once, kept as digests, revocable.

The functions here take the user store and plain values; :class:`papersift.members.Members`
(part of :class:`~papersift.library.Library`) is how the faces reach them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Literal

from papersift.backends.base import UserStore
from papersift.mail import Message
from papersift.people import (
    ApiToken,
    PersonError,
    User,
    digest,
    new_secret,
    normalize_email,
    utcnow,
)

__all__ = [
    "API_TOKEN_PREFIX",
    "MAX_TOKENS",
    "Registration",
    "Session",
    "SignInRequest",
    "api_token_user",
    "complete_sign_in",
    "create_api_token",
    "request_sign_in",
    "sign_in_message",
    "start_session",
]

API_TOKEN_PREFIX = "pst_"
MAX_TOKENS = 20
Registration = Literal["open", "closed"]
#: What asking for a link did (for logs and tests; the person is told the same in all cases).
Outcome = Literal["sent", "pending", "ignored"]


@dataclass(frozen=True, slots=True)
class SignInRequest:
    """What :func:`request_sign_in` did and the mail it wrote (None: no mail)."""

    outcome: Outcome
    message: Message | None = None
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session: its secret (for the cookie) and whose it is."""

    secret: str
    user: User
    expires: datetime
    next_path: str = "/"


def request_sign_in(users: UserStore, email: str, *, link_for: Callable[[str], str],
                    registration: Registration, minutes: float, site: str,
                    next_path: str = "/", allow_new: bool = True) -> SignInRequest:
    """Make a sign-in link for ``email`` when it may have one, and the mail carrying it.

    ``link_for(secret)`` turns the secret into the URL to mail; ``allow_new=False`` makes
    nothing for an address without an account. Raises
    :class:`~papersift.people.PersonError` only for something that is not an address.
    """
    address = normalize_email(email)
    user = users.user_by_email(address)
    if user is None and not allow_new:
        return SignInRequest("ignored")
    if user is None and registration == "closed":
        users.add_user(address, status="pending")
        return SignInRequest("pending")
    if user is not None and not user.active:
        return SignInRequest("ignored")
    secret = new_secret()
    users.add_sign_in(digest(secret), address, sign_up=user is None,
                      expires=utcnow() + timedelta(minutes=minutes),
                      next_path=_local_path(next_path))
    link = link_for(secret)
    return SignInRequest("sent", sign_in_message(address, link, site=site, minutes=minutes),
                         link)


def sign_in_message(address: str, link: str, *, site: str, minutes: float) -> Message:
    """The mail with a sign-in link: plain text and HTML (every value escaped)."""
    life = f"{minutes:g} minutes" if minutes != 1 else "1 minute"
    text = (f"Sign in to {site} with this link:\n\n{link}\n\n"
            f"It works once, for {life}. If you did not ask to sign in, ignore this mail: "
            "nothing happens without the link.\n")
    html = (f"<p>Sign in to {escape(site)} with this link:</p>"
            f'<p><a href="{escape(link)}">Sign in to {escape(site)}</a></p>'
            f"<p>It works once, for {escape(life)}. If you did not ask to sign in, ignore "
            "this mail: nothing happens without the link.</p>")
    return Message(to=address, subject=f"Sign in to {site}", text=text, html=html,
                   headers={"Auto-Submitted": "auto-generated"})


def complete_sign_in(users: UserStore, secret: str, *, days: float,
                     now: datetime | None = None) -> Session | None:
    """Spend a sign-in link and start a session; None when the link is unknown, used,
    expired, or its account is not active (or gone)."""
    now = now or utcnow()
    link = users.use_sign_in(digest(secret), now=now)
    if link is None:
        return None
    user = users.user_by_email(link.email)
    if user is None and link.sign_up:
        user = users.add_user(link.email)
    if user is None or not user.active:
        return None
    return start_session(users, user, days=days, next_path=link.next_path)


def start_session(users: UserStore, user: User, *, days: float,
                  next_path: str = "/") -> Session:
    """A new session for a user (e.g. right after a sign-in link was spent)."""
    secret = new_secret()
    expires = utcnow() + timedelta(days=days)
    users.add_session(digest(secret), user.id, expires=expires)
    return Session(secret, user, expires, next_path)


def create_api_token(users: UserStore, user: User, name: str) -> tuple[str, ApiToken]:
    """A new personal API token: ``(the secret, shown only now; what is kept of it)``."""
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 100:
        raise PersonError("a token needs a name of 1 to 100 characters (what it is for)")
    if len(users.api_tokens(user.id)) >= MAX_TOKENS:
        raise PersonError(f"you have {MAX_TOKENS} tokens already; revoke one first")
    secret = new_secret(API_TOKEN_PREFIX)
    return secret, users.add_api_token(user.id, name, digest(secret))


def api_token_user(users: UserStore, secret: str) -> User | None:
    """The active owner of an API token, or None."""
    if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 200:
        return None
    user = users.api_token_user(digest(secret))
    return user if user is not None and user.active else None


def _local_path(path: str | None) -> str:
    """Only paths on this site (no ``//host`` or ``/\\host``) are kept as where to go."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")) and len(path) < 500:
        return path
    return "/"
