"""E-mail digests against a real SMTP server on loopback (aiosmtpd), every mail parsed:
double opt-in, the plain and HTML parts, unsubscribing by the signed link and by
List-Unsubscribe-Post, a saved-search alert holding exactly the new matching papers, and
reruns that send nothing twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from papersift.cli import main
from papersift.library import Library
from papersift.web import WebSettings, create_app
from tests.community_fixtures import BASE, DAYS, WORD, community_library, matching, sample_days
from tests.mailbox import Mailbox
from tests.postgres_fixtures import ON_BOTH, drop_database, library_on


@pytest.fixture
def library(request: pytest.FixtureRequest, arxiv_sample: Path, tmp_path: Path,
            mailbox: Mailbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The community test library; in PostgreSQL too for the tests marked ``@ON_BOTH``."""
    cache = tmp_path_factory.getbasetemp() / "community-cache"
    cache.mkdir(exist_ok=True)
    embedded = community_library(cache, tmp_path / "lib", arxiv_sample, mail=mailbox.settings)
    lib, url = library_on(request, embedded, mail=mailbox.settings)
    assert isinstance(lib, Library)
    yield lib
    lib.close()
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def client(library: Library) -> TestClient:
    app = create_app(library, settings=WebSettings(base_url=BASE, registration="open"))
    return TestClient(app, base_url=BASE)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def subscribe_and_confirm(web: TestClient, mailbox: Mailbox, email: str,
                          frequency: str = "daily") -> EmailMessage:
    """Subscribe through the form, then confirm from the mailed link; returns that mail."""
    page = web.get("/digests")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf, page.text
    before = len(mailbox.messages)
    told = web.post("/digests/subscribe", data={"email": email, "frequency": frequency,
                                                "csrf": csrf.group(1)})
    assert told.status_code == 200 and "confirmation link is on its way" in told.text
    mail = mailbox.wait(before + 1)[-1]
    assert mail["To"] == email and "Confirm your papersift digest" in mail["Subject"]
    link = re.search(r"https://\S+/digests/confirm\?token=[\w-]+", text_of(mail))
    assert link, text_of(mail)
    assert link.group() in html_of(mail)
    opened = web.get(urlsplit(link.group()).path + "?" + urlsplit(link.group()).query)
    token = re.search(r'name="token" value="([^"]+)"', opened.text)
    assert opened.status_code == 200 and token
    done = web.post("/digests/confirm", data={"token": token.group(1)})
    assert done.status_code == 200 and f"Subscribed: {email}" in done.text
    again = web.post("/digests/confirm", data={"token": token.group(1)})
    assert again.status_code == 400  # the link works once
    return mail


def digests_in(mailbox: Mailbox) -> list[EmailMessage]:
    return [m for m in mailbox.messages if "digest," in str(m["Subject"])]


@ON_BOTH
def test_double_opt_in_then_a_digest_with_plain_and_html_parts(library: Library,
                                                               mailbox: Mailbox,
                                                               arxiv_sample: Path) -> None:
    web = client(library)
    by_day = sample_days(arxiv_sample)
    # asked but never confirmed: no digest, ever
    page = web.get("/digests")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf
    web.post("/digests/subscribe", data={"email": "eve@example.org", "csrf": csrf.group(1)})
    mailbox.wait(1)
    subscribe_and_confirm(web, mailbox, "ada@example.org")
    library.add(by_day[DAYS[3]])
    run = library.send_digests(BASE)
    assert run.sent == 1 and [d.subscription.email for d in run.planned] == ["ada@example.org"]
    mails = digests_in(mailbox)
    assert len(mails) == 1 and mails[0]["To"] == "ada@example.org"
    mail = mails[0]
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Message-ID"] == "<digest-2-2025-03-21@example.org>"
    text, html = text_of(mail), html_of(mail)
    expected = library.digest(DAYS[3], until=DAYS[3], limit=10)
    assert len(expected) == 10
    for paper in expected:  # the day's ten most upvoted papers, in both parts, linked
        assert paper.title in text and f"{BASE}/papers/{paper.id}" in text
        assert f'href="{BASE}/papers/{paper.id}"' in html
    assert all(p.published == DAYS[3] for p in expected)
    assert "<script" not in html and text.startswith("papersift daily digest: Friday 21 March")
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe.replace("&", "&amp;") in html
    # a rerun sends nothing; the next listing day brings the next digest
    assert library.send_digests(BASE).sent == 0 and len(digests_in(mailbox)) == 1
    library.add(by_day[DAYS[4]])
    assert library.send_digests(BASE).sent == 1
    ids = [m["Message-ID"] for m in digests_in(mailbox)]
    assert ids == ["<digest-2-2025-03-21@example.org>", "<digest-2-2025-03-24@example.org>"]
    assert not [m for m in mailbox.messages if m["To"] == "eve@example.org"
                and "digest," in str(m["Subject"])]


