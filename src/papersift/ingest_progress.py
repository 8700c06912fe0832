"""Ingest progress in records: the count read so far and an estimate of the total.

Counting records in advance would mean reading every input twice; the bytes are known at
once. So the total is estimated from the share of the input bytes (compressed, for
``.gz``) consumed so far: ``records read x total bytes / bytes read``. It settles within
the first percent of a uniform input such as the 75k sample; for standard input there is
no total (the bar pulses, with a rate).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence

from papersift import sources

__all__ = ["RecordCounter"]

Progress = Callable[[str, int, int | None], None]


class RecordCounter:
    """Wraps a ``progress(task, done, total)`` callback, filling in ``read``'s total."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], progress: Progress) -> None:
        try:
            self.total_bytes = sources.total_bytes([os.fspath(p) for p in paths])
        except (OSError, sources.SourceError):
            self.total_bytes = None  # a missing input fails later, with its own message
        self.progress = progress
        self._offset = 0
        self._consumed = 0

    def reading(self, path: str | os.PathLike[str]) -> Callable[[int], None]:
        """The ``on_bytes`` callback for one input (its counts start where the last ended)."""
        offset = self._offset

        def on_bytes(n: int) -> None:
            self._consumed = offset + n

        return on_bytes

    def read_all(self, path: str | os.PathLike[str]) -> None:
        """One input is read to its end."""
        with contextlib.suppress(OSError, sources.SourceError):
            self._offset += sources.total_bytes([os.fspath(path)]) or 0
        self._consumed = self._offset

    def estimate(self, records: int) -> int | None:
        """The records all inputs probably hold, or None while unknown."""
        if not self.total_bytes or not self._consumed or not records:
            return None
        return max(records, round(records * self.total_bytes / self._consumed))

    def __call__(self, task: str, done: int, total: int | None) -> None:
        if task == "read" and total is None:
            total = self.estimate(done)
        self.progress(task, done, total)
