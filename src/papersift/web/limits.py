"""Upvote protection: token-bucket rate limits and signed voter cookies.

The limiter lives in memory, so it holds for one server process (``papersift serve`` runs
one); several workers would each allow the full rate. Each key (a voter cookie, an IP
address) owns a bucket of ``burst`` tokens refilled continuously at ``per_minute``; a
vote takes one token from each of its keys, and is refused, with the seconds to wait,
when any of them is empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter", "VoterCookies"]


class RateLimiter:
    """Token buckets keyed by client, in memory.

    >>> clock = iter([0.0, 0.0, 0.0, 6.0]).__next__
    >>> limiter = RateLimiter(burst=2, per_minute=10, clock=clock)
    >>> [limiter.take("a") for _ in range(3)] + [limiter.take("a")]
    [0.0, 0.0, 6.0, 0.0]
    """

    def __init__(self, burst: int, per_minute: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.burst = max(burst, 1)
        self.rate = max(per_minute, 1e-9) / 60.0  # tokens per second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, when = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - when) * self.rate)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1.0:
                return (1.0 - level) / self.rate
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            self._buckets[key] = (level - 1.0, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold nothing a new bucket would not."""
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]


class VoterCookies:
    """Random voter ids in cookies, signed (HMAC-SHA256) so ids cannot be picked."""

    name = "papersift_voter"

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _sign(self, token: str) -> str:
        digest = hmac.new(self._key, token.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> tuple[str, str]:
        """A new voter: ``(voter id, cookie value)``."""
        token = secrets.token_urlsafe(16)
        return token, f"{token}.{self._sign(token)}"

    def voter(self, cookie: str | None) -> str | None:
        """The voter id in a cookie value, or None when absent or not signed by us."""
        if not cookie or "." not in cookie:
            return None
        token, signature = cookie.rsplit(".", 1)
        return token if hmac.compare_digest(signature, self._sign(token)) else None
