"""The one place harvests touch the library: pages committed with their position, state
read and written, request times remembered. Only the library's public methods (``add``,
``remove``, ``sync``) and its paper store's meta entries are used.

Keys in the paper store's meta table: ``harvest.state:<source>`` (a :class:`HarvestState` as
JSON), ``harvest.cursor:<source>`` (where a list stands, JSON) and ``harvest.host:<host>``
(the wall-clock time before which that host must not be asked again: the politeness gap,
or a back-off).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from papersift.backends.base import UpsertCounts
from papersift.library import Library
from papersift.papers import Paper

from .politeness import HostGate
from .state import HarvestState

__all__ = [
    "commit_page",
    "cursor_key",
    "host_gate",
    "load_cursor",
    "load_state",
    "save",
    "state_key",
    "states",
    "sync",
]

log = logging.getLogger("papersift.harvest")

_STATE = "harvest.state:"
_CURSOR = "harvest.cursor:"
_HOST = "harvest.host:"


def state_key(source: str) -> str:
    return _STATE + source


def cursor_key(source: str) -> str:
    return _CURSOR + source


def load_state(library: Library, source: str) -> HarvestState:
    return HarvestState.from_json(source, library.store.get_meta(state_key(source)))


def load_cursor(library: Library, source: str) -> dict[str, Any] | None:
    text = library.store.get_meta(cursor_key(source))
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None  # unreadable: start afresh, as if never harvested
    return value if isinstance(value, dict) else None


def save(library: Library, entries: Mapping[str, str]) -> None:
    """Write state entries on their own (a run's start, its end, its error)."""
    library.store.upsert([], state=entries)


def commit_page(library: Library, papers: Sequence[Paper], deleted: Sequence[str],
                entries: Mapping[str, str]) -> tuple[UpsertCounts, int]:
    """Store one page: its deletions, then its papers with ``entries`` in one transaction.

    A crash between the two leaves the page uncommitted (its position unsaved), so the next
    run fetches it again; deleting and upserting again change nothing.
    """
    removed = library.remove(deleted, keep_votes=True) if deleted else 0
    report = library.add(papers, sync=False, state=entries, wait=_waiting)
    return report.counts, removed


def _waiting(holder: str) -> None:
    log.info("waiting for %s to finish writing to the library", holder)


def sync(library: Library) -> None:
    """Bring the lexical index up to the store (new papers searchable at once)."""
    library.sync()


def states(library: Library) -> list[HarvestState]:
    """Every source's state, by source name."""
    entries = library.store.meta_items(_STATE)
    return [HarvestState.from_json(key[len(_STATE):], text) for key, text in entries.items()]


def host_gate(library: Library, interval: float, longest: float) -> HostGate:
    """A gate that knows when this library may ask each host next, and remembers it."""
    due = {}
    for key, text in library.store.meta_items(_HOST).items():
        try:
            due[key[len(_HOST):]] = float(text)
        except ValueError:
            continue

    def remember(host: str, when: float) -> None:
        library.store.set_meta(_HOST + host, repr(when))

    return HostGate(interval, due=due, remember=remember, longest=longest)
