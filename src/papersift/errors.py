"""Errors a person can act on, shared by the library and its faces.

Each message says what is wrong, where, and what to do; the CLI prints it on one line and
the web answers with it. Tracebacks are for bugs.
"""

from __future__ import annotations

__all__ = ["LibraryError", "LockBusy"]


class LibraryError(Exception):
    """A library that cannot be opened or used as asked (the message says why)."""


class LockBusy(LibraryError):
    """A lock another process (or thread) holds; ``holder`` says who, when known."""

    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"{name} is held by {holder or 'another process'}")
        self.name = name
        self.holder = holder
