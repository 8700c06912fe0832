"""Render the e-mail digest of a real listing day of the 75k arXiv sample into docs/digest/:
the plain-text part, the HTML part, and a screenshot of the HTML in headless chromium.

The library is the whole sample with its vectors, built as the README says::

    papersift -L /tmp/lib75k ingest ../shared/data/arxiv-75k.jsonl.gz --no-embed
    papersift -L /tmp/lib75k vectors import ../shared/data/arxiv-75k-minilm.f16.npy \\
        -e minilm-l6-int8
    python benchmarks/digest_sample.py /tmp/lib75k [--day 2026-06-30]

A demo reader subscribes and confirms, likes a few robotics papers listed before the day
(so the digest has personal picks), and saves two searches; the digest of the day is then
built exactly as ``papersift digest send`` builds it. The reader is removed afterwards.
The sample has no upvotes, so "Trending" is the day's listing order.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from papersift.library import Library  # noqa: E402
from papersift.mail import MailSettings  # noqa: E402
from papersift.query import Filters  # noqa: E402

READER = "reader@example.org"
BASE = "https://papers.example.org"


def render(library: Path, day: date | None, out: Path) -> Path:
    lib = Library(library, mail=MailSettings(mail_from="papersift <digest@papers.example.org>"))
    try:
        day = day or lib.store.latest_day()
        assert day is not None, "the library has no papers"
        reader = lib.add_user(READER)
        made = lib.subscribe(READER, link_for=lambda secret: secret)
        lib.confirm_subscription(made.link)
        liked = lib.search("robot grasping manipulation", mode="hybrid", limit=6,
                           filters=Filters(until=day - timedelta(days=1)))
        for result in liked:
            lib.rate(reader, result.paper.id, 1)
        lib.add_saved_search(reader, "speculative decoding", "hybrid")
        lib.add_saved_search(reader, "gaussian splatting", "lexical")
        subscription = lib.subscription_of(reader)
        assert subscription is not None
        built = lib.build_digest(subscription, day, day)
        note = lib.digest_message(built, BASE)
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"digest-{day.isoformat()}"
        stem.with_suffix(".txt").write_text(
            "".join(f"{k}: {v}\n" for k, v in (("To", note.to), ("Subject", note.subject),
                                               *note.headers.items())) + "\n" + note.text)
        stem.with_suffix(".html").write_text(note.html or "")
        return stem
    finally:
        lib.remove_user(READER)
        lib.close()


def screenshot(html: Path, png: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 760, "height": 900})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png), full_page=True)
        chromium.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("library", type=Path)
    parser.add_argument("--day", type=date.fromisoformat)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "digest")
    args = parser.parse_args()
    stem = render(args.library, args.day, args.out)
    screenshot(stem.with_suffix(".html"), stem.with_suffix(".png"))
    print(f"wrote {stem}.txt, .html and .png")


if __name__ == "__main__":
    main()
