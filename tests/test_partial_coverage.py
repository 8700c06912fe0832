"""A library half embedded: what search says (page, JSON, CLI) and the progress advancing.

The library is the web tests' real one (arXiv listings, Daily Papers); half of its papers
get their vectors from the shared sample vectors, the rest are embedded for real by the
server's background job while a browser watches the search page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from papersift.library import Library
from papersift.settings import Settings
from papersift.vector_files import write_vectors
from tests.conftest import DATA, require
from tests.web_fixtures import RunningServer, library_copy

ENCODER = "minilm-l6-int8"  # the shared sample vectors' encoder (see shared/data/README.md)


def half_embedded(root: Path) -> Library:
    """The web tests' library with vectors for about half its papers."""
    arxiv = require(DATA / "arxiv-75k.jsonl.gz")
    daily = require(DATA / "hf-daily-papers" / "papers.json")
    ids = np.load(require(DATA / "arxiv-75k-minilm.ids.npy"))
    vectors = np.load(DATA / "arxiv-75k-minilm.f16.npy", mmap_mode="r")
    library_copy(root / "cache", root / "lib", arxiv, daily).close()
    library = Library(root / "lib", settings=Settings(embed_batch=4))
    half = len(library) // 2
    write_vectors(root / "half.npz", [str(i) for i in ids[:half]],
                  np.asarray(vectors[:half]), ENCODER)
    report = library.import_vectors(root / "half.npz")
    assert report.stored == half
    return library


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    library = half_embedded(tmp_path_factory.mktemp("partial"))
    yield library
    library.close()


def test_each_mode_says_what_it_covered(partial: Library) -> None:
    status = partial.status()
    assert 0.4 < status.coverage < 0.6 and not status.semantic_ready
    auto = partial.search("gaussian splatting", limit=20)
    assert auto.mode == "hybrid" and auto.requested == "auto"
    assert auto.notice and "by their words alone" in auto.notice
    assert f"{status.embedded:,} of {status.papers:,}" in auto.notice
    keys = partial.store.keys_of([r.paper.id for r in auto])
    found, _ = partial.dense.vectors(np.asarray(list(keys.values())))
    without = {pid for pid, has in zip(keys, found.tolist(), strict=True) if not has}
    assert without, "the query should find papers on both sides of the embedding line"
    for result in auto:  # each result says whether meaning counted in its rank
        assert ("no vector yet: ranked by its words" in result.why) == (
            result.paper.id in without)
    semantic = partial.search("gaussian splatting", mode="semantic", limit=20)
    assert semantic.mode == "semantic" and semantic.notice
    assert "only the" in semantic.notice
    assert not {r.paper.id for r in semantic} & without  # only embedded papers by meaning
    lexical = partial.search("gaussian splatting", mode="lexical")
    assert lexical.mode == "lexical" and lexical.notice is None


def test_why_shows_words_as_written_not_stems(partial: Library) -> None:
    results = partial.search("retrieval", mode="lexical", limit=5)
    assert results
    why = " ".join(" ".join(r.why) for r in results)
    assert "retrieval" in why and "retriev," not in why and not why.endswith("retriev")


def test_the_cli_says_it_too(partial: Library) -> None:
    from click.testing import CliRunner

    from papersift.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["--library", str(partial.path), "search", "gaussian splatting",
                                "--mode", "hybrid", "--json"])
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["mode"] == "hybrid" and 0.4 < answer["coverage"] < 0.6
    assert "embedding is under way" in answer["notice"]
    shown = runner.invoke(main, ["--library", str(partial.path), "search", "gaussian splatting",
                                 "--mode", "semantic"])
    assert shown.exit_code == 0 and "note: embedding is under way" in shown.stderr


@pytest.mark.browser
def test_browser_sees_the_notice_the_mode_used_and_progress(partial: Library,
                                                            browser: Any) -> None:
    from playwright.sync_api import expect

    from papersift.web import create_app

    with RunningServer(create_app(partial)) as server:
        page = browser.new_page()
        page.goto(server.url + "/search?q=gaussian+splatting&mode=hybrid")
        notice = page.locator("#results .notice")
        expect(notice).to_contain_text("Embedding is under way")
        expect(notice).to_contain_text("by their words alone")
        api = page.request.get(server.url + "/api/search?q=gaussian+splatting").json()
        assert api["mode"] == "auto" and api["mode_used"] == "hybrid"
        assert 0.4 < api["coverage"] < 0.6 and api["notice"]
        api = page.request.get(server.url + "/api/search?q=splatting&mode=semantic").json()
        assert api["mode_used"] == "semantic" and "only the" in api["notice"]

        line = page.locator("p.status")
        before = line.inner_text()
        assert f"{partial.status().embedded:,} of" in before
        partial.start_jobs(embed=True, every=1.0)  # the server's process embeds the rest
        start = _embedded(before)

        def moved(seen: list[str]) -> bool:
            done = {_done(text) for text in seen if "embed: running" in text}
            return "Semantic search is on" in seen[-1] or (
                _embedded(seen[-1]) > start and len(done) >= 2)

        seen = _watch(line.inner_text, moved, timeout=180)
        # the same page, no reload: the job's progress moved, and more papers had vectors
        progress = [_done(text) for text in seen if "embed: running" in text]
        assert progress == sorted(progress), seen
        partial.jobs.stop("embed")
        page.close()

        quiet = browser.new_context(java_script_enabled=False)
        static = quiet.new_page()
        static.goto(server.url + "/search?q=gaussian+splatting")
        assert "papers embedded" in static.locator("p.status").inner_text()
        quiet.close()


def _embedded(line: str) -> int:
    match = re.search(r"([\d,]+) of [\d,]+ papers embedded", line)
    return int(match.group(1).replace(",", "")) if match else 0


def _done(line: str) -> int:
    match = re.search(r"embed: running · ([\d,]+) of", line)
    return int(match.group(1).replace(",", "")) if match else 0


def _watch(read: Any, until: Any, *, timeout: float) -> list[str]:
    """Every different value ``read()`` takes until ``until(values so far)`` holds."""
    import time

    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or not until(seen):
        assert time.monotonic() < deadline, f"timed out; saw {seen}"
        now = read()
        if not seen or now != seen[-1]:
            seen.append(now)
        time.sleep(0.2)
    return seen


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_chromium

    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
