"""The PostgreSQL dense ranker: one encoder's vectors in a pgvector table, searched by
inner product (the vectors are unit length, so it is the cosine).

Each encoder gets a table of its own (``halfvec(dim)``: float16, as the embedded store
keeps them) registered in ``encoders`` with its vector count and the change number its
vectors include. A search runs one of two plans:

- **exact**: while the library is small (under ``exact_below`` vectors, or before the index
  is built), and whenever the filters leave at most ``exact_below`` papers, every accepted
  paper's vector is scored in SQL with the float32 query;
- **HNSW**: otherwise, candidates from the HNSW index (``halfvec_ip_ops``) with the filters
  in the same ``WHERE`` and pgvector's iterative scan (``relaxed_order``), so a filter that
  rejects most neighbours still fills the list; the candidates are then re-ranked at full
  length with the float32 query, which also restores the order a relaxed scan may bend.
"""

from __future__ import annotations

import re
import threading
import time
from hashlib import sha256
from typing import Any

import numpy as np
from pgvector import HalfVector
from psycopg import sql

from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.filters import filter_sql
from papersift.query import Filters
from papersift.ranking import Hits

__all__ = ["PgvectorRanker", "relation_name"]

#: HNSW build parameters (pgvector's defaults).
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
#: Candidates asked of the index per result wanted (then re-ranked exactly).
CANDIDATES_PER_RESULT = 2
#: ``hnsw.ef_search`` floor: recall@10 against exact measured in benchmarks/postgres.py.
EF_SEARCH = 100
#: Seconds an index check is trusted before asking the catalog again.
_INDEX_CHECK_EVERY = 5.0


def relation_name(encoder: str) -> str:
    """The table of an encoder's vectors: readable, unique, a valid identifier."""
    readable = re.sub(r"[^a-z0-9]+", "_", encoder.lower()).strip("_")[:40]
    return f"dense_{readable}_{sha256(encoder.encode()).hexdigest()[:8]}"


