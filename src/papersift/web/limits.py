"""Upvote protection: signed voter cookies, and the keys rate limits are counted under.

The buckets themselves live in the library's store (``Library.take_token``), so every
worker process and host draws from the same ones. A vote takes one token from its voter's
bucket and one from its network's (an IPv4 /24 or an IPv6 /48: one address is cheap to
change within a network, a network is not), and is refused, with the seconds to wait, when
either is empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.responses import Response

from papersift.vote_audit import network_of

__all__ = ["VoterCookies", "network_of"]

_YEAR = 365 * 24 * 3600


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

    def set(self, response: Response, value: str | None = None) -> str:
        """Give the client a voter cookie (a new one unless ``value``); returns the value."""
        value = value or self.issue()[1]
        response.set_cookie(self.name, value, max_age=_YEAR, httponly=True, samesite="lax")
        return value
