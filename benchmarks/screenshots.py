"""Screenshots of the pages for docs/screenshots/, taken in headless Debian chromium from a
library of the real sample (never a test library).

    python benchmarks/screenshots.py --library papersift-data   # writes docs/screenshots/

The library is the README walkthrough's: the README's inputs ingested, with vectors
(embedded, or ``papersift vectors import``), so search runs hybrid and papers show
similar papers by meaning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web_fixtures import RunningServer  # noqa: E402

PAGES = {
    "daily": "/",
    "weekly": "/browse?view=week",
    "search": "/search?q=nested+embeddings+for+fast+retrieval",
    "paper": "/papers/2205.13147",
    "trending": "/trending",
    "category": "/categories/cs.CL",
    "author": "/authors/Aditya%20Kusupati",
    "docs": "/docs",
}
PHONE = ("daily", "search", "paper")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from papersift.library import Library
    from papersift.web import create_app

    args.out.mkdir(parents=True, exist_ok=True)
    library = Library(args.library)
    status = library.status()
    print(f"{status.papers:,} papers, {status.embedded:,} with vectors", file=sys.stderr)
    with RunningServer(create_app(library)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, suffix in ((1200, ""), (390, "-phone")):
            page = browser.new_page(viewport={"width": width, "height": 1000})
            for name, path in PAGES.items():
                if suffix and name not in PHONE:
                    continue
                page.goto(server.url + path)
                if name == "docs":
                    page.locator(".opblock-summary-path").first.wait_for(timeout=60_000)
                page.screenshot(path=str(args.out / f"{name}{suffix}.png"))
                print(args.out / f"{name}{suffix}.png")
            page.close()
        browser.close()
    library.close()


if __name__ == "__main__":
    main()
