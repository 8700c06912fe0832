"""Connections to a library's PostgreSQL database: a pool per process, sized for a server's
threads, the database created and migrated on first open.

A library location is a URL, ``postgresql://user@host:port/dbname``; papersift's own query
parameter ``pool_size`` (connections this process may hold, default 10) is taken out before
the rest reaches libpq. Passwords belong in ``PGPASSWORD`` or ``~/.pgpass``: a password in
the URL works, but is never shown (``location`` hides it).

Pool connections are in autocommit mode: a read is one round trip; writes run inside
``with database.transaction() as conn`` (one transaction, rolled back on any error).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from papersift.backends.postgres.schema import MIGRATIONS
from papersift.errors import LibraryError

try:
    import psycopg
    from pgvector.psycopg import register_vector
    from pgvector.psycopg.halfvec import register_halfvec_info
    from pgvector.psycopg.vector import register_vector_info
    from psycopg import sql
    from psycopg.types import TypeInfo
    from psycopg_pool import ConnectionPool
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        f'{error.name or error}: a PostgreSQL library needs pip install "papersift[postgres]"'
    ) from None

__all__ = ["Database", "PostgresError", "database_exists", "redacted", "split_url"]

DEFAULT_POOL = 10
#: Advisory lock id that serialises migrations across processes.
_MIGRATION_LOCK = 0x7061_7065_7273_6966 >> 2


class PostgresError(LibraryError):
    """A PostgreSQL library that cannot be reached, created or used (the message says why)."""


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """``(conninfo for libpq, papersift's own options)`` from a library URL."""
    parts = urlsplit(url)
    ours = {"pool_size"}
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in query if k in ours}
    rest = urlencode([(k, v) for k, v in query if k not in ours])
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, rest, parts.fragment)), options


def redacted(url: str) -> str:
    """The URL without its password (what messages and ``location`` show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query,
                       parts.fragment))


def _dbname(conninfo: str) -> str:
    return urlsplit(conninfo).path.lstrip("/") or "postgres"


def _with_dbname(conninfo: str, name: str) -> str:
    parts = urlsplit(conninfo)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _connect(conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(conninfo, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split())
        raise PostgresError(f"{redacted(conninfo)}: cannot connect ({reason})") from None


def database_exists(url: str) -> bool:
    """Whether ``url`` names a database holding a papersift library (nothing is created)."""
    conninfo, _ = split_url(url)
    try:
        conn = psycopg.connect(conninfo, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError:
        return False
    with conn:
        found = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return False
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return row is not None


def _create_database(conninfo: str) -> None:
    """Create the URL's database from the server's maintenance database ``postgres``."""
    name = _dbname(conninfo)
    with _connect(_with_dbname(conninfo, "postgres"), autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass  # another process made it first
        except psycopg.Error as error:
            raise PostgresError(
                f"{redacted(conninfo)}: database {name!r} does not exist and could not be "
                f"created ({' '.join(str(error).split())}); create it with `createdb {name}`"
            ) from None


def migrate(conninfo: str) -> None:
    """Create the database if needed and bring its schema to the newest migration."""
    try:
        conn = psycopg.connect(conninfo, connect_timeout=10)
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise PostgresError(f"{redacted(conninfo)}: cannot connect "
                                f"({' '.join(str(error).split())})") from None
        _create_database(conninfo)
        conn = _connect(conninfo)
    with conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, "
                         "value text NOT NULL)")
        while True:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                current = int(row[0]) if row else 0
                if current > len(MIGRATIONS):
                    raise PostgresError(f"{redacted(conninfo)}: made by a newer papersift "
                                        f"(schema {current}); upgrade papersift")
                if current == len(MIGRATIONS):
                    return
                _apply(conn, conninfo, current)


def _apply(conn: psycopg.Connection[Any], conninfo: str, current: int) -> None:
    migration = MIGRATIONS[current]
    statements, backfill = migration if isinstance(migration, tuple) else (migration, None)
    try:
        conn.execute(statements.encode())
        if backfill is not None:
            backfill(conn)
    except psycopg.errors.InsufficientPrivilege as error:
        raise PostgresError(
            f"{redacted(conninfo)}: {' '.join(str(error).split())}; the pgvector extension "
            "must be installed by a superuser once: CREATE EXTENSION vector") from None
    except psycopg.errors.UndefinedFile as error:
        raise PostgresError(
            f"{redacted(conninfo)}: {' '.join(str(error).split())}; this server lacks "
            "pgvector: install it (any PostgreSQL 15+ with pgvector works)") from None
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema', %s) ON CONFLICT (key) "
                 "DO UPDATE SET value = excluded.value", (str(current + 1),))


class Database:
    """A pool of connections to one library's database (opened, created and migrated)."""

    def __init__(self, url: str) -> None:
        self.conninfo, options = split_url(url)
        self.location = redacted(url)
        try:
            size = int(options.get("pool_size", DEFAULT_POOL))
        except ValueError:
            raise PostgresError(f"{self.location}: pool_size must be a number") from None
        migrate(self.conninfo)
        self.pool: ConnectionPool[Any] = ConnectionPool(
            self.conninfo, min_size=1, max_size=max(size, 1), open=False, timeout=60,
            kwargs={"autocommit": True, "connect_timeout": 10}, configure=_configure,
            name=f"papersift {self.location}")
        try:
            self.pool.open(wait=True, timeout=30)
        except Exception as error:  # the pool's own error types wrap the driver's
            raise PostgresError(f"{self.location}: cannot open connections ({error})") from None
        self._closed = threading.Event()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection: each statement commits on its own."""
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection: committed at the end, rolled back on any
        error."""
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    def rows(self, query: str | sql.Composed, params: Sequence[Any] | dict[str, Any] = (),
             *, binary: bool = False) -> list[tuple[Any, ...]]:
        """Every row a read returns."""
        with self.pool.connection() as conn, conn.cursor(binary=binary) as cur:
            return cur.execute(query, params).fetchall()

    def one(self, query: str | sql.Composed,
            params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        """The first row a read returns (None when none)."""
        with self.pool.connection() as conn:
            return conn.execute(query, params).fetchone()

    def dedicated(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool (a held lock lives as long as it)."""
        return _connect(self.conninfo, autocommit=True)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self.pool.close()


_TYPES: dict[str, tuple[TypeInfo, TypeInfo]] = {}
_TYPES_GUARD = threading.Lock()


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Teach a new connection pgvector's types: looked up by the first connection, reused
    by the next ones (a server opening connections under load pays no extra round trips)."""
    key = conn.info.dsn
    with _TYPES_GUARD:
        known = _TYPES.get(key)
    if known is None:
        register_vector(conn)
        vector, half = TypeInfo.fetch(conn, "vector"), TypeInfo.fetch(conn, "halfvec")
        if vector is not None and half is not None:
            with _TYPES_GUARD:
                _TYPES[key] = (vector, half)
        return
    register_vector_info(conn, known[0])
    register_halfvec_info(conn, known[1])
