"""What the community keeps in a library: digest subscriptions and saved searches, the
digest outbox, papers submitted to a day's feed, comments, and members' preferences.

Plain values shared by the community store (:class:`papersift.backends.base.CommunityStore`),
the library's behaviour (:mod:`papersift.digests`, :mod:`papersift.curation`) and the faces.
Nothing here touches a store.

Links in mail are capabilities: a confirmation link carries a random secret (the store
keeps its digest, as for sign-in links); an unsubscribe link carries an HMAC of the
subscription's id and address under a key kept in the store (:func:`sign`), so it works
from every process and every old digest, and cannot be made for another subscription.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from papersift.papers import Paper

__all__ = [
    "MODES",
    "Comment",
    "CommunityError",
    "Frequency",
    "OutboxMail",
    "OutboxState",
    "Prefs",
    "SavedSearch",
    "Submission",
    "SubmissionState",
    "Subscription",
    "SubscriptionStatus",
    "sign",
    "signature_ok",
]

Frequency = Literal["daily", "weekly"]
SubscriptionStatus = Literal["pending", "active", "unsubscribed"]
SubmissionState = Literal["shown", "hidden", "featured"]
#: ``pending``: recorded, not yet handed to the SMTP server; ``handed``: the message's last
#: byte was written to the server (delivered unless the server then refused it); ``sent``:
#: the server accepted it; ``failed``: the server refused it for good.
OutboxState = Literal["pending", "handed", "sent", "failed"]
MODES = ("auto", "lexical", "semantic", "hybrid")


class CommunityError(ValueError):
    """A community request that cannot be done (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A query whose new matches a digest carries (any search mode)."""

    id: int
    query: str
    mode: str = "auto"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A digest subscription of one address. ``cursor``: the last listing day a digest
    covered (the next one covers the days after it)."""

    id: int
    email: str
    frequency: Frequency
    status: SubscriptionStatus
    user_id: int | None = None
    trending: bool = True
    picks: bool = True
    cursor: date | None = None
    created: datetime | None = None
    searches: tuple[SavedSearch, ...] = field(default=())

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class OutboxMail:
    """A digest recorded for sending: the exact bytes to send, and how far it got."""

    id: int
    subscription_id: int | None
    through: date
    message_id: str
    recipient: str
    raw: bytes
    state: OutboxState
    attempts: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """A paper a member submitted to a day's feed."""

    id: int
    paper: Paper
    day: date
    submitter: str | None
    user_id: int | None
    state: SubmissionState
    created: datetime


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment on a paper (``body`` is the Markdown its author wrote)."""

    id: int
    paper_id: str
    user_id: int
    author: str
    body: str
    created: datetime
    parent: int | None = None
    hidden: bool = False
    edited: datetime | None = None


@dataclass(frozen=True, slots=True)
class Prefs:
    """A member's community preferences: the name shown beside what they write, and
    whether replies to their comments are mailed to them."""

    name: str | None = None
    notify_replies: bool = False


def sign(key: str, purpose: str, *parts: object) -> str:
    """An HMAC-SHA256 signature (URL-safe, 32 characters) of ``parts`` for a purpose."""
    text = "\n".join([purpose, *(str(p) for p in parts)])
    mac = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()[:24]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def signature_ok(key: str, signature: str, purpose: str, *parts: object) -> bool:
    """Whether ``signature`` is :func:`sign` of these parts (compared in constant time)."""
    return bool(signature) and hmac.compare_digest(signature.encode(),
                                                   sign(key, purpose, *parts).encode())
