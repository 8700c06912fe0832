"""/docs works offline: Swagger UI comes from this server, nothing from another host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from papersift.library import Library
from tests.web_fixtures import RunningServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from papersift.web import create_app

    library = Library(Path(tmp_path_factory.mktemp("docs")) / "lib")
    with RunningServer(create_app(library)) as server:
        yield server.url
    library.close()


def test_the_docs_page_names_no_other_host(site: str) -> None:
    page = httpx.get(site + "/docs")
    assert page.status_code == 200
    assert not re.findall(r"""(?:src|href)=["'](?:https?:)?//""", page.text)
    for asset in re.findall(r"""(?:src|href)="(/[^"]+)""", page.text):
        assert httpx.get(site + asset).status_code == 200, asset
    assert httpx.get(site + "/redoc").status_code == 404  # FastAPI's CDN page is gone


@pytest.mark.browser
def test_the_docs_render_in_a_browser_from_this_server_only(site: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_chromium

    _need_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(site + "/docs")
        paths = page.locator(".opblock-summary-path")
        paths.first.wait_for(timeout=30_000)
        shown: set[Any] = {paths.nth(i).inner_text() for i in range(paths.count())}
        assert {"/api/search", "/api/daily", "/api/status"} <= {s.replace("\u200b", "")
                                                              for s in shown}
        assert requests and all(url.startswith(site) for url in requests), requests
        assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()
