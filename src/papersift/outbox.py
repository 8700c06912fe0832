"""Handing recorded digests to the SMTP server so that a crash never sends one twice and
never skips one.

An SMTP send cannot share a transaction with the database, so a digest goes through
states that are each written before the step they describe (see
:class:`papersift.community.OutboxState`):

1. ``pending``: the planner recorded the exact message bytes (with a fixed Message-ID) in
   the transaction that moved the subscription's cursor (:mod:`papersift.digests`).
2. The envelope and the message body are sent, all but the line ``.`` that ends it. A
   server delivers nothing before that line: killed up to here, the row is still
   ``pending`` and the next run sends the whole message again (once).
3. ``handed`` is committed, and the final ``.`` is written straight after the commit
   (:meth:`~papersift.backends.base.CommunityStore.hand_over`). From the moment that write
   returns, the kernel delivers those three bytes even if this process dies (its socket is
   closed, not reset: nothing unread waits on it), so the server delivers the message; a
   rerun never sends a ``handed`` row again.
4. ``sent`` when the server answers 250; ``failed`` on a permanent refusal (5xx);
   ``pending`` again on a temporary one (4xx), for the next run.

The one window left is between the commit of ``handed`` and the ``write`` of the final
line: two system calls back to back, with no network wait between them (a microsecond or
two, unless the scheduler pauses the process exactly there); a kill exactly there skips
that digest. The opposite order would instead risk sending it twice in the (much longer)
wait for the server's answer.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr

from papersift.community import OutboxMail, OutboxState
from papersift.mail import MailError, MailSettings, connect

__all__ = ["Delivery", "deliver", "smtp_body"]

Mark = Callable[[OutboxMail, OutboxState, "str | None"], None]
HandOver = Callable[[OutboxMail, Callable[[], object]], None]
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)


def smtp_body(raw: bytes) -> bytes:
    """A message as the DATA command carries it, without the final ``.`` line: CRLF line
    ends, leading dots doubled, ending in CRLF."""
    data = re.sub(rb"\r?\n|\r", b"\r\n", raw)
    data = _LEADING_DOT.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _send_one(server: smtplib.SMTP, sender: str, mail: OutboxMail, hand_over: HandOver) -> int:
    """Send one message; returns the server's final reply code."""
    code, reply = server.mail(sender)
    if code != 250:
        return _refused(server, code, reply)
    code, reply = server.rcpt(mail.recipient)
    if code not in (250, 251):
        return _refused(server, code, reply)
    server.putcmd("data")
    code, reply = server.getreply()
    if code != 354:
        return _refused(server, code, reply)
    server.send(smtp_body(mail.raw))
    sock = server.sock
    assert sock is not None
    # committed as handed, then at once the line that makes the server deliver it
    hand_over(mail, lambda: sock.sendall(b".\r\n"))
    code, reply = server.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return code


def _refused(server: smtplib.SMTP, code: int, reply: bytes) -> int:
    server.rset()
    raise smtplib.SMTPResponseException(code, reply)


def deliver(settings: MailSettings, mails: Sequence[OutboxMail], mark: Mark,
            hand_over: HandOver) -> Delivery:
    """Send recorded digests over one connection, marking each as it goes (see the module
    docstring). A server that cannot be reached raises :class:`MailError` (rows stay
    ``pending``); a refused message is marked and the others go on."""
    done = Delivery()
    if not mails:
        return done
    sender = parseaddr(settings.mail_from)[1]
    server = connect(settings)
    try:
        for mail in mails:
            try:
                _send_one(server, sender, mail, hand_over)
            except smtplib.SMTPResponseException as refused:
                said = refused.smtp_error
                why = f"{refused.smtp_code} " + (said.decode(errors="replace")
                                                 if isinstance(said, bytes) else str(said))
                temporary = 400 <= refused.smtp_code < 500
                mark(mail, "pending" if temporary else "failed", why)
                (done.retry if temporary else done.failed).append(f"{mail.recipient}: {why}")
                continue
            mark(mail, "sent", None)
            done.sent += 1
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"cannot send mail through {settings.smtp_host}:{settings.smtp_port}: "
                        f"{error.__class__.__name__}: {error}") from None
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
    return done
