"""The personal feed on real papers and their real vectors: it learns from ratings, says
why, asks about what it is least sure of, and its page and JSON twin agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papersift.library import Library
from papersift.people import User
from papersift.web import WebSettings, create_app
from tests.conftest import DATA, require
from tests.postgres_fixtures import ON_BOTH, drop_database, library_on
from tests.web_fixtures import feed_library_copy

DAYS = (date(2025, 3, 18), date(2025, 4, 30))  # every paper of the first 2,000


@pytest.fixture
def library(request: pytest.FixtureRequest, arxiv_sample: Path, tmp_path: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """2,000 papers with vectors; in PostgreSQL too for the tests marked ``@ON_BOTH``."""
    vectors = require(DATA / "arxiv-75k-minilm.f16.npy")
    cache = tmp_path_factory.getbasetemp() / "feed-library"
    cache.mkdir(exist_ok=True)
    lib, url = library_on(request, feed_library_copy(cache, tmp_path / "lib", arxiv_sample,
                                                     vectors))
    yield lib  # type: ignore[misc]
    lib.close()  # type: ignore[attr-defined]
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


@pytest.fixture
def ada(library: Library) -> User:
    return library.add_user("ada@example.org")


def _about(text: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{w}", text, re.IGNORECASE) for w in words)


ROBOTS = ("robot", "manipulat", "grasp")


def test_without_ratings_the_feed_lists_by_upvotes_and_says_how_to_start(
        library: Library, ada: User) -> None:
    feed = library.personal_feed(ada, since=DAYS[0], until=DAYS[1])
    assert not feed.personal and "rate or save a few papers" in (feed.notice or "")
    assert feed.total == 2000 and len(feed.items) == 20
    assert library.personal_feed(ada, questions=5).questions == []


@ON_BOTH
def test_the_feed_learns_from_likes_and_says_why(library: Library, ada: User) -> None:
    liked = [r.paper for r in library.search("robot grasping manipulation", limit=6)]
    for paper in liked:
        library.rate(ada, paper.id, 1)
    feed = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=10)
    assert feed.personal and feed.liked == 6 and feed.total == 2000
    about = [_about(f"{i.paper.title} {i.paper.abstract}", ROBOTS) for i in feed.items]
    assert sum(about) >= 8, [i.paper.title for i in feed.items]
    everything = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=2000)
    share = sum(_about(f"{i.paper.title} {i.paper.abstract}", ROBOTS)
                for i in everything.items) / len(everything.items)
    assert share < 0.2  # the feed's top is not what the days hold on average
    liked_ids = {p.id for p in liked}
    assert all(i.because and {p.id for p in i.because} <= liked_ids for i in feed.items)
    scores = [i.score for i in everything.items]
    assert scores == sorted(scores, reverse=True)
    second = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=10, offset=10)
    assert {i.paper.id for i in second.items}.isdisjoint(i.paper.id for i in feed.items)


@ON_BOTH
def test_a_thumbs_down_takes_a_paper_out_and_saves_and_votes_count_as_likes(
        library: Library, ada: User) -> None:
    found = [r.paper for r in library.search("large language model reasoning", limit=4)]
    library.save(ada, found[0].id)
    library.member_upvote(found[1].id, ada)
    feed = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=5)
    assert feed.personal and feed.liked == 2
    top = feed.items[0].paper.id
    library.rate(ada, top, -1)
    again = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=2000)
    assert again.disliked == 1 and top not in {i.paper.id for i in again.items}
    library.rate(ada, found[0].id, -1)  # a thumbs-down outweighs a save
    assert library.personal_feed(ada, since=DAYS[0], until=DAYS[1]).liked == 1


def test_questions_are_unrated_papers_the_model_is_least_sure_of(library: Library,
                                                                 ada: User) -> None:
    for result in library.search("diffusion image generation", limit=5):
        library.rate(ada, result.paper.id, 1)
    ranked = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], limit=2000, questions=5)
    asked = ranked.questions
    assert len(asked) == 5 and not set(library.ratings(ada)) & {p.id for p in asked}
    position = {i.paper.id: n for n, i in enumerate(ranked.items)}
    places = sorted(position[p.id] for p in asked)
    assert places[0] > 5  # not the feed's sure top: the uncertain middle
    library.rate(ada, asked[0].id, -1)
    again = library.personal_feed(ada, since=DAYS[0], until=DAYS[1], questions=5).questions
    assert asked[0].id not in {p.id for p in again}


def test_the_feed_page_and_its_json_twin(library: Library, ada: User) -> None:
    from papersift.accounts import start_session
    from papersift.web.auth import SESSION_COOKIE, session_cookie_value

    client = TestClient(create_app(library, settings=WebSettings(secret="k" * 40)))
    session = start_session(library.users_store, ada, days=1)
    client.cookies.set(SESSION_COOKIE, session_cookie_value(b"k" * 40, session.secret))
    cold = client.get("/feed")
    assert cold.status_code == 200 and "Teach your feed" in cold.text
    for result in library.search("robot grasping manipulation", limit=6):
        library.rate(ada, result.paper.id, 1)
    data = client.get("/api/feed", params={"since": "2025-03-18", "until": "2025-04-30"}).json()
    assert data["personal"] and data["total"] == 2000 and len(data["items"]) == 20
    assert data["items"][0]["because"] and len(data["questions"]) == 5
    page = client.get("/feed?since=2025-03-18&until=2025-04-30").text
    for item in data["items"][:5]:
        assert f'href="/papers/{item["paper"]["id"]}"' in page
    assert "Because you liked" in page and "Are these for you?" in page
    day = client.get("/api/feed", params={"date": "2025-03-25"}).json()
    assert day["since"] == day["until"] == "2025-03-25" and day["total"] == 399
    start = client.get("/api/feed/start", params={"q": "robot grasping"}).json()
    assert start["by_search"] and client.get("/feed/start?author=Nobody+Here").status_code == 200
