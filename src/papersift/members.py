"""The library's methods for people: accounts, votes and ratings, collections, the feed.

:class:`Members` is a part of :class:`~papersift.library.Library` (a mixin, as the catalog
is made of parts): every method here is a ``Library`` method, and the only place the
people-related modules (:mod:`~papersift.accounts`, :mod:`~papersift.collections`,
:mod:`~papersift.personal_feed`, :mod:`~papersift.mail`) meet the library's stores.

>>> lib = papersift.open("papersift-data")                        # doctest: +SKIP
>>> ada = lib.add_user("ada@example.org", admin=True)              # doctest: +SKIP
>>> lib.rate(ada, "2205.13147", 1)                                # doctest: +SKIP
>>> [i.paper.title for i in lib.personal_feed(ada).items]         # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from papersift import accounts, collections, mail, personal_feed
from papersift.accounts import Registration, Session, SignInRequest
from papersift.citations import Reference
from papersift.collections import Exported, ImportReport, View
from papersift.papers import Paper, normalize_text
from papersift.people import (
    ApiToken,
    Collection,
    PersonError,
    User,
    digest,
    normalize_email,
    utcnow,
)
from papersift.personal_feed import FeedCache, PersonalFeed, Stores
from papersift.search_results import Vote

if TYPE_CHECKING:
    from papersift.backends.base import Backend, PaperStore, UserStore
    from papersift.library import Library
    from papersift.settings import Settings

__all__ = ["Activity", "Members"]

log = logging.getLogger("papersift.members")


@dataclass(frozen=True, slots=True)
class Activity:
    """What a person did: papers rated and upvoted (newest first) and their collections."""

    liked: list[Paper]
    disliked: list[Paper]
    upvoted: list[Paper]
    collections: list[Collection]


def _storable(row_id: int) -> bool:
    """Whether an id can name a stored row: ids are 64-bit integers in every store, and a
    larger one (a client may send any) names nothing, rather than overflowing the store's
    driver into a server error (found by schemathesis)."""
    return -(2**63) <= row_id < 2**63


class Members:
    """People's side of :class:`~papersift.library.Library` (see the module docstring)."""

    settings: Settings
    backend: Backend
    store: PaperStore
    mail_settings: mail.MailSettings

    # -- the glue to the stores -----------------------------------------------------------
    @property
    def users_store(self) -> UserStore:
        """The backend's user store (people's data)."""
        return self.backend.users

    def _feed_stores(self) -> Stores | None:
        """What the personal feed reads (None until the library has vectors)."""
        lib: Library = self  # type: ignore[assignment]
        if not lib.has_vectors():
            return None
        cache: FeedCache | None = self.__dict__.get("_feed_cache")
        if cache is None:  # one per library object, shared by its requests
            cache = self.__dict__.setdefault("_feed_cache",
                                             FeedCache(self.settings.feed_background))
        return Stores(self.store, self.users_store, lib.dense, lib.lexical, cache)

    def _paper(self, paper_id: str) -> Paper:
        found = self.get(paper_id)  # type: ignore[attr-defined]
        if found is None:
            raise KeyError(paper_id)
        return found

    # -- accounts -------------------------------------------------------------------------
    def add_user(self, email: str, *, admin: bool = False) -> User:
        """Add an account (or approve a pending one, or make one an admin)."""
        users = self.users_store
        user = users.add_user(normalize_email(email), admin=admin)
        if not user.active or (admin and not user.admin):
            user = users.update_user(user.id, status="active",
                                     admin=True if admin else None) or user
        return user

    def users(self) -> list[User]:
        """Every account, by address (pending ones included)."""
        return self.users_store.list_users()

    def user(self, email: str) -> User | None:
        """The account of an address, or None."""
        try:
            return self.users_store.user_by_email(normalize_email(email))
        except PersonError:
            return None

    def remove_user(self, email: str) -> bool:
        """Remove an account and all its data (votes, ratings, collections, tokens,
        sessions); False when there is no such account."""
        user = self.user(email)
        return user is not None and self.users_store.remove_user(user.id)

    def request_sign_in(self, email: str, *, link_for: Callable[[str], str],
                        registration: Registration, next_path: str = "/",
                        site: str = "papersift", allow_new: bool = True) -> SignInRequest:
        """Make a sign-in link for an address when it may have one, and mail it in the
        background when mail is set up (so the answer takes as long for every address).
        Its ``message`` is returned for a face to show elsewhere when mail is not set up.
        ``allow_new=False`` (a rate limit ran dry) makes no account and no request to join,
        silently."""
        request = accounts.request_sign_in(
            self.users_store, email, link_for=link_for, registration=registration,
            minutes=self.settings.sign_in_minutes, site=site,
            next_path=next_path, allow_new=allow_new)
        if request.message is not None and self.mail_settings.configured:
            threading.Thread(target=self._send_quietly, args=([request.message],),
                             daemon=True, name="papersift-mail").start()
        return request

    def _send_quietly(self, messages: list[mail.Message]) -> None:
        try:
            mail.send(self.mail_settings, messages)
        except mail.MailError as error:
            log.error("sign-in mail not sent: %s", error)

    def send_mail(self, messages: Sequence[mail.Message]) -> int:
        """Send mail now through the configured SMTP server (raises MailError)."""
        return mail.send(self.mail_settings, messages)

    def sign_in(self, secret: str) -> Session | None:
        """Spend a sign-in link's secret: a new session, or None (used, expired, unknown)."""
        return accounts.complete_sign_in(self.users_store, secret,
                                         days=self.settings.session_days)

    def session_user(self, secret: str | None) -> User | None:
        """Whose session this is (None when unknown, ended or expired)."""
        if not secret or len(secret) > 200:
            return None
        return self.users_store.session_user(digest(secret), now=utcnow())

    def sign_out(self, secret: str) -> None:
        """End one session."""
        self.users_store.remove_session(digest(secret))

    def sign_out_everywhere(self, user: User) -> int:
        """End every session of a user; returns how many ended."""
        return self.users_store.remove_sessions(user.id)

    def sessions(self, user: User) -> int:
        """How many sessions of a user are live."""
        return self.users_store.count_sessions(user.id, now=utcnow())

    def create_api_token(self, user: User, name: str) -> tuple[str, ApiToken]:
        """A new API token: ``(secret, shown only now; its record)``."""
        return accounts.create_api_token(self.users_store, user, name)

    def api_tokens(self, user: User) -> list[ApiToken]:
        return self.users_store.api_tokens(user.id)

    def revoke_api_token(self, user: User, token_id: int) -> bool:
        return _storable(token_id) and self.users_store.remove_api_token(user.id, token_id)

    def api_token_user(self, secret: str) -> User | None:
        """The owner of an API token (``Authorization: Bearer pst_...``), or None."""
        return accounts.api_token_user(self.users_store, secret)

    # -- votes and ratings ----------------------------------------------------------------
    def member_upvote(self, paper_id: str, user: User) -> Vote:
        """A member's upvote, or its withdrawal when it was cast (a toggle); counted apart
        from anonymous votes."""
        paper = self._paper(paper_id)
        users = self.users_store
        voted = (users.add_member_vote(paper.id, user.id)
                 or not users.remove_member_vote(paper.id, user.id))
        now = self.store.get(paper.id) or paper
        return Vote(paper.id, now.total_upvotes, voted)

    def member_voted(self, paper_ids: Sequence[str], user: User | None) -> set[str]:
        """Which of these papers the member has upvoted."""
        return self.users_store.member_voted(paper_ids, user.id) if user else set()

    def rate(self, user: User, paper_id: str, value: int) -> int:
        """A private rating for the feed: 1 (thumbs up), -1 (down), 0 (undo)."""
        paper = self._paper(paper_id)
        if value not in (-1, 0, 1):
            raise PersonError("a rating is 1 (up), -1 (down) or 0 (none)")
        self.users_store.set_rating(user.id, paper.id, value)
        return value

    def ratings(self, user: User | None, paper_ids: Sequence[str] | None = None) -> dict[str, int]:
        """A member's ratings (of the given papers, or all), by paper id."""
        if user is None:
            return {}
        return {r.paper_id: r.value for r in self.users_store.ratings(user.id, paper_ids)}

    def activity(self, user: User, *, limit: int = 200) -> Activity:
        """Papers a member rated or upvoted, newest first, and their collections."""
        feedback = sorted(self.users_store.feedback(user.id), key=lambda f: f.at, reverse=True)
        papers = self.store.papers(list({f.key for f in feedback}))

        def picked(kind: str, value: int) -> list[Paper]:
            return [papers[f.key] for f in feedback
                    if f.kind == kind and f.value == value and f.key in papers][:limit]

        return Activity(picked("rating", 1), picked("rating", -1), picked("vote", 1),
                        self.users_store.collections(user.id))

    # -- collections ----------------------------------------------------------------------
    def collections(self, user: User) -> list[Collection]:
        """A member's collections, the most recently changed first."""
        return self.users_store.collections(user.id)

    def create_collection(self, user: User, name: str) -> Collection:
        return collections.create(self.users_store, user, name)

    def rename_collection(self, user: User, collection_id: int, name: str) -> bool:
        name = collections.clean_name(name)
        if any(c.name == name and c.id != collection_id for c in self.collections(user)):
            raise PersonError(f"you have a collection named {name!r} already")
        return _storable(collection_id) and self.users_store.rename_collection(
            user.id, collection_id, name)

    def delete_collection(self, user: User, collection_id: int) -> bool:
        return _storable(collection_id) and self.users_store.remove_collection(
            user.id, collection_id)

    def save(self, user: User, paper_id: str, *, collection_id: int | None = None,
             note: str | None = None) -> Collection:
        """Save a paper into a collection (the member's "Saved" one when none is named)."""
        paper = self._paper(paper_id)
        if collection_id is None:
            target = collections.create(self.users_store, user, collections.DEFAULT_NAME)
        else:
            found = next((c for c in self.collections(user) if c.id == collection_id), None)
            if found is None:
                raise KeyError(f"collection {collection_id}")
            target = found
        self.users_store.add_items(user.id, target.id, [(paper.id, collections.clean_note(note))])
        return target

    def unsave(self, user: User, paper_id: str, collection_id: int) -> bool:
        return _storable(collection_id) and self.users_store.remove_item(
            user.id, collection_id, paper_id)

    def set_note(self, user: User, collection_id: int, paper_id: str, note: str | None) -> bool:
        return _storable(collection_id) and self.users_store.set_note(
            user.id, collection_id, paper_id, collections.clean_note(note))

    def saved_in(self, user: User | None, paper_ids: Sequence[str]) -> dict[str, list[int]]:
        """For each of these papers a member saved, the collections holding it."""
        return self.users_store.saved_in(user.id, paper_ids) if user else {}

    def collection(self, user: User, collection_id: int) -> View | None:
        """A member's collection with its papers and notes (None: no such collection)."""
        return collections.view(self.users_store, self.store, user, collection_id)

    def export_collection(self, user: User, collection_id: int, fmt: str) -> Exported:
        """A collection as BibTeX, RIS or JSON."""
        found = self.collection(user, collection_id)
        if found is None:
            raise KeyError(f"collection {collection_id}")
        return collections.export(found, fmt)

    def import_collection(self, user: User, collection_id: int, text: str,
                          fmt: str = "auto") -> ImportReport:
        """Save the papers a BibTeX file or a list of arXiv ids names into a collection;
        the entries not in this library are reported."""
        found = next((c for c in self.collections(user) if c.id == collection_id), None)
        if found is None:
            raise KeyError(f"collection {collection_id}")
        refs: list[Reference] = collections.parse(text, fmt)
        return collections.import_references(self.users_store, self.store, user, found,
                                             refs, self._paper_titled)

    def _paper_titled(self, title: str) -> str | None:
        """The paper whose title is exactly this (any case, spacing), found by search."""
        wanted = normalize_text(title).casefold()
        for result in self.search(title, mode="lexical", limit=5):  # type: ignore[attr-defined]
            if normalize_text(result.paper.title).casefold() == wanted:
                return str(result.paper.id)
        return None

    # -- the personal feed ----------------------------------------------------------------
    def personal_feed(self, user: User, *, since: date | None = None,
                      until: date | None = None, limit: int = 20, offset: int = 0,
                      questions: int = 0) -> PersonalFeed:
        """New papers of a day or a date range (the last ``feed_days`` listing days when
        none is given), ranked for this member by a model of their ratings, upvotes and
        saves; with ``questions``, that many papers of the range its linear model is least
        sure about (rating them teaches it most)."""
        since, until = self._feed_range(since, until)
        if since is None or until is None:
            return PersonalFeed(None, None, 0, [], 0, 0, False, "the library has no papers")
        stores = self._feed_stores()
        if stores is None:
            papers = self.store.ranked_between(since, until, limit=limit, offset=offset)
            return PersonalFeed(since, until, self.store.count_between(since, until),
                                [personal_feed.FeedItem(p, 0.0) for p in papers], 0, 0, False,
                                "the feed starts when papers have vectors (`papersift embed`)")
        return personal_feed.personal_feed(stores, user, since=since, until=until, limit=limit,
                                           offset=offset, questions=questions)

    def _feed_range(self, since: date | None,
                    until: date | None) -> tuple[date | None, date | None]:
        if since and until:
            return (since, until) if since <= until else (until, since)
        start, end = personal_feed.default_range(self.store, self.settings.feed_days)
        return since or start, until or (end if since is None or end is None
                                         else max(end, since))

    # -- their data -----------------------------------------------------------------------
    def export_user_data(self, user: User) -> dict[str, Any]:
        """Everything the library keeps about a member, as JSON-ready data."""
        users = self.users_store
        feedback = users.feedback(user.id)
        views = [self.collection(user, c.id) for c in users.collections(user.id)]
        return {
            "account": {"email": user.email, "admin": user.admin, "status": user.status,
                        "created": user.created.isoformat() if user.created else None,
                        "sessions": self.sessions(user)},
            "api_tokens": [{"name": t.name, "created": t.created.isoformat(),
                            "last_used": t.last_used.isoformat() if t.last_used else None}
                           for t in users.api_tokens(user.id)],
            "upvotes": [{"paper": f.paper_id, "at": f.at.isoformat()}
                        for f in feedback if f.kind == "vote"],
            "ratings": [{"paper": r.paper_id, "value": r.value, "at": r.created.isoformat()}
                        for r in users.ratings(user.id)],
            "collections": [{"name": v.collection.name,
                             "created": v.collection.created.isoformat(),
                             "papers": [{"paper": e.paper.id, "title": e.paper.title,
                                         "note": e.note, "added": e.added.isoformat()}
                                        for e in v.entries]}
                            for v in views if v is not None],
        }
