"""Backends: where a library's papers, lexical index and vectors live.

:func:`open` takes a location: a directory gives the embedded stack (SQLite catalog,
tantivy index, vectors on disk with the adaptive index); a ``postgresql://`` URL gives
PostgreSQL with pgvector (:mod:`papersift.backends.postgres`, the ``postgres``
extra). Each returns a :class:`Backend` whose parts follow the protocols in
:mod:`papersift.backends.base`. Only the library uses backends; the faces (CLI, web) never
import them (an import-linter contract in ``pyproject.toml`` checks this).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
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
    UserStore,
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
    "UserStore",
    "exists",
    "is_url",
    "open",
]


class BackendError(LibraryError):
    """A location no backend can open (the message says why and what to do)."""


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether a location names a database server rather than a directory."""
    return os.fspath(location).startswith(("postgresql://", "postgres://"))


def _postgres() -> ModuleType:
    try:
        from papersift.backends import postgres
    except ImportError as error:
        raise BackendError(str(error)) from None
    return postgres


def exists(location: str | os.PathLike[str]) -> bool:
    """Whether a library is at ``location`` (nothing is created)."""
    text = os.fspath(location)
    if is_url(text):
        return bool(_postgres().database_exists(text))
    return (Path(text) / "catalog.sqlite").exists()


def open(location: str | os.PathLike[str], *, settings: Settings | None = None) -> Backend:
    """The backend at ``location``: a library directory, or a ``postgresql://`` URL (the
    database is created and migrated when needed)."""
    text = os.fspath(location)
    if is_url(text):
        backend: Backend = _postgres().open_url(text, settings=settings)
        return backend
    from papersift.backends.embedded import open_directory

    return open_directory(text, settings=settings)
