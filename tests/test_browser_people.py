"""A member in real headless Chromium against a real server, with mail through a real SMTP
server (aiosmtpd): sign in by the mailed link, upvote, rate, save into a collection, see
the personal feed change, export BibTeX; a forged cross-site POST is refused."""

from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from papersift.library import Library
from tests.mailbox import Mailbox
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_chromium
from tests.web_fixtures import RunningServer, feed_library_copy

pytestmark = pytest.mark.browser

EMAIL = "ada@example.org"


@pytest.fixture(scope="module")
def mail() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, mail: Mailbox) -> Iterator[Library]:
    from tests.conftest import DATA, require

    arxiv = require(DATA / "arxiv-75k.jsonl.gz")
    vectors = require(DATA / "arxiv-75k-minilm.f16.npy")
    root = tmp_path_factory.mktemp("browser-people")
    lib = feed_library_copy(root / "cache", root / "lib", arxiv, vectors, mail=mail.settings)
    yield lib
    lib.close()


@pytest.fixture(scope="module")
def site(library: Library) -> Iterator[str]:
    from papersift.web import WebSettings, create_app

    app = create_app(library, settings=WebSettings(registration="open", per_page=10))
    with RunningServer(app) as server:  # on 127.0.0.1: mailed links point here
        yield server.url


@pytest.fixture(scope="module")
def member(site: str, mail: Mailbox) -> Iterator[Any]:
    """One browser, signed in through the mailed link (the first test checks each step)."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1200, "height": 900})
        yield context.new_page()
        context.close()
        chromium.close()


def test_sign_in_through_the_mailed_link(member: Any, site: str, mail: Mailbox) -> None:
    from playwright.sync_api import expect

    member.goto(site + "/feed")  # members only: sent to sign in, and back afterwards
    assert "/signin?next=%2Ffeed" in member.url
    member.get_by_label("E-mail address").fill(EMAIL)
    member.get_by_role("button", name="Send me a sign-in link").click()
    expect(member.locator(".notice")).to_contain_text("a sign-in link is on its way")
    link = mail.last_link()
    assert link.startswith(site + "/signin/confirm?token=")
    member.goto(link)
    member.get_by_role("button", name="Sign in to papersift").click()
    member.wait_for_url(site + "/feed")
    expect(member.locator("nav.account")).to_contain_text(EMAIL)
    member.goto(link)  # the same link again: spent
    member.get_by_role("button", name="Sign in to papersift").click()
    expect(member.locator(".error")).to_contain_text("has been used or has expired")


def test_upvote_rate_and_watch_the_feed_change(member: Any, site: str,
                                               library: Library) -> None:
    from playwright.sync_api import expect

    member.goto(site + "/feed")
    before = member.locator("#feed article.card h2 a").all_inner_texts()
    expect(member.get_by_role("heading", name="Teach your feed")).to_be_visible()
    member.get_by_label("Topic").fill("robot grasping manipulation")
    member.get_by_role("button", name="Find papers").click()
    cards = member.locator("article.card")
    for i in range(4):  # thumbs up, without reloading
        up = cards.nth(i).get_by_role("button", name=re.compile("^More like"))
        up.click()
        expect(up).to_have_attribute("aria-pressed", "true")
    upvote = cards.nth(4).locator("form.upvote button")
    count = int(upvote.locator(".count").inner_text())
    upvote.click()
    expect(upvote.locator(".count")).to_have_text(str(count + 1))
    expect(upvote).to_have_attribute("aria-pressed", "true")
    ada = library.user(EMAIL)
    assert ada is not None and len(library.ratings(ada)) == 4
    voted = library.get(cards.nth(4).locator("h2 a").get_attribute("href").split("/papers/")[1])
    assert voted is not None and voted.votes_members == 1
    member.goto(site + "/feed")
    after = member.locator("#feed article.card h2 a").all_inner_texts()
    assert after != before and len(after) == 10
    expect(member.locator("#feed .why").first).to_contain_text("Because you liked")
    def robotic(titles: list[str]) -> int:
        return sum(bool(re.search(r"robot|grasp|manipul", t, re.IGNORECASE)) for t in titles)

    assert robotic(after) > robotic(before), (before, after)
    expect(member.locator(".questions li")).to_have_count(5)


def test_save_into_a_collection_and_export_bibtex(member: Any, site: str) -> None:
    from playwright.sync_api import expect

    member.goto(site + "/me")
    member.get_by_label("New collection name").fill("Reading group <b>")
    member.get_by_role("button", name="Create").click()
    expect(member.get_by_role("heading", name=re.compile("Reading group <b>"))).to_be_visible()
    member.goto(site + "/feed")
    first = member.locator("#feed article.card h2 a").first
    title, href = first.inner_text(), first.get_attribute("href")
    first.click()
    member.get_by_label("Save to").select_option(label="Reading group <b>")
    member.get_by_label("Note").fill("discuss on Tuesday & bring {questions}")
    member.get_by_role("button", name="Save", exact=True).click()
    member.goto(site + "/me")
    member.get_by_role("link", name="Reading group <b>").click()
    expect(member.locator("article.card h2")).to_have_text(title)
    expect(member.locator("form.note input[name=note]")).to_have_value(
        "discuss on Tuesday & bring {questions}")
    with member.expect_download() as download:
        member.get_by_role("link", name="BibTeX").click()
    assert download.value.suggested_filename == "Reading-group-b.bib"
    text = Path(download.value.path()).read_text()
    assert text.startswith("@misc{") and f"eprint = {{{href.split('/papers/')[1]}}}" in text
    assert r"note = {discuss on Tuesday \& bring \{questions\}}" in text


class _Evil(http.server.BaseHTTPRequestHandler):
    """Another site: its page posts a rating to papersift as soon as it loads."""

    target = ""

    def do_GET(self) -> None:  # the name http.server calls
        body = (f'<form id="f" method="post" action="{self.target}">'
                '<input name="value" value="1"></form>'
                "<script>document.getElementById('f').submit()</script>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])  # same site / another site
def test_a_forged_cross_site_post_is_refused(member: Any, site: str, library: Library,
                                             host: str) -> None:
    paper = library.daily().papers[-1].id
    _Evil.target = f"{site}/papers/{paper}/rate"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    evil = http.server.HTTPServer(("127.0.0.1", port), _Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with member.expect_response(lambda r: r.url.startswith(_Evil.target)) as answer:
            member.goto(f"http://{host}:{port}/")
        assert answer.value.status in (401, 403)
    finally:
        evil.shutdown()
    ada = library.user(EMAIL)
    assert ada is not None and paper not in library.ratings(ada)