class PgvectorRanker:
    """Vectors of one encoder in PostgreSQL."""

    def __init__(self, database: Database, *, name: str, dim: int, exact_below: int = 20_000,
                 recall: float = 0.95) -> None:
        self._db = database
        self.name = name
        self.dim = dim
        self.exact_below = exact_below
        self.recall = recall
        self._table = sql.Identifier(relation_name(name))
        self._index = sql.Identifier(relation_name(name) + "_hnsw")
        self._indexed: tuple[float, bool] = (-1e9, False)
        self._guard = threading.Lock()
        self._create()

    def _create(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('papersift-encoders'))")
            row = conn.execute("SELECT dim FROM encoders WHERE name = %s", (self.name,)).fetchone()
            if row is not None:
                if int(row[0]) != self.dim:
                    raise ValueError(f"encoder {self.name!r} has {row[0]}-dim vectors here, "
                                     f"not {self.dim}")
                return
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (key bigint PRIMARY KEY, "
                "embedding halfvec({}) NOT NULL)").format(self._table, sql.Literal(self.dim)))
            conn.execute("INSERT INTO encoders (name, dim, relation) VALUES (%s, %s, %s)",
                         (self.name, self.dim, relation_name(self.name)))

    # -- state ----------------------------------------------------------------------------
    @property
    def count(self) -> int:
        row = self._db.one("SELECT vectors FROM encoders WHERE name = %s", (self.name,))
        return int(row[0]) if row else 0

    @property
    def applied_seq(self) -> int:
        row = self._db.one("SELECT applied_seq FROM encoders WHERE name = %s", (self.name,))
        return int(row[0]) if row else 0

    def mark_applied(self, seq: int) -> None:
        self._db.one("UPDATE encoders SET applied_seq = %s WHERE name = %s RETURNING 1",
                     (int(seq), self.name))

    def refresh(self) -> None:
        """Nothing to do: every process reads the same table."""

    def verify(self) -> list[str]:
        """Problems found (the stored count against the rows)."""
        row = self._db.one(sql.SQL("SELECT count(*) FROM {}").format(self._table))
        counted = int(row[0]) if row else 0
        if counted != self.count:
            return [f"{self.name}: {counted} vectors stored, {self.count} counted"]
        return []

    # -- writing --------------------------------------------------------------------------
    def write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store (or replace) vectors in one transaction; the count follows."""
        keys = np.asarray(keys, dtype=np.int64)
        halves = np.asarray(vectors, dtype=np.float16)
        with self._db.transaction() as conn:
            added = 0
            for start in range(0, len(keys), 2000):
                rows = conn.execute(sql.SQL(
                    "INSERT INTO {} (key, embedding) SELECT * FROM unnest(%s::bigint[], "
                    "%s::halfvec[]) ON CONFLICT (key) DO UPDATE SET embedding = "
                    "excluded.embedding RETURNING (xmax = 0)").format(self._table),
                    ([int(k) for k in keys[start : start + 2000]],
                     [HalfVector(v) for v in halves[start : start + 2000]])).fetchall()
                added += sum(1 for (inserted,) in rows if inserted)
            conn.execute("UPDATE encoders SET vectors = vectors + %s WHERE name = %s",
                         (added, self.name))

    def forget(self, keys: np.ndarray) -> None:
        """Drop the vectors of removed papers."""
        if not len(keys):
            return
        with self._db.transaction() as conn:
            gone = conn.execute(sql.SQL("DELETE FROM {} WHERE key = ANY(%s) RETURNING 1")
                                .format(self._table), ([int(k) for k in keys],)).fetchall()
            conn.execute("UPDATE encoders SET vectors = vectors - %s WHERE name = %s",
                         (len(gone), self.name))

    def prepare(self) -> None:
        """Build the HNSW index once the library is large enough for it."""
        if self.count < self.exact_below or self._has_index(fresh=True):
            return
        with self._db.connection() as conn:
            conn.execute(sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding halfvec_ip_ops) "
                "WITH (m = {}, ef_construction = {})").format(
                    self._index, self._table, sql.Literal(HNSW_M),
                    sql.Literal(HNSW_EF_CONSTRUCTION)))
        self._indexed = (time.monotonic(), True)

    def _has_index(self, *, fresh: bool = False) -> bool:
        checked, found = self._indexed
        if fresh or time.monotonic() - checked > _INDEX_CHECK_EVERY:
            row = self._db.one("SELECT to_regclass(%s) IS NOT NULL",
                               (relation_name(self.name) + "_hnsw",))
            found = bool(row and row[0])
            self._indexed = (time.monotonic(), found)
        return found

    # -- reading --------------------------------------------------------------------------
    def vectors(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which keys have a vector, and those vectors (float32)."""
        keys = np.asarray(keys, dtype=np.int64)
        rows = self._db.rows(sql.SQL("SELECT key, embedding FROM {} WHERE key = ANY(%s)")
                             .format(self._table), ([int(k) for k in keys],), binary=True)
        stored = {int(k): v for k, v in rows}
        found = np.asarray([int(k) in stored for k in keys.tolist()], dtype=bool)
        picked = [stored[int(k)].to_numpy() for k in keys[found].tolist()]
        vectors = (np.stack(picked).astype(np.float32) if picked
                   else np.empty((0, self.dim), dtype=np.float32))
        return found, vectors

    def search(self, vector: np.ndarray, *, limit: int, filters: Filters | None = None) -> Hits:
        """Nearest papers to a unit vector among those the filters accept."""
        query = np.asarray(vector, dtype=np.float32)
        exact = (self.count < self.exact_below or not self._has_index()
                 or (filters and self._few(filters)))
        if exact:
            return self._exact(query, limit, filters)
        return self._approximate(query, limit, filters)

    def _few(self, filters: Filters) -> bool:
        """Whether the filters leave at most ``exact_below`` papers (counted up to that)."""
        condition, params = filter_sql(filters)
        row = self._db.one(sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM papers p WHERE {} LIMIT %s) AS x")
            .format(condition), [*params, self.exact_below + 1])
        return row is not None and int(row[0]) <= self.exact_below

    def _exact(self, query: np.ndarray, limit: int, filters: Filters | None) -> Hits:
        condition, params = filter_sql(filters)
        join = sql.SQL("JOIN papers p ON p.key = d.key") if filters else sql.SQL("")
        rows = self._db.rows(sql.SQL(
            "SELECT d.key, -(d.embedding::vector <#> %s::vector) AS score FROM {} d {} "
            "WHERE {} ORDER BY score DESC, d.key LIMIT %s").format(self._table, join, condition),
            [query, *params, max(limit, 1)])
        return _hits(rows)

    def _approximate(self, query: np.ndarray, limit: int, filters: Filters | None) -> Hits:
        candidates = max(limit * CANDIDATES_PER_RESULT, 10)
        condition, params = filter_sql(filters)
        where = (sql.SQL("WHERE EXISTS (SELECT 1 FROM papers p WHERE p.key = d.key AND {})")
                 .format(condition) if filters else sql.SQL(""))
        statement = sql.SQL(
            "SELECT c.key, -(c.embedding::vector <#> %s::vector) AS score FROM ("
            "SELECT d.key, d.embedding FROM {} d {} ORDER BY d.embedding <#> %s::halfvec "
            "LIMIT %s) AS c ORDER BY score DESC, c.key LIMIT %s").format(self._table, where)
        ef = min(max(EF_SEARCH, candidates), 1000)
        with self._db.connection() as conn:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false), "
                         "set_config('hnsw.iterative_scan', 'relaxed_order', false)", (str(ef),))
            rows = conn.execute(statement, [query, *params, HalfVector(query.astype(np.float16)),
                                            candidates, max(limit, 1)]).fetchall()
        return _hits(rows)


def _hits(rows: list[tuple[Any, ...]]) -> Hits:
    if not rows:
        return Hits.empty()
    return Hits(np.asarray([int(r[0]) for r in rows], dtype=np.int64),
                np.asarray([float(r[1]) for r in rows], dtype=np.float32))
