"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from papersift.mail import MailSettings


class Mailbox:
    """Receives mail on 127.0.0.1 and keeps each message, parsed, in arrival order."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._changed = threading.Condition()
        self._given: set[str] = set()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._changed.notify_all()
        return "250 OK"

    @property
    def settings(self) -> MailSettings:
        return MailSettings(smtp_host="127.0.0.1", smtp_port=self.port, smtp_security="none",
                            mail_from="papersift <papersift@example.org>", smtp_timeout=5)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} mails arrived, {count} expected")
                self._changed.wait(left)
            return list(self.messages[:count])

    def last_link(self, timeout: float = 10.0, *, fresh: bool = True) -> str:
        """The newest sign-in link (not handed out before, unless ``fresh`` is false) from
        the messages' plain-text parts, waiting for it to arrive (sign-in mail goes out in
        the background, so another mail, e.g. a digest confirmation, may arrive after the
        request and before it)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in reversed(self.messages):
                    body = message.get_body(preferencelist=("plain",))
                    text = body.get_content() if body is not None else ""
                    found = re.search(r"https?://\S+/signin/confirm\?token=[\w-]+", text)
                    if found and not (fresh and found.group() in self._given):
                        self._given.add(found.group())
                        return found.group()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no new sign-in link in {len(self.messages)} mails")
                self._changed.wait(left)

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
            self.envelopes.clear()
            self._given.clear()

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
