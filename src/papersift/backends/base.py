"""The three roles a backend plays, as small typed protocols, and the values they exchange.

A backend is a *paper store* (papers, listings, votes, job state, locks: the source of
truth), a *user store* (people's accounts, sessions, ratings and collections, in the same
database as the papers), a *community store* (digest subscriptions and their outbox,
submissions to a day's feed, comments), a *lexical ranker* (BM25 or the engine's own
full-text ranking) and a *dense ranker* per encoder (nearest vectors). The library owns
every behaviour on top of them (fusion, listings, votes in results, similar papers, jobs);
the faces only call the library.

Papers are addressed by their canonical id (``Paper.id``) across the library; inside one
backend the three roles share an integer *key* per paper (SQLite's rowid, a PostgreSQL
``bigint``), which is what rankers return in :class:`~papersift.ranking.Hits` and what the
change log reports. Keys never leave the library.

One contract suite per protocol (``tests/contracts/``) runs against every implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import numpy as np

from papersift.community import (
    Comment,
    Frequency,
    OutboxMail,
    OutboxState,
    Prefs,
    SavedSearch,
    Submission,
    SubmissionState,
    Subscription,
)
from papersift.copy_records import CommunityKind, CommunityRecord, VoteRecord
from papersift.errors import LockBusy
from papersift.jobs import JobState
from papersift.papers import Paper
from papersift.people import (
    ApiToken,
    Collection,
    CollectionItem,
    Feedback,
    PersonRecord,
    Rating,
    SignInLink,
    User,
    UserStatus,
)
from papersift.query import Filters, ParsedQuery
from papersift.ranking import Hits
from papersift.vote_audit import LedgerVote

__all__ = [
    "Backend",
    "Change",
    "CommunityStore",
    "DenseRanker",
    "LexicalQuery",
    "LexicalRanker",
    "Lock",
    "LockBusy",
    "PaperStore",
    "StoreStats",
    "UpsertCounts",
    "UserStore",
]


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What one upsert did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    @property
    def stored(self) -> int:
        """Records now in the store as read (added, updated or already identical)."""
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Change:
    """A paper written (``paper`` set) or removed (``paper`` None) after some change number."""

    key: int
    seq: int
    paper: Paper | None

    @property
    def rowid(self) -> int:  # the embedded backend's name for a key
        return self.key


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts and date range of a store's papers."""

    papers: int
    first_date: date | None
    last_date: date | None
    days: int
    authors: int
    top_categories: dict[str, int] = field(default_factory=dict)
    votes: int = 0
    seq: int = 0


