"""The catalog: a SQLite database that is a library's paper store and its source of truth.

This package is the only code that runs SQL against it; every statement takes its values as
parameters. It implements :class:`papersift.backends.base.PaperStore` and
:class:`papersift.backends.base.UserStore`:

- :mod:`~papersift.catalog.papers`: paper rows, change numbers, the change log, filters;
- :mod:`~papersift.catalog.listings`: days, categories, authors, counts;
- :mod:`~papersift.catalog.votes`: votes, rate-limit buckets, job states;
- :mod:`~papersift.catalog.users`: accounts, sign-in links, sessions, API tokens, member
  votes, ratings; :mod:`~papersift.catalog.collections`: collections of saved papers;
  :mod:`~papersift.catalog.people_copy`: a person's data whole, for copying a library;
- :mod:`~papersift.catalog.identities`: aliases, papers by title, making two ids one paper;
- :mod:`~papersift.catalog.community`: digest subscriptions and outbox, submissions,
  comments (:class:`papersift.backends.base.CommunityStore`);
  :mod:`~papersift.catalog.community_copy`: those rows by id, for copying a library;
- :mod:`~papersift.catalog.schema`: migrations and connections (one per thread).

>>> cat = Catalog(":memory:")
>>> cat.upsert([Paper(id="2401.00001", title="T", abstract="A")]).added
1
"""

from __future__ import annotations

from pathlib import Path

from papersift.backends.base import Change, Lock, UpsertCounts
from papersift.backends.filelock import FileLock
from papersift.catalog.collections import CollectionRows
from papersift.catalog.community import CommunityRows
from papersift.catalog.community_copy import CommunityCopies
from papersift.catalog.identities import IdentityRows
from papersift.catalog.listings import ListingRows
from papersift.catalog.papers import PaperRows
from papersift.catalog.people_copy import PersonCopies
from papersift.catalog.schema import CatalogError, Connections
from papersift.catalog.users import UserRows
from papersift.catalog.votes import VoteRows
from papersift.papers import Paper

__all__ = ["Catalog", "CatalogError", "Change", "Paper", "UpsertCounts"]


class Catalog(IdentityRows, PaperRows, ListingRows, VoteRows, UserRows, CollectionRows,
              CommunityRows, PersonCopies, CommunityCopies):
    """The papers of one library, in ``catalog.sqlite`` (or ``":memory:"`` for tests)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = str(path)
        self.location = self.path
        self._conns = Connections(self.path, readonly=readonly)
        self._locks = Path(self.path).parent / "locks"
        if not readonly:
            self._conns.migrate()

    def lock(self, name: str) -> Lock:
        """A lock every process using this library shares (a file under ``locks/``)."""
        return FileLock(self._locks, name)

    def close(self) -> None:
        self._conns.close()
