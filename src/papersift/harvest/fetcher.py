"""HTTP for harvests: polite, patient, bounded, and one log line per request.

Every request waits for its host's turn (:class:`~papersift.harvest.politeness.HostGate`),
has a timeout, and is retried a bounded number of times when the failure is likely to pass:
a connection error or timeout, a response cut short, a 5xx or 429 (after the server's
``Retry-After`` when it sends one, else after a capped exponential back-off with jitter),
or a page that does not parse (a cut without ``Content-Length`` looks like that). Other
4xx answers are the caller's mistake and fail at once. Each request logs
``<status>, <n> records, waited <s> s: GET <url>`` on the ``papersift.harvest`` logger.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from papersift.errors import LibraryError
from papersift.sources import SourceError

from .politeness import HostGate, backoff_delay, retry_after_seconds
from .settings import HarvestSettings

try:
    import httpx
except ImportError:  # pragma: no cover - exercised only without the extra
    httpx = None  # type: ignore[assignment]

__all__ = ["Fetcher", "HarvestError", "Page", "TransientPage", "log"]

log = logging.getLogger("papersift.harvest")

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class HarvestError(LibraryError):
    """A harvest cannot go on; ``str(err)`` is one line saying what happened and what to do."""


class TransientPage(Exception):
    """A page that may be whole next time (empty before the end, cut short): try again."""


class Page(Protocol):
    """What a page parser returns: at least how many records it holds, for the log."""

    @property
    def count(self) -> int: ...


P = TypeVar("P", bound=Page)


@dataclass(slots=True)
class _Outcome(Generic[P]):
    """What one request came to: a page, a problem worth a retry, or a fatal error."""

    status: str
    problem: str
    page: P | None = None
    retry_after: float | None = None
    fatal: HarvestError | None = None


def _require_httpx() -> None:
    if httpx is None:
        raise HarvestError('harvesting needs httpx: pip install "papersift[harvest]"')


class Fetcher:
    """GETs pages from sources, politely; one per harvest run (it holds a connection pool)."""

    def __init__(
        self,
        settings: HarvestSettings,
        *,
        gate: HostGate | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _require_httpx()
        self.settings = settings
        self.gate = gate or HostGate(settings.min_interval, sleep=sleep)
        self._clock = time.time
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            headers={"User-Agent": settings.user_agent},
            follow_redirects=True,
        )
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, str], parse: Callable[[bytes], P]) -> P:
        """The parsed page at ``url?params``; raises :class:`HarvestError` when it cannot be had.

        ``parse`` turns the body into a page; it raises :class:`TransientPage` or
        :class:`~papersift.sources.SourceError` for a body worth asking again for, and
        :class:`HarvestError` for an answer that will not change (a protocol error).
        """
        target = httpx.URL(url, params=dict(params))
        host = target.host or url
        problem = ""
        for attempt in range(1, self.settings.retries + 2):
            waited = self.gate.wait(host)
            self.requests += 1
            got = self._attempt(target, parse)
            # the gap runs from the end of this answer too: however late a request
            # reaches the server, the next one arrives at least the gap after it
            self.gate.hold(host, self._clock() + self.settings.min_interval)
            problem = got.problem
            records = got.page.count if got.page is not None else 0
            # the URL last: on a terminal a long resumption token is what gets cut off
            log.info("%s, %d records, waited %.2f s%s: GET %s", got.status, records, waited,
                     f" ({problem}; try {attempt})" if problem else "", target)
            if got.fatal is not None:
                raise got.fatal
            if got.page is not None:
                return got.page
            delay = self._next_delay(attempt, got.retry_after, target)
            self.gate.hold(host, self._clock() + delay)
        raise HarvestError(
            f"{_short(target)}: {problem} after {self.settings.retries + 1} tries; "
            "the source may be down: run the harvest again later (it resumes)"
        )

    def _attempt(self, target: httpx.URL, parse: Callable[[bytes], P]) -> _Outcome[P]:
        """One request, whatever happens to it."""
        try:
            response = self._client.get(target)
        except httpx.TimeoutException:
            return _Outcome("timeout", f"no answer within {self.settings.timeout:g} s")
        except httpx.RemoteProtocolError as err:
            return _Outcome("cut", f"response cut short ({_reason(err)})")
        except httpx.ConnectError as err:
            return _Outcome("failed", f"cannot connect ({_reason(err)})")
        except httpx.TransportError as err:
            return _Outcome("failed", f"connection failed ({_reason(err)})")
        status = response.status_code
        if status in _RETRY_STATUS:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return _Outcome(str(status), f"HTTP {status}", retry_after=wait)
        try:
            page = parse(response.content)
        except HarvestError as err:  # the source explained why it will not answer
            return _Outcome(str(status), str(err), fatal=err)
        except (TransientPage, SourceError) as err:
            if status >= 400:
                return _Outcome(str(status), f"HTTP {status}", fatal=_http_error(target, response))
            return _Outcome(str(status), f"bad page: {err}")
        if status >= 400:
            return _Outcome(str(status), f"HTTP {status}", fatal=_http_error(target, response))
        return _Outcome(str(status), "", page=page)

    def _next_delay(self, attempt: int, retry_after: float | None, target: httpx.URL) -> float:
        s = self.settings
        if retry_after is None:
            return backoff_delay(attempt, s.backoff, s.backoff_cap, self._rng)
        if retry_after > s.max_retry_after:
            raise HarvestError(
                f"{_short(target)}: the server asks to retry after {retry_after:.0f} s, more "
                f"than max_retry_after ({s.max_retry_after:g} s); run the harvest again later"
            )
        return retry_after


def _http_error(target: httpx.URL, response: httpx.Response) -> HarvestError:
    return HarvestError(
        f"{_short(target)}: HTTP {response.status_code} {response.reason_phrase}; check the "
        "URL and the query"
    )


def _short(url: httpx.URL) -> str:
    """The URL without its query, for error messages (resumption tokens are long)."""
    return str(url.copy_with(query=None))


def _reason(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]
