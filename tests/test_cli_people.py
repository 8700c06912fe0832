"""The people commands as a user runs them: user add/list/remove, mail test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papersift.library import Library
from tests.contracts.conftest import sample_papers
from tests.mailbox import Mailbox
from tests.postgres_fixtures import BACKENDS, place_on
from tests.test_cli import run


@pytest.fixture(params=BACKENDS)
def library(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A library of 5 papers (a directory or a PostgreSQL URL)."""
    path = place_on(request, tmp_path / "lib")
    with Library(path) as lib:
        lib.add(sample_papers(5))
    return path


def test_add_list_approve_and_remove_users(library: str) -> None:
    added = run(library, "user", "add", "Ada@Example.org", "--admin")
    assert added.exit_code == 0 and "ada@example.org can sign in (administrator)" in added.stderr
    with Library(library) as lib:  # someone asked to join a closed site
        lib.request_sign_in("new@example.org", link_for=str, registration="closed")
        lib.save(lib.user("ada@example.org"), sample_papers(5)[0].id, note="mine")  # type: ignore[arg-type]
    listed = run(library, "user", "list")
    assert "ada@example.org since" in listed.stdout and "(admin)" in listed.stdout
    assert "new@example.org" in listed.stdout and "waiting for approval" in listed.stdout
    assert run(library, "user", "add", "new@example.org").exit_code == 0
    rows = json.loads(run(library, "user", "list", "--json").stdout)
    assert {(r["email"], r["status"], r["admin"]) for r in rows} == {
        ("ada@example.org", "active", True), ("new@example.org", "active", False)}
    removed = run(library, "user", "remove", "ada@example.org", "--yes")
    assert removed.exit_code == 0 and "removed ada@example.org" in removed.stderr
    with Library(library) as lib:
        assert lib.user("ada@example.org") is None
    missing = run(library, "user", "remove", "ada@example.org", "--yes")
    assert missing.exit_code == 1 and "no account for 'ada@example.org'" in missing.stderr
    bad = run(library, "user", "add", "not-an-address")
    assert bad.exit_code == 1 and "is not an e-mail address" in bad.stderr
    assert "Traceback" not in bad.output


def test_remove_asks_first(library: str) -> None:
    run(library, "user", "add", "ada@example.org")
    kept = run(library, "user", "remove", "ada@example.org", input="n\n")
    assert kept.exit_code == 1
    with Library(library) as lib:
        assert lib.user("ada@example.org") is not None


def test_mail_test_sends_through_the_configured_server(
        library: str, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERSIFT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PAPERSIFT_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("PAPERSIFT_SMTP_SECURITY", "none")
    monkeypatch.setenv("PAPERSIFT_MAIL_FROM", "Lab <lab@example.org>")
    sent = run(library, "mail", "test", "ada@example.org")
    assert sent.exit_code == 0, sent.output
    message = mailbox.wait(1)[0]
    assert message["Subject"] == "papersift test mail"
    assert message["From"] == "Lab <lab@example.org>"
    assert "127.0.0.1" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    monkeypatch.setenv("PAPERSIFT_SMTP_PORT", "1")
    failed = run(library, "mail", "test", "ada@example.org")
    assert failed.exit_code == 1 and "cannot send mail through 127.0.0.1:1" in failed.stderr
    monkeypatch.delenv("PAPERSIFT_SMTP_HOST")
    unset = run(library, "mail", "test", "ada@example.org")
    assert unset.exit_code == 1 and "PAPERSIFT_SMTP_HOST" in unset.stderr
