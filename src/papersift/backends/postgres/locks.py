"""Named locks shared by every process using a PostgreSQL library: advisory locks.

A lock is a session-level ``pg_advisory_lock`` held on a connection of its own, so the
server drops it when that connection ends, however its process ends (a crashed ingest never
leaves the library locked). Who holds it is written beside it (``lock_holders``) and read
back only while that backend still holds the lock, for the messages ("another ingest is
running, pid 123 on host; waiting").
"""

from __future__ import annotations

import time
from hashlib import sha256
from typing import Any

from papersift.backends.base import LockBusy
from papersift.backends.postgres.connections import Database
from papersift.jobs import owner_name

__all__ = ["AdvisoryLock"]

_HOLDER = """
SELECT coalesce(h.holder, 'PostgreSQL backend ' || l.pid || ' (pid unknown)')
FROM pg_locks l LEFT JOIN lock_holders h ON h.name = %s AND h.backend = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
    SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
"""


def _lock_id(name: str) -> int:
    """A positive 62-bit id per lock name (advisory locks are per database: per library)."""
    return int.from_bytes(sha256(f"papersift:{name}".encode()).digest()[:8], "big") >> 2


def _taken(conn: Any, lock: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock,)).fetchone()
    return bool(row and row[0])


class AdvisoryLock:
    """An exclusive lock shared by processes (each object uses a connection of its own)."""

    def __init__(self, database: Database, name: str) -> None:
        self.name = name
        self._db = database
        self._id = _lock_id(name)
        self._conn: Any = None

    def acquire(self, *, wait: bool = True, timeout: float | None = None) -> None:
        if self._conn is not None:
            raise RuntimeError(f"lock {self.name} is already held by this object")
        conn = self._db.dedicated()
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.05
        try:
            while not _taken(conn, self._id):
                if not wait or (deadline is not None and time.monotonic() > deadline):
                    raise LockBusy(self.name, self.holder())
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            conn.execute(
                "INSERT INTO lock_holders (name, holder, backend) "
                "VALUES (%s, %s, pg_backend_pid()) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, backend = excluded.backend",
                (self.name, owner_name()))
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def release(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.execute("DELETE FROM lock_holders WHERE name = %s AND backend = pg_backend_pid()",
                         (self.name,))
            conn.execute("SELECT pg_advisory_unlock(%s)", (self._id,))
        finally:
            conn.close()  # ending the session would release it anyway

    def holder(self) -> str | None:
        if self._conn is not None:
            return owner_name()
        row = self._db.one(_HOLDER, (self.name, self._id >> 32, self._id & 0xFFFF_FFFF))
        return str(row[0]) if row else None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def __enter__(self) -> AdvisoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
