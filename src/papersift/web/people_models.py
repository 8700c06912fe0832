"""The JSON shapes of people's pages and calls: sessions, accounts, tokens, ratings,
collections and the personal feed (each page renders one of these; its ``/api`` twin
returns it as is)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from papersift.collections import ImportReport, View
from papersift.people import ApiToken, Collection, User
from papersift.personal_feed import PersonalFeed
from papersift.web.models import Pagination, PaperOut, paper_out

__all__ = [
    "AccountPage",
    "CollectionOut",
    "CollectionPage",
    "EntryOut",
    "FeedItemOut",
    "FeedPage",
    "ImportOut",
    "MyPapersPage",
    "NewTokenIn",
    "NewTokenOut",
    "RatingIn",
    "RatingOut",
    "SaveIn",
    "SessionOut",
    "SignInIn",
    "SignInOut",
    "TokenOut",
    "UserOut",
    "collection_out",
    "feed_page",
    "user_out",
]


class UserOut(BaseModel):
    """An account."""

    email: str
    admin: bool = False
    status: Literal["active", "pending"] = "active"


def user_out(user: User) -> UserOut:
    return UserOut(email=user.email, admin=user.admin, status=user.status)


class SessionOut(BaseModel):
    """Who is signed in, and how to sign in here."""

    user: UserOut | None = Field(None, description="The signed-in account, or null.")
    csrf: str | None = Field(None, description="Send as X-CSRF-Token with state-changing "
                             "calls made with this client's cookies.")
    registration: Literal["open", "closed"] = Field(
        description="open: any address may make an account by signing in; closed: new "
        "addresses wait for an admin.")
    mail: bool = Field(description="Whether this server sends mail.")


class SignInIn(BaseModel):
    """Ask for a sign-in link."""

    email: str = Field(max_length=300)
    next: str | None = Field(None, max_length=500, description="Path to open afterwards.")


class SignInOut(BaseModel):
    """The answer (the same for every address)."""

    detail: str


class TokenOut(BaseModel):
    """A personal API token (its secret is never shown again)."""

    id: int
    name: str
    created: datetime
    last_used: datetime | None = None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(id=token.id, name=token.name, created=token.created,
                   last_used=token.last_used)


class NewTokenIn(BaseModel):
    name: str = Field(max_length=300, description="What the token is for.")


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret: send as `Authorization: Bearer <token>`.")


class AccountPage(BaseModel):
    """The signed-in account."""

    user: UserOut
    sessions: int = Field(description="Browsers signed in.")
    tokens: list[TokenOut]
    collections: int


class RatingIn(BaseModel):
    value: Literal[-1, 0, 1] = Field(description="1 thumbs up, -1 thumbs down, 0 none.")


class RatingOut(BaseModel):
    id: str
    rating: int


class SaveIn(BaseModel):
    collection: int | None = Field(None, description="Collection id (default: 'Saved').")
    note: str | None = Field(None, max_length=2000)


class CollectionOut(BaseModel):
    """A collection (without its papers)."""

    id: int
    name: str
    size: int
    created: datetime
    updated: datetime


def collection_out(found: Collection) -> CollectionOut:
    return CollectionOut(id=found.id, name=found.name, size=found.size,
                         created=found.created, updated=found.updated)


class EntryOut(BaseModel):
    paper: PaperOut
    note: str | None = None
    added: datetime


class CollectionPage(BaseModel):
    """A collection with its papers and notes, the most recently added first."""

    collection: CollectionOut
    papers: list[EntryOut]
    exports: dict[str, str] = Field(description="Download links: bibtex, ris, json.")

    @classmethod
    def of(cls, view: View) -> CollectionPage:
        base = f"/api/collections/{view.collection.id}/export"
        return cls(collection=collection_out(view.collection),
                   papers=[EntryOut(paper=paper_out(e.paper), note=e.note, added=e.added)
                           for e in view.entries],
                   exports={f: f"{base}?format={f}" for f in ("bibtex", "ris", "json")})


class ImportOut(BaseModel):
    """What an import matched, added, and could not find."""

    collection: CollectionOut
    matched: int
    added: int
    unmatched: list[str] = Field(description="Entries not in this library: 'line N: label "
                                 "(why)'.")

    @classmethod
    def of(cls, report: ImportReport) -> ImportOut:
        return cls(collection=collection_out(report.collection), matched=len(report.matched),
                   added=report.added,
                   unmatched=[f"line {r.line}: {r.label}" + (f" ({r.error})" if r.error else "")
                              for r in report.unmatched])


class MyPapersPage(BaseModel):
    """A member's papers: collections, and papers rated or upvoted (newest first)."""

    user: UserOut
    collections: list[CollectionOut]
    liked: list[PaperOut]
    disliked: list[PaperOut]
    upvoted: list[PaperOut]


class FeedItemOut(BaseModel):
    paper: PaperOut
    score: float
    because: list[PaperOut] = Field(description="Your liked papers closest to it.")


class FeedPage(BaseModel):
    """New papers of a day or date range, ranked for you."""

    since: date | None
    until: date | None
    total: int = Field(description="Papers listed in the range.")
    personal: bool = Field(description="Ranked by your model (false: by upvotes, until "
                           "you like a paper).")
    liked: int
    disliked: int
    notice: str | None = None
    pagination: Pagination
    items: list[FeedItemOut]
    questions: list[PaperOut] = Field(default_factory=list, description="Papers your model "
                                      "is least sure about: rating them teaches it most.")


def feed_page(found: PersonalFeed, pagination: Pagination,
              questions: list[PaperOut]) -> FeedPage:
    return FeedPage(
        since=found.since, until=found.until, total=found.total, personal=found.personal,
        liked=found.liked, disliked=found.disliked, notice=found.notice,
        pagination=pagination, questions=questions,
        items=[FeedItemOut(paper=paper_out(i.paper), score=i.score,
                           because=[paper_out(p) for p in i.because]) for i in found.items])
