"""What people keep in a library: accounts, sign-in links, API tokens, ratings, collections.

Plain values, shared by the user store (:class:`papersift.backends.base.UserStore`), the
library's behaviour (:mod:`papersift.accounts`, :mod:`papersift.collections`,
:mod:`papersift.personal_feed`) and the faces. Nothing here touches a store.

Secrets (sign-in links, session cookies, API tokens) never reach a store as written: the
store keeps :func:`digest` of each, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from papersift.community import Prefs

__all__ = [
    "ApiToken",
    "Collection",
    "CollectionItem",
    "Feedback",
    "FeedbackKind",
    "PersonError",
    "PersonRecord",
    "Rating",
    "SignInLink",
    "TokenRecord",
    "User",
    "UserStatus",
    "digest",
    "new_secret",
    "normalize_email",
    "utcnow",
]

UserStatus = Literal["active", "pending"]
FeedbackKind = Literal["rating", "vote", "saved"]

#: A working address: something@domain.tld, no spaces or angle brackets (RFC 5321 allows
#: more, but every address a person types into a sign-in form looks like this).
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")


class PersonError(ValueError):
    """A request about people's data that cannot be done (the message says why)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_email(address: str) -> str:
    """An address as accounts are keyed by it: trimmed, the domain lower-cased, and the
    local part lower-cased too (every mail provider people use treats it so).

    >>> normalize_email("  Ada.Lovelace@Example.ORG ")
    'ada.lovelace@example.org'
    """
    text = (address or "").strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise PersonError(f"{address!r} is not an e-mail address (write it as name@example.org)")
    return text.lower()


def new_secret(prefix: str = "") -> str:
    """A random secret of 256 bits, URL-safe (``prefix`` marks what it is, e.g. ``pst_``)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What a store keeps of a secret: its SHA-256 (the secret has 256 random bits, so a
    plain hash cannot be reversed by guessing)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    """An account. ``pending``: asked to join a site with closed registration; an admin
    approves it (``papersift user add EMAIL``)."""

    id: int
    email: str
    admin: bool = False
    status: UserStatus = "active"
    created: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class SignInLink:
    """A used sign-in link: whose address it was sent to, and whether it may make an
    account (sent under open registration to an address without one)."""

    email: str
    sign_up: bool
    next_path: str = "/"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A personal API token as its owner sees it (the secret itself is shown once)."""

    id: int
    name: str
    created: datetime
    last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    """A private thumbs-up (+1) or thumbs-down (-1) on a paper; only the feed reads it."""

    paper_id: str
    value: int
    created: datetime


@dataclass(frozen=True, slots=True)
class Collection:
    """A named list of saved papers."""

    id: int
    name: str
    created: datetime
    updated: datetime
    size: int = 0


@dataclass(frozen=True, slots=True)
class CollectionItem:
    """A paper in a collection, with its optional note."""

    paper_id: str
    note: str | None
    added: datetime


@dataclass(frozen=True, slots=True)
class Feedback:
    """One thing a person did to a paper that the personal feed learns from.

    ``key`` is the backend's key of the paper (used inside the library only).
    """

    key: int
    paper_id: str
    kind: FeedbackKind
    value: int
    at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as a copy of the library carries it: with its digest (never the secret)."""

    name: str
    digest: str
    created: datetime
    last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """Everything of one person that a copy of the library carries (``papersift migrate``),
    papers named by id and every moment kept. Sessions and sign-in links stay behind: they
    are short-lived, and a person signs in again at the copy."""

    user: User
    tokens: tuple[TokenRecord, ...] = ()
    votes: tuple[tuple[str, datetime], ...] = ()  # member upvotes: (paper id, when)
    ratings: tuple[Rating, ...] = ()
    collections: tuple[tuple[Collection, tuple[CollectionItem, ...]], ...] = ()
    #: What they did to papers their source deleted, kept until a paper returns: member
    #: votes (paper id, when), ratings, and saved papers (collection name, item).
    kept_votes: tuple[tuple[str, datetime], ...] = ()
    kept_ratings: tuple[Rating, ...] = ()
    kept_saves: tuple[tuple[str, CollectionItem], ...] = ()
    #: Their community preferences (name shown, reply mail); None when never set.
    prefs: Prefs | None = None

    @property
    def counts(self) -> dict[str, int]:
        """How many of each kind of thing it holds (what a copy compares)."""
        return {"api tokens": len(self.tokens), "member votes": len(self.votes),
                "ratings": len(self.ratings), "collections": len(self.collections),
                "saved papers": sum(len(items) for _, items in self.collections),
                "kept member votes": len(self.kept_votes),
                "kept ratings": len(self.kept_ratings), "kept saves": len(self.kept_saves),
                "community preferences": int(self.prefs is not None)}
