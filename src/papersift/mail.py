"""Sending mail: sign-in links here, digests later, all through one SMTP configuration.

Settings come from the environment (:meth:`MailSettings.from_env`: ``PAPERSIFT_SMTP_HOST``,
``PAPERSIFT_SMTP_PORT``, ...); the password only ever from ``PAPERSIFT_SMTP_PASSWORD``, read
when a message is sent, never stored or shown. A message has a plain-text part, an optional
HTML part, and any extra headers (``List-Unsubscribe`` for digests); :func:`send` delivers
many over one connection.

>>> settings = MailSettings(smtp_host="127.0.0.1", smtp_port=8025, smtp_security="none")
>>> send(settings, [Message("ada@example.org", "Hello", "Plain text.")])  # doctest: +SKIP
1
"""

from __future__ import annotations

import dataclasses
import os
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from papersift.errors import LibraryError
from papersift.people import utcnow
from papersift.settings import describe_settings, setting

__all__ = ["PASSWORD_ENV", "MailError", "MailSettings", "Message", "build", "connect", "describe",
           "send", "sender_domain"]

PASSWORD_ENV = "PAPERSIFT_SMTP_PASSWORD"
_SECURITY = ("starttls", "tls", "none")


class MailError(LibraryError):
    """Mail could not be sent (the message says what to change)."""


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes out. Each setting also reads from ``PAPERSIFT_<NAME>`` (upper case)."""

    smtp_host: str | None = setting(
        None, "SMTP server that sends mail (env PAPERSIFT_SMTP_HOST). Unset: no mail is sent, "
        "and a server on loopback writes sign-in links to its log instead.")
    smtp_port: int = setting(587, "SMTP port (env PAPERSIFT_SMTP_PORT): 587 for starttls, "
                             "465 for tls.")
    smtp_security: str = setting(
        "starttls", "'starttls' (upgrade the connection, port 587), 'tls' (TLS from the "
        "start, port 465) or 'none' (plain, only to a server on this machine) "
        "(env PAPERSIFT_SMTP_SECURITY).")
    smtp_user: str | None = setting(
        None, f"User to log in as (env PAPERSIFT_SMTP_USER); the password is read from env "
        f"{PASSWORD_ENV} only.")
    mail_from: str = setting(
        "papersift <papersift@localhost>",
        "The From address of every mail (env PAPERSIFT_MAIL_FROM).")
    smtp_timeout: float = setting(20.0, "Seconds to wait for the SMTP server "
                                  "(env PAPERSIFT_SMTP_TIMEOUT).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        """Settings from ``PAPERSIFT_SMTP_HOST`` etc.; a value that does not parse is refused
        with its variable's name."""
        environ = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for item in fields(cls):
            name = f"PAPERSIFT_{item.name.upper()}"
            value = environ.get(name)
            if value is None or value == "":
                continue
            kind = type(item.default) if item.default is not None else str
            try:
                changes[item.name] = kind(value) if kind in (int, float) else value
            except ValueError:
                raise MailError(f"{name}={value!r}: expected a {kind.__name__}") from None
        return dataclasses.replace(cls(), **changes)

    @property
    def configured(self) -> bool:
        """Whether mail can be sent at all."""
        return bool(self.smtp_host)


def describe() -> list[tuple[str, Any, str]]:
    """Every mail setting as ``(name, default, help)``."""
    return describe_settings(MailSettings)


@dataclass(frozen=True)
class Message:
    """One mail: to whom, the subject, a plain-text body, an optional HTML body (already
    escaped by whoever wrote it), and extra headers (e.g. ``List-Unsubscribe``)."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def build(message: Message, sender: str) -> EmailMessage:
    """The message as MIME: ``multipart/alternative`` when it has an HTML part.

    Header values with line breaks are refused (no header injection), as is a recipient
    that is not one plain address.
    """
    _, address = parseaddr(message.to)
    if not address or "@" not in address or any(c in message.to for c in "\r\n,;"):
        raise MailError(f"{message.to!r} is not one e-mail address")
    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(utcnow())
        if "Message-ID" not in message.headers:  # a digest brings its own (kept in its outbox)
            mail["Message-ID"] = make_msgid(domain=sender_domain(sender))
        for key, value in message.headers.items():
            mail[key] = value
    except ValueError as error:
        raise MailError(f"cannot write that mail's headers: {error}") from None
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    return mail


def sender_domain(sender: str) -> str | None:
    """The domain of a From address (for Message-IDs), or None."""
    return parseaddr(sender)[1].rpartition("@")[2] or None


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An open, logged-in connection to the configured SMTP server (raises MailError)."""
    with _explained(settings):
        return _connect(settings)


@contextmanager
def _explained(settings: MailSettings) -> Iterator[None]:
    """Mail not set up, or an SMTP or network failure inside, as one-line MailErrors."""
    if not settings.configured:
        raise MailError("mail is not set up: set PAPERSIFT_SMTP_HOST (and the other "
                        "PAPERSIFT_SMTP_* settings, see README)")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        yield
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"{where} refused the login of {settings.smtp_user!r}; check "
                        f"PAPERSIFT_SMTP_USER and {PASSWORD_ENV}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"cannot send mail through {where}: "
                        f"{error.__class__.__name__}: {error}") from None


def _connect(settings: MailSettings) -> smtplib.SMTP:
    host, port = settings.smtp_host or "", settings.smtp_port
    security = settings.smtp_security.lower()
    if security not in _SECURITY:
        raise MailError(f"smtp_security={settings.smtp_security!r}: use one of "
                        f"{', '.join(_SECURITY)}")
    context = ssl.create_default_context()
    if security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=settings.smtp_timeout,
                                                context=context)
    else:
        server = smtplib.SMTP(host, port, timeout=settings.smtp_timeout)
    server.ehlo()
    if security == "starttls":
        server.starttls(context=context)
        server.ehlo()
    if settings.smtp_user:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            server.close()
            raise MailError(f"smtp_user is set but {PASSWORD_ENV} is not")
        if security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
            server.close()
            raise MailError(f"refusing to send the SMTP password to {host} unencrypted; "
                            "set PAPERSIFT_SMTP_SECURITY=starttls or tls")
        server.login(settings.smtp_user, password)
    return server


def send(settings: MailSettings, messages: Sequence[Message]) -> int:
    """Deliver messages over one SMTP connection; returns how many the server accepted.

    Raises :class:`MailError` (one line: the server, and what went wrong) when mail is not
    configured or the server cannot be reached or refuses.
    """
    with _explained(settings):
        built = [build(m, settings.mail_from) for m in messages]
        server = _connect(settings)
        try:
            for mail in built:
                server.send_message(mail)
        finally:
            try:
                server.quit()
            except smtplib.SMTPException:
                server.close()
    return len(built)
