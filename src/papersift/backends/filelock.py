"""Named locks for a library directory: ``flock`` on files under ``<library>/locks/``.

The kernel drops a ``flock`` when its process dies, however it dies, so a crashed ingest
never leaves a library locked. The file holds who took the lock, for the messages
("another ingest is running, pid 123 on host; waiting").
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from papersift.backends.base import LockBusy
from papersift.jobs import owner_name

__all__ = ["FileLock"]


class FileLock:
    """An exclusive lock shared by processes (and by threads: each object opens its own file)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        self.path = Path(directory) / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self, *, wait: bool = True, timeout: float | None = None) -> None:
        if self._fd is not None:
            raise RuntimeError(f"lock {self.name} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() > deadline):
                    holder = self.holder()
                    os.close(fd)
                    raise LockBusy(self.name, holder) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner_name().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def holder(self) -> str | None:
        if self._fd is not None:
            return owner_name()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 200, 0).decode(errors="replace") or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
