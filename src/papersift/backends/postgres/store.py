"""The PostgreSQL paper store: papers, listings, votes, jobs and locks in one database.

It implements :class:`papersift.backends.base.PaperStore` as the embedded catalog does,
composed of small parts: :mod:`.papers` (rows, change log, embedding state, filters),
:mod:`.identities` (aliases, papers by title, making two ids one paper), :mod:`.listings`,
:mod:`.votes` (votes, rate limits, job states) and :mod:`.locks` (advisory locks).
Accounts and other stores added later join as further parts of their own over the same
:class:`~papersift.backends.postgres.connections.Database`.
"""

from __future__ import annotations

from papersift.backends.base import Lock
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.identities import IdentityRows
from papersift.backends.postgres.listings import ListingRows
from papersift.backends.postgres.locks import AdvisoryLock
from papersift.backends.postgres.papers import PaperRows
from papersift.backends.postgres.votes import VoteRows

__all__ = ["PostgresStore"]


class PostgresStore(IdentityRows, PaperRows, ListingRows, VoteRows):
    """The papers of one library in a PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.location = database.location

    def lock(self, name: str) -> Lock:
        """A lock every process using this database shares (an advisory lock)."""
        return AdvisoryLock(self._db, name)

    def close(self) -> None:
        self._db.close()
