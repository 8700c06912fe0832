"""The community in real headless Chromium against a real server, mail through aiosmtpd:
subscribe to the digest and confirm from the mail, submit a paper to today's feed,
comment (a ``<script>`` shows as text and never runs), and an admin hides the comment."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from papersift.library import Library
from tests.community_fixtures import DAYS, community_library
from tests.mailbox import Mailbox
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_chromium
from tests.web_fixtures import RunningServer

pytestmark = pytest.mark.browser

SCRIPT_COMMENT = 'Great ablation. <script>alert("pwned")</script> **Really** good.'


@pytest.fixture(scope="module")
def mail() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, mail: Mailbox) -> Iterator[Library]:
    from tests.conftest import DATA, require

    arxiv = require(DATA / "arxiv-75k.jsonl.gz")
    root = tmp_path_factory.mktemp("browser-community")
    lib = community_library(root / "cache", root / "lib", arxiv, mail=mail.settings)
    lib.add_user("ada@example.org", admin=True)
    yield lib
    lib.close()


@pytest.fixture(scope="module")
def site(library: Library) -> Iterator[str]:
    from papersift.web import WebSettings, create_app

    app = create_app(library, settings=WebSettings(registration="open", per_page=10))
    with RunningServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser: Any, site: str, mail: Mailbox, email: str) -> Any:
    """A new browser context signed in through the mailed link."""
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(site + "/signin")
    page.get_by_label("E-mail address").fill(email)
    before = len(mail.messages)
    page.get_by_role("button", name="Send me a sign-in link").click()
    mail.wait(before + 1)
    page.goto(mail.last_link())
    page.get_by_role("button", name="Sign in to papersift").click()
    page.wait_for_url(site + "/")
    return page


@pytest.fixture(scope="module")
def bob(browser: Any, site: str, mail: Mailbox) -> Any:
    return signed_in(browser, site, mail, "bob@example.org")


def test_subscribe_and_confirm_from_the_mail(bob: Any, site: str, mail: Mailbox,
                                             library: Library) -> None:
    from playwright.sync_api import expect

    bob.goto(site + "/")
    bob.get_by_role("link", name="Digest").click()
    expect(bob.get_by_label("E-mail address")).to_have_value("bob@example.org")
    bob.get_by_label("How often").select_option("weekly")
    before = len(mail.messages)
    bob.get_by_role("button", name="Subscribe").click()
    expect(bob.locator(".notice")).to_contain_text("confirmation link is on its way")
    message = mail.wait(before + 1)[-1]
    assert message["To"] == "bob@example.org"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://\S+/digests/confirm\?token=[\w-]+", text)
    assert link and link.group().startswith(site)
    bob.goto(link.group())
    bob.get_by_role("button", name="Confirm subscription").click()
    expect(bob.locator(".notice")).to_contain_text("Subscribed: bob@example.org gets the "
                                                   "weekly digest")
    bob.get_by_label("Saved search").fill("robot grasping")
    bob.get_by_role("button", name="Add search").click()
    expect(bob.locator("ul.searches")).to_contain_text("robot grasping")
    found = library.user("bob@example.org")
    assert found is not None
    subscription = library.subscription_of(found)
    assert subscription is not None and subscription.active
    assert subscription.frequency == "weekly" and subscription.cursor == DAYS[2]


def test_submit_a_paper_to_todays_feed(bob: Any, site: str, library: Library) -> None:
    from playwright.sync_api import expect

    paper = library.daily(DAYS[1]).papers[2]
    bob.goto(site + "/digests")
    bob.get_by_label("Name shown beside your submissions and comments").fill("Bob <B>")
    bob.get_by_role("button", name="Save", exact=True).click()
    bob.goto(site + "/submit")
    bob.get_by_label("arXiv id (of a paper in this library)").fill(paper.id)
    bob.get_by_role("button", name="Submit paper").click()
    today = date.today().isoformat()
    bob.wait_for_url(re.compile(f"/days/{today}"))
    section = bob.locator("#submitted")
    expect(section.locator("article.card h2")).to_have_text(paper.title)
    expect(section.locator(".submitter")).to_have_text("Submitted by Bob <B>")


def test_comment_shows_script_as_text_and_an_admin_hides_it(
        bob: Any, browser: Any, site: str, mail: Mailbox, library: Library) -> None:
    from playwright.sync_api import expect

    dialogs: list[str] = []
    bob.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    paper = library.daily(DAYS[2]).papers[0]
    bob.goto(f"{site}/papers/{paper.id}")
    bob.get_by_label(re.compile("^Your comment")).fill(SCRIPT_COMMENT)
    bob.get_by_role("button", name="Post comment").click()
    comment = bob.locator("article.comment").first
    expect(comment.locator(".comment-body")).to_have_text(
        'Great ablation. <script>alert("pwned")</script> Really good.')
    expect(comment.locator(".comment-body strong")).to_have_text("Really")
    expect(comment.locator(".author")).to_have_text("Bob <B>")
    assert dialogs == [] and bob.locator(".comment-body script").count() == 0
    bob.goto(f"{site}/days/{DAYS[2].isoformat()}")
    expect(bob.locator(f'a.comment-count[href="/papers/{paper.id}#comments"]')).to_have_text(
        "1 comment")
    ada = signed_in(browser, site, mail, "ada@example.org")
    ada.goto(f"{site}/papers/{paper.id}")
    ada.get_by_role("button", name="Hide comment").click()
    expect(ada.locator("article.comment .flag")).to_have_text("hidden by an admin")
    bob.goto(f"{site}/papers/{paper.id}")
    expect(bob.locator("article.comment")).to_have_count(0)
    expect(bob.locator("#comments .empty")).to_have_text("No comments yet.")
    assert dialogs == []
    ada.context.close()
