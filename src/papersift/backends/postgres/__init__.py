"""The PostgreSQL backend: a library in one PostgreSQL database (15 or newer, with pgvector).

``papersift.backends.open("postgresql://user@host:port/dbname")`` returns a
:class:`PostgresBackend`: the paper store (:mod:`.store`), the user store (:mod:`.people`),
the community store (:mod:`.community`), full-text ranking over a weighted ``tsvector``
(:mod:`.lexical`) and pgvector HNSW search (:mod:`.dense`), sharing a pool of connections
(:mod:`.connections`). Any number of processes on any number of machines may use the same
database at once. Needs
``pip install "papersift[postgres]"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from papersift.backends.base import (
    CommunityStore,
    DenseRanker,
    LexicalRanker,
    PaperStore,
    UserStore,
)
from papersift.backends.postgres.community import PostgresCommunityStore
from papersift.backends.postgres.connections import Database, PostgresError, database_exists
from papersift.backends.postgres.dense import PgvectorRanker
from papersift.backends.postgres.lexical import FullTextRanker
from papersift.backends.postgres.people import PostgresUserStore
from papersift.backends.postgres.store import PostgresStore
from papersift.settings import Settings

__all__ = ["PostgresBackend", "PostgresError", "database_exists", "open_url"]


@dataclass
class PostgresBackend:
    """A paper store, a user store, a community store, its full-text ranker and its
    pgvector rankers (one per encoder)."""

    location: str
    store: PaperStore
    users: UserStore
    community: CommunityStore
    lexical: LexicalRanker
    settings: Settings
    database: Database
    _dense: dict[str, DenseRanker] = field(default_factory=dict)

    def dense(self, name: str, dim: int) -> DenseRanker:
        """The vectors of encoder ``name`` (a table made empty when there is none yet)."""
        if name not in self._dense:
            self._dense[name] = PgvectorRanker(
                self.database, name=name, dim=dim, exact_below=self.settings.exact_below,
                recall=self.settings.recall_target)
        return self._dense[name]

    def stored_encoders(self) -> dict[str, int]:
        """Encoders with vectors stored here, and their dimensions."""
        rows = self.database.rows("SELECT name, dim FROM encoders ORDER BY name")
        return {str(name): int(dim) for name, dim in rows}

    def close(self) -> None:
        self.database.close()


def open_url(url: str, *, settings: Settings | None = None) -> PostgresBackend:
    """Open (creating and migrating when needed) the library in the database at ``url``."""
    database = Database(url)
    return PostgresBackend(location=database.location, store=PostgresStore(database),
                           users=PostgresUserStore(database),
                           community=PostgresCommunityStore(database),
                           lexical=FullTextRanker(database), settings=settings or Settings(),
                           database=database)
