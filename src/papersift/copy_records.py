"""What a copy of a library carries besides papers, vectors and people (``papersift
migrate``; :mod:`papersift.migration`): anonymous votes with their ledger details, and the
community's rows.

Plain values, read out of one backend and written into another through the store
protocols (:mod:`papersift.backends.base`). Papers are named by id and people by their
address (keys and user ids differ between libraries). Community rows keep their ids: an
unsubscribe link signs the subscription's id, a digest's Message-ID names it, and a comment
names its parent by id, so links mailed by the source keep working on the copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from papersift.community import Frequency, OutboxState, SubmissionState, SubscriptionStatus
from papersift.errors import LibraryError

__all__ = [
    "COMMUNITY_KINDS",
    "CommentRecord",
    "CommunityKind",
    "CommunityRecord",
    "CopyConflict",
    "OutboxRecord",
    "SavedSearchRecord",
    "SubmissionRecord",
    "SubscriptionRecord",
    "VoteRecord",
]

CommunityKind = Literal["subscriptions", "outbox", "submissions", "comments"]
#: In the order a copy writes them (the outbox names subscriptions).
COMMUNITY_KINDS: tuple[CommunityKind, ...] = ("subscriptions", "outbox", "submissions",
                                              "comments")


class CopyConflict(LibraryError):
    """A row of the source cannot keep its id in the target: another row has it there."""


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """An anonymous vote: when it was cast and its network's keyed digest (the vote
    ledger's audit reads both), on a paper by id."""

    paper_id: str
    voter: str
    cast: datetime
    network: str | None = None


@dataclass(frozen=True, slots=True)
class SavedSearchRecord:
    id: int
    query: str
    mode: str
    created: datetime


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """A digest subscription whole: its member by address, its pending confirmation (as a
    digest, like every secret), its cursor and its saved searches."""

    id: int
    email: str
    user_email: str | None
    frequency: Frequency
    status: SubscriptionStatus
    trending: bool
    picks: bool
    cursor: date | None
    created: datetime
    confirmed: datetime | None = None
    confirm_digest: str | None = None
    confirm_expires: datetime | None = None
    searches: tuple[SavedSearchRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A recorded digest: the exact bytes, and how far sending got."""

    id: int
    subscription_id: int | None
    through: date
    message_id: str
    recipient: str
    raw: bytes
    state: OutboxState
    attempts: int
    error: str | None
    created: datetime
    sent: datetime | None = None


@dataclass(frozen=True, slots=True)
class SubmissionRecord:
    id: int
    paper_id: str
    day: date
    user_email: str | None
    state: SubmissionState
    created: datetime


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: int
    paper_id: str
    user_email: str
    parent: int | None
    body: str
    hidden: bool
    created: datetime
    edited: datetime | None = None


CommunityRecord = SubscriptionRecord | OutboxRecord | SubmissionRecord | CommentRecord
