"""The HTTP server itself: one app per server, faults switched per request, every request
logged with its arrival time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

FAULTS = ("503", "malformed", "cut", "reset", "expire")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    number: int
    arrived: float  # time.monotonic() when its request line was read
    target: str
    status: int
    fault: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self) -> None:
        self.server.owner.dispatch(self, self.path)  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # OAI-PMH allows form-encoded POST
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.owner.dispatch(self, urlsplit(self.path).path + "?" + body)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        return None


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port) answering with ``app(path, query)``."""

    def __init__(self, app: Callable[[str, dict[str, list[str]]], Answer], *,
                 retry_after: str = "1") -> None:
        self.app = app
        self.retry_after = retry_after
        self.pending: list[str] = []  # faults for the next requests, in order
        self.at: dict[int, str] = {}  # faults by request number (1-based)
        self.log: list[Logged] = []
        self.after_answer: Callable[[Logged], None] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *faults: str) -> None:
        """The next requests get these faults, one each."""
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self.pending.extend(faults)

    def gaps(self) -> list[float]:
        """Seconds between the arrivals of consecutive requests."""
        times = [entry.arrived for entry in self.log]
        return [b - a for a, b in pairwise(times)]

    def dispatch(self, handler: BaseHTTPRequestHandler, target: str) -> None:
        arrived = time.monotonic()
        with self._lock:
            number = len(self.log) + 1
            fault = self.at.pop(number, None) or (self.pending.pop(0) if self.pending else None)
        expire = getattr(self.app, "expire_tokens", None)
        if fault == "expire" and expire is not None:
            expire()
        answer: Answer | None = None
        if fault == "503":
            answer = Answer(503, b"Service unavailable, retry later\n", "text/plain",
                            (("Retry-After", self.retry_after),))
        elif fault != "reset":
            parts = urlsplit(target)
            answer = self.app(parts.path, parse_qs(parts.query, keep_blank_values=True))
            if fault == "malformed":
                answer = replace(answer, body=answer.body[: len(answer.body) // 2] + b"<</>\n")
        entry = Logged(number, arrived, target, answer.status if answer else 0, fault)
        with self._lock:  # logged before the client can see the answer
            self.log.append(entry)
        if answer is None:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(handler, answer, cut=fault == "cut")
        if self.after_answer is not None:
            self.after_answer(entry)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, answer: Answer, *, cut: bool = False) -> None:
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            handler.send_header(name, value)
        handler.end_headers()
        if cut:
            handler.wfile.write(answer.body[: len(answer.body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.wfile.write(answer.body)
