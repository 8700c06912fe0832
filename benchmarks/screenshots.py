"""Screenshots of every page for docs/screenshots/, taken in headless Debian chromium.

    python benchmarks/screenshots.py            # writes docs/screenshots/*.png

Uses the test library (real arXiv and Daily Papers records plus the crafted XSS paper).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import DATA  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web_fixtures import XSS_ID, RunningServer, library_copy  # noqa: E402

PAGES = {
    "daily": "/",
    "daily-previous-day": "/days/2024-04-05",
    "search": "/search?q=gaussian+splatting&category=cs.CV",
    "paper": "/papers/2503.11731",
    "trending": "/trending?days=800",
    "category": "/categories/cs.RO",
    "author": "/authors/Qifeng%20Chen",
    "xss-paper": f"/papers/{XSS_ID}",
}


def main(out: Path = REPO / "docs" / "screenshots") -> None:
    from playwright.sync_api import sync_playwright

    from papersift.web import create_app

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        library = library_copy(root / "cache", root / "lib", DATA / "arxiv-75k.jsonl.gz",
                               DATA / "hf-daily-papers" / "papers.json")
        with RunningServer(create_app(library)) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for width, suffix in ((1200, ""), (390, "-phone")):
                page = browser.new_page(viewport={"width": width, "height": 1000})
                for name, path in PAGES.items():
                    if suffix and name not in ("daily", "search", "paper"):
                        continue
                    page.goto(server.url + path)
                    page.screenshot(path=str(out / f"{name}{suffix}.png"))
                    print(out / f"{name}{suffix}.png")
                page.close()
            browser.close()
        library.close()


if __name__ == "__main__":
    main()
