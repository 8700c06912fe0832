"""Real headless Chromium (Debian's ``chromium``, driven by Playwright) against a real server."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web_fixtures import XSS_ID, RunningServer, library_copy

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have chromium: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from papersift.web import create_app
    from tests.conftest import DATA, require

    arxiv_path = require(DATA / "arxiv-75k.jsonl.gz")
    daily_path = require(DATA / "hf-daily-papers" / "papers.json")
    root = tmp_path_factory.mktemp("browser")
    library = library_copy(root / "cache", root / "lib", arxiv_path, daily_path)
    with RunningServer(create_app(library)) as server:
        yield server.url
    library.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.dialogs = dialogs
    yield tab
    context.close()


def test_search_then_open_a_paper_then_a_similar_one(site: str, page: Any) -> None:
    page.goto(site + "/search")
    page.get_by_label("Search query").fill("gaussian splatting")
    page.get_by_label("Search query").press("Enter")
    page.wait_for_url(re.compile(r"q=gaussian\+splatting"))
    assert page.locator("article.card").count() == 20
    marked = page.locator("article.card mark").first.inner_text().lower()
    assert marked.startswith(("gaussian", "splat"))
    first = page.locator("article.card h2 a").first
    title = first.inner_text()
    first.click()
    assert page.locator("h1").inner_text() == title
    similar = page.locator(".similar article.card h2 a").first
    similar_title = similar.inner_text()
    similar.click()
    page.wait_for_url(re.compile(r"/papers/"))
    assert page.locator("h1").inner_text() == similar_title != title


def test_search_as_you_type(site: str, page: Any) -> None:
    page.goto(site + "/search")
    page.get_by_label("Search query").press_sequentially("diffusion", delay=20)
    page.wait_for_selector("#results article.card")
    assert page.locator("#results mark").first.inner_text().lower().startswith("diffus")
    assert "q=diffusion" in page.url  # the address follows the typing


def test_change_day(site: str, page: Any) -> None:
    page.goto(site + "/")
    today = page.locator(".days .today").inner_text()
    page.locator('.days a[rel="prev"]').click()
    page.wait_for_url(re.compile(r"/days/\d{4}-\d{2}-\d{2}$"))
    assert page.locator(".days .today").inner_text() != today
    page.locator('.days a[rel="next"]').click()
    assert page.locator(".days .today").inner_text() == today


def test_read_a_feed(site: str, page: Any) -> None:
    page.goto(site + "/")
    href = page.locator('link[rel="alternate"][type="application/atom+xml"]').get_attribute("href")
    response = page.request.get(site + href)
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.body())
    assert len(root.findall("{http://www.w3.org/2005/Atom}entry")) > 10


def test_script_in_an_abstract_shows_as_text_and_runs_nothing(site: str, page: Any) -> None:
    page.goto(f"{site}/papers/{XSS_ID}")
    assert "<script>alert(1)</script>" in page.locator(".full-abstract").inner_text()
    assert '<script>alert("title")</script>' in page.locator("h1").inner_text()
    page.goto(site + "/search?q=escaping")
    assert "<script>alert(1)</script>" in page.locator("article.card .abstract").first.inner_text()
    page.goto(site + "/")
    page.wait_for_load_state("load")
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0


def test_upvote_without_reload(site: str, page: Any) -> None:
    page.goto(f"{site}/papers/2503.11731")
    button = page.locator(".paper-head form.upvote button")
    before = int(button.locator(".count").inner_text())
    page.evaluate("window.__marker = 1")
    button.click()
    from playwright.sync_api import expect

    expect(button.locator(".count")).to_have_text(str(before + 1))
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__marker") == 1  # same document: no reload


def test_upvote_works_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/papers/2503.12284")
    before = int(page.locator(".paper-head .count").inner_text())
    page.locator(".paper-head form.upvote button").click()
    page.wait_for_load_state("load")
    assert int(page.locator(".paper-head .count").inner_text()) == before + 1
    context.close()