@ON_BOTH
def test_unsubscribe_by_the_signed_link_and_by_list_unsubscribe_post(
        library: Library, mailbox: Mailbox, arxiv_sample: Path) -> None:
    web = client(library)
    by_day = sample_days(arxiv_sample)
    subscribe_and_confirm(web, mailbox, "ada@example.org")
    subscribe_and_confirm(web, mailbox, "bob@example.org")
    library.add(by_day[DAYS[3]])
    assert library.send_digests(BASE).sent == 2
    by_address = {m["To"]: m for m in digests_in(mailbox)}
    ada_link = re.search(r"Unsubscribe with one click: (\S+)",
                         text_of(by_address["ada@example.org"]))
    assert ada_link
    bob_link = by_address["bob@example.org"]["List-Unsubscribe"].strip("<>")
    # a forged signature (bob's link with ada's id) is refused
    forged = urlsplit(bob_link).path + "?" + re.sub(
        r"s=\d+", "s=" + re.search(r"s=(\d+)", ada_link.group(1)).group(1),  # type: ignore[union-attr]
        urlsplit(bob_link).query)
    assert TestClient(web.app, base_url=BASE).post(forged).status_code == 400
    # ada: the link in the body opens a page; its button unsubscribes
    path = urlsplit(ada_link.group(1))
    page = web.get(f"{path.path}?{path.query}")
    assert page.status_code == 200 and "Press the button to stop the digest" in page.text
    action = re.search(r'<form class="panel" method="post" action="([^"]+)"', page.text)
    assert action
    done = web.post(action.group(1).replace("&amp;", "&"))
    assert done.status_code == 200 and "Unsubscribed: ada@example.org" in done.text
    # bob: a mail provider's one-click POST (RFC 8058): no cookie, no CSRF token
    provider = TestClient(web.app, base_url=BASE)
    bob_path = urlsplit(bob_link)
    answer = provider.post(f"{bob_path.path}?{bob_path.query}",
                           content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "Unsubscribed: bob@example.org" in answer.text
    library.add(by_day[DAYS[4]])
    assert library.send_digests(BASE).sent == 0 and len(digests_in(mailbox)) == 2


@ON_BOTH
def test_a_saved_search_alert_holds_exactly_the_new_matching_papers(
        library: Library, mailbox: Mailbox, arxiv_sample: Path) -> None:
    library.add(matching(DAYS[2], 2))  # on the day already covered: old news
    ada = library.add_user("ada@example.org")
    web = client(library)
    subscribe_and_confirm(web, mailbox, "ada@example.org")
    library.update_digest(ada, trending=False)
    library.add_saved_search(ada, WORD, "lexical")
    library.add_saved_search(ada, "qqqxyz wwwvvv", "lexical")
    new = matching(DAYS[3], 3, start=10)
    library.add([*sample_days(arxiv_sample)[DAYS[3]], *new])
    assert library.send_digests(BASE).sent == 1
    mail = digests_in(mailbox)[0]
    text = text_of(mail)
    section = text.split(f"New for your search “{WORD}”")[1].split("New for your search")[0]
    found = set(re.findall(r"/papers/([\w.]+)", section))
    assert found == {p.id for p in new}
    assert "No new papers matched." in text.split("qqqxyz wwwvvv")[1]
    assert "Trending" not in text and str(len(new)) + " papers" in str(mail["Subject"])
    assert html_of(mail).count("/papers/9999.") == len(new)


@ON_BOTH
def test_digest_send_from_the_command_line(library: Library, mailbox: Mailbox,
                                           arxiv_sample: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    web = client(library)
    subscribe_and_confirm(web, mailbox, "ada@example.org")
    library.add(sample_days(arxiv_sample)[DAYS[3]])
    path = library.location
    library.close()
    runner = CliRunner()
    missing = runner.invoke(main, ["-L", path, "digest", "send"], env={"PAPERSIFT_BASE_URL": ""})
    assert missing.exit_code == 1 and "PAPERSIFT_BASE_URL" in missing.output
    assert "Traceback" not in missing.output
    settings = mailbox.settings
    env = {"PAPERSIFT_BASE_URL": BASE, "PAPERSIFT_SMTP_HOST": "127.0.0.1",
           "PAPERSIFT_SMTP_PORT": str(settings.smtp_port), "PAPERSIFT_SMTP_SECURITY": "none",
           "PAPERSIFT_MAIL_FROM": settings.mail_from}
    dry = runner.invoke(main, ["-L", path, "digest", "send", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would send daily digest to ada@example.org for 2025-03-21" in dry.output
    assert not digests_in(mailbox)
    sent = runner.invoke(main, ["-L", path, "digest", "send"], env=env)
    assert sent.exit_code == 0 and "1 sent" in sent.output, sent.output
    again = runner.invoke(main, ["-L", path, "digest", "send"], env=env)
    assert "0 sent" in again.output and len(digests_in(mailbox)) == 1
    status = runner.invoke(main, ["-L", path, "digest", "status"])
    assert re.search(r"sent: 1", status.output)
