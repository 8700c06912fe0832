"""Screenshots of the pages for docs/screenshots/, taken in headless Debian chromium from a
library of the real sample (never a test library).

    python benchmarks/screenshots.py --library papersift-data   # writes docs/screenshots/

The library is the README walkthrough's: the README's inputs ingested, with vectors
(embedded, or ``papersift vectors import``), so search runs hybrid and papers show
similar papers by meaning.
With ``--people`` it also shows the members' pages (sign-in, a collection, my papers, the
personal feed) over the same library, where a demo member rates a few papers found by a
search, keeps a collection with notes, and is removed again afterwards.
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


def people(out: Path, path: Path) -> None:
    """The members' pages over the 75k sample: sign-in, a collection, my papers, the feed."""
    from playwright.sync_api import sync_playwright

    from papersift.accounts import start_session
    from papersift.library import Library
    from papersift.web import WebSettings, create_app

    library = Library(path)
    email = "demo.reader@example.org"
    library.remove_user(email)
    demo = library.add_user(email)
    for result in library.search("gaussian splatting avatars from monocular video", limit=6):
        library.rate(demo, result.paper.id, 1)
    group = library.create_collection(demo, "Reading group: 3D avatars")
    notes = ["Start here: the clearest method section.", "Compare their rig to ours.",
             "Code released; try on our captures.", None]
    for result, note in zip(library.search("animatable human avatar", limit=4), notes,
                            strict=True):
        library.save(demo, result.paper.id, collection_id=group.id, note=note)
    secret = "screenshots-" + "x" * 30
    app = create_app(library, settings=WebSettings(secret=secret, registration="closed"))
    session = start_session(library.users_store, demo, days=1)
    from papersift.web.auth import SESSION_COOKIE, session_cookie_value

    try:
        with RunningServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(server.url + "/signin")
            page.screenshot(path=str(out / "signin.png"))
            page.context.add_cookies([{"name": SESSION_COOKIE, "url": server.url,
                                       "value": session_cookie_value(secret.encode(),
                                                                     session.secret)}])
            for name, url in (("feed", "/feed"), ("collection", f"/collections/{group.id}"),
                              ("my-papers", "/me")):
                page.goto(server.url + url)
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")
            phone = browser.new_page(viewport={"width": 390, "height": 1000})
            phone.context.add_cookies([{"name": SESSION_COOKIE, "url": server.url,
                                        "value": session_cookie_value(secret.encode(),
                                                                      session.secret)}])
            phone.goto(server.url + "/feed")
            phone.screenshot(path=str(out / "feed-phone.png"))
            browser.close()
    finally:
        library.remove_user(email)
        library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--people", action="store_true",
                        help="also the members' pages (a demo member, removed afterwards)")
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
    if args.people:
        people(args.out, args.library)


if __name__ == "__main__":
    main()
