"""``papersift serve``: run the web app under uvicorn, in one process or several.

>>> serve("papersift-data")                                       # doctest: +SKIP
>>> serve("papersift-data", host="0.0.0.0", secret="…", workers=2)  # doctest: +SKIP

With ``workers`` above one, uvicorn starts that many processes, each opening the library and
serving from it; votes, rate limits and the cookie key live in the library, so the workers
agree on everything. Each worker also offers to run the background jobs (embedding): the
job's lock lets exactly one of them run it, and another takes over if that one dies.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import math
import os
import socket
import sys
from pathlib import Path

from fastapi import FastAPI

from papersift.library import Library
from papersift.web.app import BASE_URL_ENV, SECRET_ENV, WebSettings, create_app

__all__ = ["ServeError", "check_secret", "is_loopback", "serve", "web_settings", "worker_app"]

#: Environment that carries ``serve``'s arguments to worker processes.
_ENV_LIBRARY = "PAPERSIFT_SERVE_LIBRARY"
_ENV_EMBED = "PAPERSIFT_SERVE_EMBED"
_ENV_HARVEST = "PAPERSIFT_SERVE_HARVEST"
_ENV_SETTINGS = "PAPERSIFT_SERVE_SETTINGS"
#: A secret shorter than this, or with fewer distinct characters, is refused on a public host.
MIN_SECRET_CHARS = 32
#: Seconds a server thread holds the interpreter lock before another may take it.
SWITCH_INTERVAL = 0.001
MIN_SECRET_DISTINCT = 12


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


def check_secret(host: str, secret: str | None) -> None:
    """Refuse a public server without a strong secret (the message says how to make one)."""
    make = ("e.g. `export PAPERSIFT_SECRET=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')`")
    if is_loopback(host):
        return
    if not secret:
        raise ServeError(f"refusing to serve on {host} without a secret: set {SECRET_ENV} "
                         f"({make}) or serve on 127.0.0.1")
    if not looks_random(secret):
        raise ServeError(f"{SECRET_ENV} is too weak for a public server (at least "
                         f"{MIN_SECRET_CHARS} random characters); make one: {make}")


def looks_random(secret: str) -> bool:
    """A cheap guard against guessable secrets: long enough, varied enough (an estimated
    128 bits by its own character frequencies), and no six characters repeated. It cannot
    prove randomness; ``secrets.token_urlsafe(32)`` passes it by a wide margin."""
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < MIN_SECRET_DISTINCT:
        return False
    counts = [secret.count(c) for c in set(secret)]
    bits = -sum(n * math.log2(n / len(secret)) for n in counts)
    grams = [secret[i : i + 6] for i in range(len(secret) - 5)]
    return bits >= 128 and len(set(grams)) == len(grams)


def web_settings(pairs: tuple[str, ...] | list[str]) -> WebSettings:
    """Web settings from ``NAME=VALUE`` pairs (values converted to each setting's type)."""
    known = {f.name: f for f in dataclasses.fields(WebSettings)}
    changes: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in known or name == "secret":
            choices = ", ".join(n for n in known if n != "secret")
            raise ValueError(f"{pair!r}: write NAME=VALUE with NAME one of {choices} "
                             "(the secret comes from PAPERSIFT_SECRET)")
        kind = type(known[name].default)
        try:
            changes[name] = kind(value) if kind in (int, float) else value
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a {kind.__name__}") from None
    return WebSettings().replace(**changes)


def check_base_url(host: str, port: int, base_url: str | None) -> str:
    """The site's public address: configured (checked), or on loopback the one listened on."""
    if base_url:
        if not base_url.startswith(("http://", "https://")) or " " in base_url:
            raise ServeError(f"{BASE_URL_ENV}/base_url {base_url!r}: give the site's address, "
                             "e.g. https://papers.example.org")
        return base_url.rstrip("/")
    if not is_loopback(host):
        raise ServeError(f"refusing to serve on {host} without the site's public address: "
                         f"set {BASE_URL_ENV} (e.g. https://papers.example.org), used for "
                         "the links in feeds")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _log_jobs() -> None:
    """Job start, progress (every minute) and completion on the server's terminal."""
    logger = logging.getLogger("papersift")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s papersift: %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _open(library_path: str | os.PathLike[str], embed: bool, harvest: bool = False) -> Library:
    # Requests run in threads that share the interpreter lock: hand it over more often than
    # the default 5 ms, so a quick page is not held up behind a long one's time slices.
    sys.setswitchinterval(SWITCH_INTERVAL)
    library = Library(library_path)
    if harvest:
        _start_harvest(library)
    if embed and (len(library) or harvest):
        library.start_jobs(embed=True)
    return library


def _start_harvest(library: Library) -> None:
    """Keep the library's harvest schedule (``papersift harvest config``) in this process."""
    from papersift.harvest import HarvestError, Scheduler

    try:
        Scheduler(library).start()
    except HarvestError as error:
        library.close()
        raise ServeError(f"--harvest: {error}") from None


def _check_harvest(library_path: str | os.PathLike[str]) -> None:
    from papersift.harvest import HarvestError, Scheduler

    with Library(library_path) as library:
        try:
            Scheduler(library).check()
        except HarvestError as error:
            raise ServeError(f"--harvest: {error}") from None


def worker_app() -> FastAPI:
    """One worker's app (uvicorn's factory when ``serve`` runs several processes)."""
    _log_jobs()
    library = _open(os.environ[_ENV_LIBRARY], os.environ.get(_ENV_EMBED) == "1",
                    os.environ.get(_ENV_HARVEST) == "1")
    pairs = json.loads(os.environ.get(_ENV_SETTINGS, "[]"))
    settings = web_settings(pairs).replace(secret=os.environ.get(SECRET_ENV))
    app = create_app(library, settings=settings)
    app.router.on_shutdown.append(library.close)
    return app


def _pairs(settings: WebSettings) -> list[str]:
    """The settings that differ from the defaults, as ``NAME=VALUE`` pairs."""
    default = WebSettings()
    return [f"{f.name}={getattr(settings, f.name)}" for f in dataclasses.fields(settings)
            if f.name != "secret" and getattr(settings, f.name) != getattr(default, f.name)]


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
    workers: int = 1,
    harvest: bool = False,
) -> None:
    """Serve the library at ``library_path`` until interrupted.

    A server on a non-loopback address needs a strong secret (``secret``,
    ``settings.secret`` or env ``PAPERSIFT_SECRET``) to sign voter cookies; without one it
    refuses to start. Behind a reverse proxy, pass ``proxy_headers=True`` so limits apply
    to the client's address. With ``embed``, papers without vectors are embedded in the
    background while the server answers (and papers other processes add, as they come).
    With ``harvest``, the library's harvest schedule runs as a background job (one worker
    at a time), and what it brings is embedded with ``embed``.

    Raises :class:`ServeError` when the library is missing or the secret is.
    """
    import uvicorn

    settings = settings or WebSettings()
    secret = secret or settings.secret or os.environ.get(SECRET_ENV)
    check_secret(host, secret)
    base_url = check_base_url(host, port, settings.base_url or os.environ.get(BASE_URL_ENV))
    settings = settings.replace(base_url=base_url)
    if not Library.exists(library_path):
        raise ServeError(f"{library_path}: no library here; run `papersift ingest` first")
    _log_jobs()
    if harvest:  # checked here, so that a mistake stops the server before any worker starts
        _check_harvest(library_path)
    if workers > 1:
        location = os.fspath(library_path)
        os.environ[_ENV_LIBRARY] = location if "://" in location else str(Path(location).resolve())
        os.environ[_ENV_EMBED] = "1" if embed else "0"
        os.environ[_ENV_HARVEST] = "1" if harvest else "0"
        os.environ[_ENV_SETTINGS] = json.dumps(_pairs(settings))
        if secret:
            os.environ[SECRET_ENV] = secret
        uvicorn.run("papersift.web.serve:worker_app", factory=True, host=host, port=port,
                    log_level=log_level, proxy_headers=proxy_headers, workers=workers)
        return
    settings = settings.replace(secret=secret) if secret else settings
    library = _open(library_path, embed, harvest)
    try:
        uvicorn.run(create_app(library, settings=settings), host=host, port=port,
                    log_level=log_level, proxy_headers=proxy_headers)
    finally:
        library.close()
