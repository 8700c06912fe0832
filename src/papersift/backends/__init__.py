"""Backends: where a library's papers, lexical index and vectors live.

:func:`open` takes a location: a directory gives the embedded stack (SQLite catalog,
tantivy index, vectors on disk with the adaptive index); a ``postgresql://`` URL will give
PostgreSQL. Each returns a :class:`Backend` whose parts follow the protocols in
:mod:`papersift.backends.base`. Only the library uses backends; the faces (CLI, web) never
import them (an import-linter contract in ``pyproject.toml`` checks this).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from papersift.backends.base import (
    Backend,
    Change,
    DenseRanker,
    LexicalQuery,
    LexicalRanker,
    Lock,
    LockBusy,
    PaperStore,
    StoreStats,
    UpsertCounts,
)
from papersift.errors import LibraryError

if TYPE_CHECKING:
    from papersift.settings import Settings

__all__ = [
    "Backend",
    "BackendError",
    "Change",
    "DenseRanker",
    "LexicalQuery",
    "LexicalRanker",
    "Lock",
    "LockBusy",
    "PaperStore",
    "StoreStats",
    "UpsertCounts",
    "open",
]


class BackendError(LibraryError):
    """A location no backend can open (the message says why and what to do)."""


def open(location: str | os.PathLike[str], *, settings: Settings | None = None) -> Backend:
    """The backend at ``location``: a library directory, or a ``postgresql://`` URL."""
    text = os.fspath(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise BackendError(f"{text}: the PostgreSQL backend is not part of this install yet")
    from papersift.backends.embedded import open_directory

    return open_directory(text, settings=settings)
