"""Asking a server no faster than it allows: a gap per host, Retry-After, back-off with jitter.

arXiv's published policy for its APIs is one request every three seconds from one client;
on overload its OAI-PMH interface answers 503 with a ``Retry-After`` header. These rules are
kept here, apart from HTTP, so that they can be tested with a fake clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["HostGate", "backoff_delay", "retry_after_seconds"]


class HostGate:
    """When each host may be asked next: ``interval`` seconds after the last request to it
    (the fetcher holds the host again when the answer has come), or later when a back-off
    or a ``Retry-After`` holds it back.

    ``due`` holds those times (wall clock) as an earlier run left them (kept in the
    library), so a run started right after another, even one killed while backing off,
    still waits its turn. ``remember(host, due)`` is called whenever a host's time moves.
    """

    def __init__(
        self,
        interval: float,
        *,
        due: Mapping[str, float] | None = None,
        remember: Callable[[str, float], None] | None = None,
        longest: float = 900.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.due: dict[str, float] = dict(due or {})
        self._remember = remember
        # a clock set back must not become an endless wait: never more than the longest hold
        self._longest = max(longest, interval)
        self._clock = clock
        self._sleep = sleep

    def wait(self, host: str) -> float:
        """Sleep until ``host`` may be asked, and hold it for the next interval; returns the
        seconds slept."""
        delay = min(max(self.due.get(host, float("-inf")) - self._clock(), 0.0), self._longest)
        if delay > 0:
            self._sleep(delay)
        self.hold(host, self._clock() + self.interval)
        return delay

    def hold(self, host: str, until: float) -> None:
        """Ask ``host`` again no earlier than ``until`` (a back-off, a Retry-After)."""
        self.due[host] = max(self.due.get(host, float("-inf")), until)
        if self._remember is not None:
            self._remember(host, self.due[host])


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP-date (RFC 9110).

    >>> retry_after_seconds("120")
    120.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT",
    ...                     now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    10.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None  # unparseable: the caller backs off on its own schedule
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """The wait before try ``attempt + 1``: ``base * 2**(attempt-1)`` capped, less up to half.

    Jitter spreads retries of many clients apart; keeping at least half of the delay keeps
    each client's own back-off honest.
    """
    full = min(cap, base * 2 ** max(attempt - 1, 0))
    return full * rng.uniform(0.5, 1.0)
