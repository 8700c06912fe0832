"""Stuffing votes through the real web app, and the audit that catches it.

Ordinary visitors from sixty networks each view the daily page and upvote a few papers;
then one network (203.0.113.0/24), from 25 addresses with a fresh cookie each (every cookie
issued by a real page view, as a vote needs), upvotes one paper, under the rate limits.
``papersift votes --suspicious`` flags that network and no other, and ``papersift votes
--remove`` withdraws its votes with every count left exact. On both backends.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from papersift.cli import main
from papersift.library import Library
from papersift.papers import Paper
from papersift.web import WebSettings, create_app
from tests.postgres_fixtures import BACKENDS, drop_database, library_on

DAY = date(2025, 6, 2)
TARGET = "2506.00013"


@pytest.fixture(params=BACKENDS)
def library(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    """Twenty papers listed on one day, on the backend under test."""
    lib = Library(tmp_path / "lib")
    lib.add([Paper(id=f"2506.{i:05d}", title=f"Paper number {i} on sparse retrieval",
                   abstract=f"We study retrieval number {i} with sparse and dense models.",
                   authors=(f"Author {i}",), published=DAY, categories=("cs.IR",))
             for i in range(20)])
    lib, url = library_on(request, lib)  # type: ignore[assignment]
    yield lib
    lib.close()
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def _visitor(app: object, address: str) -> TestClient:
    """A browser at ``address`` that has viewed the daily page (and holds its cookie)."""
    client = TestClient(app, client=(address, 40000))  # type: ignore[arg-type]
    assert client.get("/").status_code == 200 and "papersift_voter" in client.cookies
    return client


def _ordinary_day(app: object, rng: random.Random) -> int:
    """Sixty visitors, each from a network of their own, upvote one to three papers."""
    cast = 0
    for n in range(60):
        client = _visitor(app, f"198.51.{n}.{rng.randint(1, 254)}")
        for i in rng.sample(range(20), rng.randint(1, 3)):
            assert client.post(f"/api/papers/2506.{i:05d}/upvote").json()["voted"] is True
            cast += 1
    return cast


def _cli(library: Library, *args: str) -> str:
    result = CliRunner().invoke(main, ["--library", library.location, "votes", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_stuffed_votes_are_flagged_and_removed_and_ordinary_ones_are_not(
        library: Library) -> None:
    app = create_app(library, settings=WebSettings())
    start = datetime.now(UTC) - timedelta(seconds=1)
    ordinary = _ordinary_day(app, random.Random(4))
    assert library.suspicious_votes(start) == []  # ordinary traffic: nothing flagged
    before = library.get(TARGET).votes_here  # type: ignore[union-attr]

    for k in range(25):  # 25 addresses of one /24, a fresh page-view cookie each
        stuffer = _visitor(app, f"203.0.113.{10 + k}")
        assert stuffer.post(f"/api/papers/{TARGET}/upvote").json()["voted"] is True
    assert library.get(TARGET).votes_here == before + 25  # type: ignore[union-attr]

    report = json.loads(_cli(library, "--suspicious", "--json", "--since",
                             f"{start:%Y-%m-%dT%H:%M:%S}"))
    findings = report["findings"]
    bad = library.network_tag("203.0.113.0/24")
    assert {f["kind"] for f in findings} == {"burst", "spike", "new-voters"}
    assert {f["network"] for f in findings} == {bad}  # no ordinary network among them
    burst = next(f for f in findings if f["kind"] == "burst")
    assert burst["paper_id"] == TARGET and burst["votes"] == 25 and len(burst["voters"]) == 25
    assert "203.0.113" not in json.dumps(report)  # the ledger holds no address
    text = _cli(library, "--suspicious", "--since", f"{start:%Y-%m-%dT%H:%M:%S}")
    assert f"votes --remove --network {bad}" in text and "burst" in text

    removed = _cli(library, "--remove", "--network", "203.0.113.77", "--yes")
    assert "removed 25 votes" in removed
    assert library.get(TARGET).votes_here == before  # type: ignore[union-attr]
    assert sum(p.votes_here for p in library.daily(DAY).papers) == ordinary
    assert not any("vote" in problem for problem in library.check())
    assert library.suspicious_votes(start) == []


@pytest.mark.parametrize("library", ["embedded"], indirect=True)
def test_the_votes_command_explains_mistakes(library: Library) -> None:
    runner = CliRunner()
    for args, words in [([], "--suspicious (list) or --remove"),
                        (["--remove"], "--remove needs --network or --voter"),
                        (["--suspicious", "--since", "yesterday"], "'--since'")]:
        result = runner.invoke(main, ["--library", library.location, "votes", *args])
        assert result.exit_code != 0 and words in result.output, result.output
        assert "Traceback" not in result.output
    refused = runner.invoke(main, ["--library", library.location, "votes", "--remove",
                                   "--voter", "x"], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
