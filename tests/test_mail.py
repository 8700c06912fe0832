"""Mail through a real SMTP server on loopback (aiosmtpd), parsed as it arrived."""

from __future__ import annotations

import socket

import pytest

from papersift.mail import MailError, MailSettings, Message, build, send
from tests.mailbox import Mailbox


def test_plain_and_html_parts_and_extra_headers_arrive(mailbox: Mailbox) -> None:
    html = "<p>Top papers: <b>Matryoshka</b> &amp; more</p>"
    message = Message("ada@example.org", "Your digest — 3 papers", "Top papers: Matryoshka",
                      html=html, headers={
                          "List-Unsubscribe": "<https://papers.example.org/unsubscribe/abc>",
                          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    assert send(mailbox.settings, [message, Message("bob@example.org", "Hi", "Plain")]) == 2
    digest, plain = mailbox.wait(2)
    assert mailbox.envelopes[0] == ("papersift@example.org", ["ada@example.org"])
    assert digest["Subject"] == "Your digest — 3 papers" and digest["To"] == "ada@example.org"
    assert digest["List-Unsubscribe"] == "<https://papers.example.org/unsubscribe/abc>"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert digest["Message-ID"] and digest["Date"]
    assert digest.get_content_type() == "multipart/alternative"
    assert digest.get_body(preferencelist=("plain",)).get_content().strip() == (  # type: ignore[union-attr]
        "Top papers: Matryoshka")
    assert digest.get_body(preferencelist=("html",)).get_content().strip() == html  # type: ignore[union-attr]
    assert plain.get_content_type() == "text/plain"


@pytest.mark.parametrize("to", ["ada@example.org\r\nBcc: eve@example.org", "a@x.org, b@y.org",
                                "not an address"])
def test_a_recipient_must_be_one_plain_address(to: str) -> None:
    with pytest.raises(MailError, match="not one e-mail address"):
        build(Message(to, "Hi", "text"), "papersift@example.org")


def test_headers_cannot_be_injected() -> None:
    with pytest.raises(MailError, match="headers"):
        build(Message("ada@example.org", "Hi\r\nBcc: eve@example.org", "text"),
              "papersift@example.org")


def test_unset_unreachable_and_misconfigured_servers_say_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MailError, match="PAPERSIFT_SMTP_HOST"):
        send(MailSettings(), [Message("ada@example.org", "Hi", "text")])
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                          smtp_timeout=2)
    with pytest.raises(MailError, match=f"cannot send mail through 127.0.0.1:{port}"):
        send(closed, [Message("ada@example.org", "Hi", "text")])
    with pytest.raises(MailError, match="smtp_security"):
        send(MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="ssl3"),
             [Message("ada@example.org", "Hi", "text")])


def test_the_password_comes_from_the_environment_only(monkeypatch: pytest.MonkeyPatch,
                                                      mailbox: Mailbox) -> None:
    monkeypatch.delenv("PAPERSIFT_SMTP_PASSWORD", raising=False)
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=mailbox.port,
                            smtp_security="none", smtp_user="papersift")
    with pytest.raises(MailError, match="PAPERSIFT_SMTP_PASSWORD is not"):
        send(settings, [Message("ada@example.org", "Hi", "text")])
    assert not any("password" in name for name in MailSettings.__dataclass_fields__)


def test_settings_from_the_environment() -> None:
    settings = MailSettings.from_env({"PAPERSIFT_SMTP_HOST": "smtp.example.org",
                                      "PAPERSIFT_SMTP_PORT": "465",
                                      "PAPERSIFT_SMTP_SECURITY": "tls",
                                      "PAPERSIFT_SMTP_USER": "bot",
                                      "PAPERSIFT_MAIL_FROM": "Papers <papers@example.org>"})
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "smtp.example.org", 465, "tls")
    assert settings.smtp_user == "bot" and settings.mail_from == "Papers <papers@example.org>"
    assert not MailSettings.from_env({}).configured
    with pytest.raises(MailError, match="PAPERSIFT_SMTP_PORT='x'"):
        MailSettings.from_env({"PAPERSIFT_SMTP_PORT": "x"})
