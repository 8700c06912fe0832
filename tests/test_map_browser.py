"""The map in real headless Chromium (Debian's, via Playwright) against a real server:
open it, zoom, hover a point for its title, click through to the paper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.map_fixtures import mapped_library
from tests.test_browser import browser  # noqa: F401  (the shared chromium fixture)
from tests.web_fixtures import RunningServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from papersift.web import create_app

    root = tmp_path_factory.mktemp("map-browser")
    library = mapped_library(tmp_path_factory.getbasetemp() / "mapped-library", root / "lib")
    with RunningServer(create_app(library)) as server:
        yield server.url
    library.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.errors = errors
    yield tab
    context.close()


def _until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll a page expression from here: the page's CSP (rightly) forbids the eval that
    Playwright's wait_for_function polls with."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def _drawn(page: Any) -> None:
    _until(page, "Boolean(window.__map && window.__map.firstDraw !== null)")


def test_open_zoom_hover_and_click_through(site: str, page: Any) -> None:
    page.goto(site + "/map")
    _drawn(page)
    state = page.evaluate("({labels: window.__map.labels, scale: window.__map.scale})")
    assert state["scale"] == 1 and state["labels"]  # area labels when zoomed out
    areas = set(state["labels"])
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    _until(page, "window.__map.scale > 3")  # set by the draw after the zoom
    zoomed = page.evaluate("({labels: window.__map.labels, scale: window.__map.scale})")
    assert zoomed["scale"] > 3 and zoomed["labels"] and not areas & set(zoomed["labels"])

    point = page.evaluate("window.__map.pointInView(40)")
    assert point >= 0
    x, y = page.evaluate(f"window.__map.screenOf({point})")
    box = page.locator("#atlas-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tip = page.locator("#atlas-tip")
    tip.wait_for(state="visible")
    _until(page, "window.__map.hoverTitle !== undefined")
    title = page.evaluate("window.__map.hoverTitle")
    assert title and title in tip.inner_text()

    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r"/papers/"))
    assert page.locator("h1").inner_text() == title
    assert page.locator("figure.locator img").evaluate("img => img.naturalWidth") > 0
    assert page.errors == []


def test_pan_with_the_mouse_and_colour_by_category(site: str, page: Any) -> None:
    page.goto(site + "/map")
    _drawn(page)
    before = page.evaluate("window.__map.screenOf(0)")
    box = page.locator("#atlas-canvas").bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 350, steps=5)
    page.mouse.up()
    after = page.evaluate("window.__map.screenOf(0)")
    assert after[0] - before[0] == pytest.approx(100, abs=1)
    assert after[1] - before[1] == pytest.approx(50, abs=1)
    page.select_option("#atlas-colour", "category")
    first = page.request.get(site + "/api/map").json()["categories"][0]
    assert page.locator("#atlas-key li").first.inner_text() == first
    assert page.errors == []


def test_a_search_is_highlighted(site: str, page: Any) -> None:
    page.goto(site + "/map?q=gaussian+splatting")
    _drawn(page)
    status = page.locator("#atlas-status").inner_text()
    assert re.match(r"\d+ papers highlighted: results for “gaussian splatting”", status)
    assert int(status.split()[0]) > 0
