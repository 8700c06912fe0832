"""The three roles a backend plays, as small typed protocols, and the values they exchange.

A backend is a *paper store* (papers, listings, votes, job state, locks: the source of
truth), a *lexical ranker* (BM25 or the engine's own full-text ranking) and a *dense
ranker* per encoder (nearest vectors). The library owns every behaviour on top of them
(fusion, listings, votes in results, similar papers, jobs); the faces only call the library.

Papers are addressed by their canonical id (``Paper.id``) across the library; inside one
backend the three roles share an integer *key* per paper (SQLite's rowid, a PostgreSQL
``bigint``), which is what rankers return in :class:`~papersift.ranking.Hits` and what the
change log reports. Keys never leave the library.

One contract suite per protocol (``tests/contracts/``) runs against every implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np

from papersift.errors import LockBusy
from papersift.jobs import JobState
from papersift.papers import Paper
from papersift.query import Filters, ParsedQuery
from papersift.ranking import Hits

__all__ = [
    "Backend",
    "Change",
    "DenseRanker",
    "LexicalQuery",
    "LexicalRanker",
    "Lock",
    "LockBusy",
    "PaperStore",
    "StoreStats",
    "UpsertCounts",
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

    def meta_items(self, prefix: str) -> dict[str, str]:
        """Every meta entry whose key starts with ``prefix``."""
        ...

    def __len__(self) -> int: ...
    def get(self, paper_id: str) -> Paper | None: ...
    def key_of(self, paper_id: str) -> int | None: ...
    def papers(self, keys: Sequence[int]) -> dict[int, Paper]: ...
    def keys_of(self, paper_ids: Sequence[str]) -> dict[str, int]: ...

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
    def add_vote(self, paper_id: str, voter: str) -> bool: ...
    def remove_vote(self, paper_id: str, voter: str) -> bool: ...
    def voted(self, paper_ids: Sequence[str], voter: str) -> set[str]: ...
    def take_token(self, key: str, burst: int, per_minute: float) -> float:
        """A token bucket shared by every process: 0.0 when a token was taken, else the
        seconds until one is free."""
        ...

    # -- jobs and locks ---------------------------------------------------------------------
    def save_job(self, job: JobState) -> None: ...
    def jobs(self) -> list[JobState]: ...
    def lock(self, name: str) -> Lock: ...

    def close(self) -> None: ...


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
    lexical: LexicalRanker

    def dense(self, name: str, dim: int) -> DenseRanker:
        """The vectors of encoder ``name`` (created empty when there are none yet)."""
        ...

    def stored_encoders(self) -> dict[str, int]:
        """Encoders with vectors stored, and their dimensions (without loading a model)."""
        ...

    def close(self) -> None: ...
