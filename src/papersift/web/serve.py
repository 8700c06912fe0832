"""``papersift serve``: run the web app under uvicorn.

>>> serve("papersift-data")                              # doctest: +SKIP
>>> serve("papersift-data", host="0.0.0.0", secret="…")  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from papersift.library import Library
from papersift.web.app import SECRET_ENV, WebSettings, create_app

__all__ = ["ServeError", "is_loopback", "serve"]


class ServeError(Exception):
    """The server cannot start as asked (the message says what to change)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def serve(
    library_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    secret: str | None = None,
    settings: WebSettings | None = None,
    log_level: str = "info",
    proxy_headers: bool = False,
    embed: bool = False,
) -> None:
    """Serve the library at ``library_path`` until interrupted.

    A server on a non-loopback address needs a secret (``secret``, ``settings.secret`` or
    env ``PAPERSIFT_SECRET``) to sign voter cookies; without one it refuses to start.
    One process only: the upvote rate limiter lives in memory. Behind a reverse proxy,
    pass ``proxy_headers=True`` so limits apply to the client's address.

    With ``embed``, papers without vectors are embedded in a background thread while the
    server answers; semantic search turns on when that finishes.

    Raises :class:`ServeError` when the library is missing or the secret is.
    """
    import uvicorn

    settings = settings or WebSettings()
    secret = secret or settings.secret or os.environ.get(SECRET_ENV)
    if not is_loopback(host) and not secret:
        raise ServeError(
            f"refusing to serve on {host} without a secret: set {SECRET_ENV} "
            "(e.g. `export PAPERSIFT_SECRET=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')`) or serve on 127.0.0.1"
        )
    if not Path(library_path).is_dir():
        raise ServeError(f"{library_path}: no library here; run `papersift ingest` first")
    settings = settings.replace(secret=secret) if secret else settings
    library = Library(library_path)
    if embed and len(library):
        library.embed_in_background()
    app = create_app(library, settings=settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=proxy_headers,
                workers=1)