@runtime_checkable
class Lock(Protocol):
    """A named lock shared by every process using the same library."""

    name: str

    def acquire(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Take the lock; raises :class:`LockBusy` when ``wait`` is False (or the timeout
        passes) and another holder has it."""
        ...

    def release(self) -> None: ...

    def holder(self) -> str | None:
        """Who holds it now (``pid 123 on host``), or None when it is free."""
        ...

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        ...


@runtime_checkable
class PaperStore(Protocol):
    """The source of truth: papers and their change log, listings, votes, jobs, locks."""

    location: str

    # -- meta and change numbers ---------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def meta_items(self, prefix: str = "") -> dict[str, str]:
        """Every meta entry whose key starts with ``prefix`` (all of them by default)."""
        ...

    def set_meta_once(self, key: str, value: str) -> str:
        """Store ``value`` unless the key is set; return what is stored (first writer wins)."""
        ...

    @property
    def seq(self) -> int:
        """The number of the last change written."""
        ...

    # -- papers ---------------------------------------------------------------------------
    def upsert(self, papers: Sequence[Paper], *,
               state: Mapping[str, str] | None = None) -> UpsertCounts:
        """Add or update papers by id in one transaction (a record read again overrides
        what it states and keeps what it leaves empty); ``state`` is written to meta in the
        same transaction (a harvest's resumption point)."""
        ...

    def remove(self, ids: Iterable[str], *, keep_votes: bool = False) -> int:
        """Remove papers by id; ``keep_votes`` keeps the votes cast on them (by paper id)
        and gives them back if the paper is added again (a source deleted it)."""
        ...

    def kept_votes(self, paper_id: str) -> int:
        """Votes kept for a removed paper until it returns."""
        ...

    def __len__(self) -> int: ...
    def get(self, paper_id: str) -> Paper | None: ...
    def key_of(self, paper_id: str) -> int | None: ...
    def papers(self, keys: Sequence[int]) -> dict[int, Paper]: ...
    def keys_of(self, paper_ids: Sequence[str]) -> dict[str, int]: ...

    # -- identities: one paper under several ids (see papersift.identity) ---------------
    def aliases_of(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """For the given ids that are aliases, the id of the paper each names now
        (``get`` resolves aliases too)."""
        ...

    def titled(self, keys: Sequence[str]) -> dict[str, list[Paper]]:
        """Papers whose normalised title (``identity.title_key``) is one of ``keys``."""
        ...

    def identify(self, alias: str, paper_id: str) -> None:
        """From now on ``alias`` names the paper ``paper_id``: only ``alias`` stored, its
        row takes the id (votes and vector stay); both stored, ``alias``'s row is folded
        into ``paper_id``'s (empty fields filled, votes and aliases moved, a removal
        recorded); only ``paper_id`` stored, the alias is recorded."""
        ...

    def alias_records(self, after: str, *, limit: int) -> list[tuple[str, str]]:
        """``(alias, paper id)`` of the aliases after ``after`` in the store's order of
        aliases, at most ``limit`` (for copying a library, page by page)."""
        ...

    def import_aliases(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Record ``(alias, paper id)`` pairs (papers this store lacks are skipped; an alias
        already here is pointed at the paper given); how many were written."""
        ...

    # -- change log (for the derived indexes) -------------------------------------------
    def changes_since(self, seq: int, *, batch: int = 2000) -> Iterator[list[Change]]: ...
    def written_after(self, seq: int, key: int, *, limit: int) -> list[Change]: ...
    def count_after(self, seq: int, key: int) -> int: ...
    def count_since(self, seq: int) -> int: ...
    def removed_since(self, seq: int) -> list[int]: ...

    # -- embedding state (which papers have a current vector of an encoder) ---------------
    def unembedded(self, encoder: str, *, limit: int) -> list[Change]:
        """Papers without a current vector of ``encoder``, newest listing day first."""
        ...

    def count_unembedded(self, encoder: str) -> int: ...
    def mark_embedded(self, encoder: str, items: Sequence[tuple[int, int]]) -> None:
        """Record ``(key, seq)`` pairs: each paper's vector was made from change ``seq``."""
        ...

    def seqs_of(self, keys: Sequence[int]) -> dict[int, int]: ...
    def current_keys(self, encoder: str) -> np.ndarray:
        """Keys of the papers whose vector of ``encoder`` is current, ascending."""
        ...

    def ids_of(self, keys: Sequence[int]) -> dict[int, str]: ...
    def dates_of(self, keys: Sequence[int]) -> dict[int, date | None]: ...

    # -- filters and listings -------------------------------------------------------------
    def matching(self, filters: Filters) -> np.ndarray:
        """Keys of every paper the filters accept, ascending."""
        ...

    def latest_day(self) -> date | None: ...
    def adjacent_days(self, day: date) -> tuple[date | None, date | None]: ...
    def ranked_between(self, since: date, until: date, *, limit: int,
                       offset: int = 0) -> list[Paper]: ...
    def count_between(self, since: date, until: date) -> int: ...
    def voted_between(self, since: date, until: date) -> list[tuple[int, date, int]]: ...
    def in_category(self, category: str, *, limit: int,
                    offset: int = 0) -> tuple[list[Paper], int]: ...
    def by_author(self, name: str, *, limit: int, offset: int = 0) -> tuple[list[Paper], int]: ...
    def stats(self) -> StoreStats: ...

    # -- votes and rate limits --------------------------------------------------------------
    def add_vote(self, paper_id: str, voter: str, network: str | None = None) -> bool:
        """An anonymous voter's upvote, with the digest of the voter's network for the
        audit; False when the paper is unknown or already upvoted by this voter."""
        ...

    def remove_vote(self, paper_id: str, voter: str) -> bool: ...
    def voted(self, paper_ids: Sequence[str], voter: str) -> set[str]: ...
    def vote_records(self, paper_ids: Sequence[str]) -> list[VoteRecord]:
        """Every anonymous vote cast here on these papers with its time and network digest,
        by paper id and voter (for copying a library; members' votes are the user store's:
        :meth:`UserStore.export_person`)."""
        ...

    def import_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Write anonymous votes copied from another library, each with its time and
        network, in one transaction, each counted on its paper; votes on papers this store
        lacks are skipped, one already here takes the record's details. Returns how many
        were new (importing the same votes again adds none)."""
        ...

    def kept_vote_records(self) -> list[VoteRecord]:
        """The anonymous votes kept for papers their source deleted (members' travel with
        their accounts: :attr:`~papersift.people.PersonRecord.kept_votes`)."""
        ...

    def import_kept_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Keep anonymous votes for removed papers, as :meth:`remove` with ``keep_votes``
        does (idempotent); how many were new."""
        ...

    def vote_ledger(self, since: datetime | None = None) -> list[LedgerVote]:
        """Every anonymous vote cast at or after ``since`` (all when None), oldest first,
        with its network digest, time and the paper's listing day."""
        ...

    def remove_votes(self, *, networks: Sequence[str] = (), voters: Sequence[str] = (),
                     since: datetime | None = None) -> int:
        """Withdraw in one transaction every anonymous vote cast at or after ``since`` from
        one of ``networks`` (digests) or by one of ``voters``, each taken off its paper's
        count; how many were removed."""
        ...

    def take_token(self, key: str, burst: int, per_minute: float) -> float:
        """A token bucket shared by every process: 0.0 when a token was taken, else the
        seconds until one is free."""
        ...

    # -- jobs and locks ---------------------------------------------------------------------
    def save_job(self, job: JobState) -> None: ...
    def jobs(self) -> list[JobState]: ...
    def lock(self, name: str) -> Lock: ...

    def close(self) -> None: ...


@runtime_checkable
class UserStore(Protocol):
    """People's data, beside the papers it refers to (papers by id, people by user id).

    Every call that reads or changes a person's things takes their user id, and a store
    only ever touches rows of that user: a collection id of someone else's is "not found".
    Secrets arrive as digests (:func:`papersift.people.digest`), never as written.

    Votes cast by signed-in people ("members") share the papers' vote rows with anonymous
    cookie votes, marked with the user: a paper counts ``votes_here`` (all cast here) and
    ``votes_members`` (of those, by members), each changed in the vote's own transaction.
    """

    # -- accounts -------------------------------------------------------------------------
    def add_user(self, email: str, *, admin: bool = False,
                 status: UserStatus = "active") -> User:
        """Create an account for a normalised address, or return the one it has."""
        ...

    def get_user(self, user_id: int) -> User | None: ...
    def user_by_email(self, email: str) -> User | None: ...
    def list_users(self) -> list[User]: ...
    def update_user(self, user_id: int, *, admin: bool | None = None,
                    status: UserStatus | None = None) -> User | None: ...

    def remove_user(self, user_id: int) -> bool:
        """Remove an account and everything of theirs in one transaction (their member
        votes are taken off the papers' counts); False when there was none."""
        ...

    # -- sign-in links and sessions -------------------------------------------------------
    def add_sign_in(self, link_digest: str, email: str, *, sign_up: bool, expires: datetime,
                    next_path: str = "/") -> None: ...

    def use_sign_in(self, link_digest: str, *, now: datetime) -> SignInLink | None:
        """Spend a sign-in link: its details the first time, before it expires; None after
        (even when two requests race for it)."""
        ...

    def add_session(self, session_digest: str, user_id: int, *, expires: datetime) -> None: ...
    def session_user(self, session_digest: str, *, now: datetime) -> User | None: ...
    def remove_session(self, session_digest: str) -> bool: ...
    def remove_sessions(self, user_id: int) -> int:
        """End every session of a user (sign out everywhere); returns how many ended."""
        ...

    def count_sessions(self, user_id: int, *, now: datetime) -> int: ...

    # -- API tokens -----------------------------------------------------------------------
    def add_api_token(self, user_id: int, name: str, token_digest: str) -> ApiToken: ...
    def api_tokens(self, user_id: int) -> list[ApiToken]: ...
    def api_token_user(self, token_digest: str) -> User | None:
        """The owner of a token (and its last use recorded), or None."""
        ...

    def remove_api_token(self, user_id: int, token_id: int) -> bool: ...

    # -- member votes and private ratings -------------------------------------------------
    def add_member_vote(self, paper_id: str, user_id: int) -> bool:
        """A member's upvote; False when the paper is unknown or already upvoted by them."""
        ...

    def remove_member_vote(self, paper_id: str, user_id: int) -> bool: ...
    def member_voted(self, paper_ids: Sequence[str], user_id: int) -> set[str]: ...
    def set_rating(self, user_id: int, paper_id: str, value: int) -> bool:
        """Thumbs up (1), down (-1), or undo (0); False when the paper is unknown."""
        ...

    def ratings(self, user_id: int, paper_ids: Sequence[str] | None = None) -> list[Rating]:
        """A user's ratings, newest first (of the given papers only, when given)."""
        ...

    # -- collections ----------------------------------------------------------------------
    def add_collection(self, user_id: int, name: str) -> Collection:
        """Create a collection, or return the user's collection of that name."""
        ...

    def collections(self, user_id: int) -> list[Collection]:
        """A user's collections, the most recently changed first, with their sizes."""
        ...

    def rename_collection(self, user_id: int, collection_id: int, name: str) -> bool: ...
    def remove_collection(self, user_id: int, collection_id: int) -> bool: ...
    def add_items(self, user_id: int, collection_id: int,
                  items: Sequence[tuple[str, str | None]]) -> int:
        """Save ``(paper id, note)`` pairs; unknown papers are skipped, a paper already
        there keeps its note unless a new one is given. Returns how many were new."""
        ...

    def remove_item(self, user_id: int, collection_id: int, paper_id: str) -> bool: ...
    def set_note(self, user_id: int, collection_id: int, paper_id: str,
                 note: str | None) -> bool: ...
    def items(self, user_id: int, collection_id: int) -> list[CollectionItem]:
        """The papers of a collection, the most recently added first."""
        ...

    def saved_in(self, user_id: int, paper_ids: Sequence[str]) -> dict[str, list[int]]:
        """For each of the papers a user saved, the ids of the collections holding it."""
        ...

    # -- what the personal feed learns from -----------------------------------------------
    def feedback(self, user_id: int) -> list[Feedback]:
        """Every rating, member vote and saved paper of a user, with the papers' keys."""
        ...

    # -- copying a library ----------------------------------------------------------------
    def export_person(self, user_id: int) -> PersonRecord | None:
        """Everything of a user that a copy carries (not sessions or sign-in links): with
        their marks kept for papers their source deleted and their community preferences."""
        ...

    def import_person(self, record: PersonRecord) -> User:
        """Write a person exported from another library, in one transaction, keeping every
        moment: the account (by address), tokens (by digest), member votes (counted),
        ratings, collections (by name) and their papers, kept marks (by paper id, until the
        paper returns), preferences; papers this store lacks are skipped. Importing the
        same record again changes nothing."""
        ...


@runtime_checkable
class CommunityStore(Protocol):
    """The community's data beside the papers and people it refers to.

    A digest is planned by :meth:`record_digest`: the outbox row (the exact message, with
    its Message-ID) is written in the same transaction that moves the subscription's cursor
    past the days it covers, and only when the cursor is still where the planner read it.
    Deleting a user removes their subscriptions, submissions, comments and preferences.
    """

    # -- subscriptions --------------------------------------------------------------------
    def request_subscription(self, email: str, user_id: int | None, frequency: Frequency,
                             confirm_digest: str, expires: datetime) -> Subscription:
        """A subscription waiting for its address to confirm (an active one stays active,
        its settings unchanged, with a new confirmation link)."""
        ...

    def confirm_subscription(self, confirm_digest: str, *, now: datetime,
                             cursor: date | None) -> Subscription | None:
        """Activate the subscription of a confirmation link (once, before it expires); a
        new subscription's first digest covers the days after ``cursor``."""
        ...

    def subscription(self, subscription_id: int) -> Subscription | None: ...
    def subscription_by_email(self, email: str) -> Subscription | None: ...
    def active_subscriptions(self) -> list[Subscription]: ...
    def update_subscription(self, subscription_id: int, *, frequency: Frequency | None = None,
                            trending: bool | None = None, picks: bool | None = None) -> bool: ...
    def unsubscribe(self, subscription_id: int) -> bool:
        """Stop a subscription; False when it was not subscribed."""
        ...

    def remove_subscriptions(self, email: str) -> int: ...
    def add_saved_search(self, subscription_id: int, query: str, mode: str) -> SavedSearch: ...
    def remove_saved_search(self, subscription_id: int, search_id: int) -> bool: ...

    # -- the digest outbox ----------------------------------------------------------------
    def record_digest(self, subscription_id: int, cursor: date | None, through: date, *,
                      message_id: str, recipient: str, raw: bytes) -> bool:
        """Record a digest and move the cursor to ``through`` in one transaction; False
        (nothing written) when the cursor is no longer ``cursor``."""
        ...

    def outbox(self, states: Sequence[OutboxState] = ("pending",),
               limit: int = 1000) -> list[OutboxMail]: ...
    def mark_outbox(self, mail_id: int, state: OutboxState, *, error: str | None = None,
                    attempt: bool = False) -> None: ...
    def hand_over(self, mail_id: int, write: Callable[[], object]) -> None:
        """Commit a digest as ``handed`` and call ``write`` (which writes the line that
        makes the SMTP server deliver it) at once after the commit, with nothing between."""
        ...

    def outbox_counts(self) -> dict[str, int]: ...
    def sent_digests(self, subscription_id: int) -> list[tuple[date, str, str]]: ...

    # -- submissions and comments ---------------------------------------------------------
    def add_submission(self, paper_id: str, day: date, user_id: int) -> int | None:
        """Submit a paper to a day's feed; None when the paper is unknown or already there."""
        ...

    def submissions(self, *, day: date | None = None, user_id: int | None = None,
                    hidden: bool = False) -> list[Submission]: ...
    def set_submission_state(self, submission_id: int, state: SubmissionState) -> bool: ...
    def add_comment(self, paper_id: str, user_id: int, body: str,
                    parent: int | None = None) -> int | None:
        """A new comment's id; None when the paper (or the parent on it) is unknown."""
        ...

    def comments(self, *, paper_id: str | None = None, user_id: int | None = None,
                 comment_id: int | None = None, hidden: bool = True) -> list[Comment]: ...
    def edit_comment(self, comment_id: int, user_id: int, body: str) -> bool: ...
    def remove_comment(self, comment_id: int, user_id: int) -> bool: ...
    def hide_comment(self, comment_id: int, hidden: bool) -> bool: ...
    def comment_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Visible comments per paper (papers without any are left out)."""
        ...

    def prefs(self, user_id: int) -> Prefs: ...
    def set_prefs(self, user_id: int, prefs: Prefs) -> None: ...

    # -- copying a library ----------------------------------------------------------------
    def export_records(self, kind: CommunityKind, *, after: int,
                       limit: int) -> list[CommunityRecord]:
        """Rows of one kind with ids above ``after``, by id, at most ``limit``; members
        named by address, papers by id."""
        ...

    def import_records(self, records: Sequence[CommunityRecord]) -> int:
        """Write rows exported from another library, each keeping its id (unsubscribe
        links, Message-IDs and replies name them), in one transaction; a row already here
        under the same id is brought up to the record's state. Rows whose paper (or a
        comment's author) this store lacks are skipped. Raises
        :class:`~papersift.copy_records.CopyConflict` when a different row holds the id.
        Returns how many were new."""
        ...


@dataclass(frozen=True, slots=True)
class LexicalQuery:
    """A query as one lexical engine analysed it (once per search)."""

    text: str
    parsed: ParsedQuery
    terms: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.terms and not self.parsed.phrases


@runtime_checkable
class LexicalRanker(Protocol):
    """Full-text ranking over the store's papers, with filters inside the engine."""

    def analyze(self, text: str, *, syntax: bool = True) -> LexicalQuery:
        """Parse and analyse query text (``syntax=False``: quotes and minus are plain)."""
        ...

    def terms(self, text: str) -> list[str]:
        """The index terms of any text, as the engine sees them (for highlighting)."""
        ...

    def search(self, query: LexicalQuery, *, filters: Filters | None = None,
               limit: int = 10) -> Hits: ...

    def score(self, query: LexicalQuery, keys: np.ndarray) -> np.ndarray:
        """Scores of the given papers for a query (0 where nothing matches)."""
        ...

    def document_frequencies(self, terms: Sequence[str]) -> tuple[list[int], int]:
        """How many papers hold each index term (as :meth:`terms` writes them), and how
        many papers there are (the personal feed weighs a person's words by rarity)."""
        ...

    @property
    def applied_seq(self) -> int:
        """The last store change this ranker includes."""
        ...

    @property
    def count(self) -> int: ...

    def sync(self, store: PaperStore) -> int:
        """Catch up with the store's changes; returns documents written."""
        ...

    def rebuild(self, store: PaperStore) -> int: ...
    def refresh(self) -> None:
        """See changes other processes committed."""
        ...


@runtime_checkable
class DenseRanker(Protocol):
    """One encoder's vectors of the store's papers, searched by inner product."""

    name: str
    dim: int

    @property
    def count(self) -> int: ...

    def search(self, vector: np.ndarray, *, limit: int,
               filters: Filters | None = None) -> Hits: ...

    def vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which keys have a vector, and those vectors (float32)."""
        ...

    def write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store (or replace) vectors, durably."""
        ...

    def forget(self, keys: np.ndarray) -> None:
        """Drop the vectors of removed papers."""
        ...

    @property
    def applied_seq(self) -> int: ...

    def mark_applied(self, seq: int) -> None: ...
    def refresh(self) -> None:
        """See vectors other processes stored."""
        ...

    def prepare(self) -> None:
        """Make the search structures current (build or update the index) after embedding."""
        ...

    def verify(self) -> list[str]: ...


@runtime_checkable
class Backend(Protocol):
    """A paper store with its lexical ranker and its dense rankers (one per encoder)."""

    location: str
    store: PaperStore
    users: UserStore
    community: CommunityStore
    lexical: LexicalRanker

    def dense(self, name: str, dim: int) -> DenseRanker:
        """The vectors of encoder ``name`` (created empty when there are none yet)."""
        ...

    def stored_encoders(self) -> dict[str, int]:
        """Encoders with vectors stored, and their dimensions (without loading a model)."""
        ...

    def close(self) -> None: ...
