"""The map's pages and API in process (FastAPI TestClient) over a small real library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from papersift.atlas import library_map
from papersift.library import Library
from papersift.web import create_app
from tests.map_fixtures import mapped_library
from tests.web_fixtures import XSS_ID, library_copy


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    root = tmp_path_factory.mktemp("map-web")
    lib = mapped_library(tmp_path_factory.getbasetemp() / "mapped-library", root / "lib")
    yield lib
    lib.close()


@pytest.fixture(scope="module")
def client(library: Library) -> TestClient:
    return TestClient(create_app(library))


def _points(client: TestClient) -> tuple[dict[str, object], np.ndarray]:
    meta = client.get("/api/map").json()
    body = client.get(meta["points"]["url"]).content
    return meta, np.frombuffer(body, dtype="<u2").reshape(4, meta["count"])


def test_without_a_map_every_page_says_how_to_make_one(
        arxiv_sample: Path, daily_papers_json: Path, tmp_path: Path) -> None:
    lib = library_copy(tmp_path / "cache", tmp_path / "lib", arxiv_sample, daily_papers_json)
    client = TestClient(create_app(lib))
    assert "papersift map" in client.get("/map").text
    missing = client.get("/api/map")
    assert missing.status_code == 404 and "papersift map" in missing.json()["detail"]
    assert "no map yet" in client.get("/map/locator.svg?id=2503.11731").text
    assert client.get("/api/map/rising").json() == []
    assert 'class="rising"' not in client.get("/").text
    lib.close()


def test_map_page_and_its_json_twin(client: TestClient, library: Library) -> None:
    page = client.get("/map")
    assert page.status_code == 200 and '<canvas id="atlas-canvas"' in page.text
    assert 'href="/map" aria-current="page"' in page.text
    meta = client.get("/api/map").json()
    paper_map = library_map.load(library)
    assert paper_map is not None and meta["count"] == len(paper_map) == 300
    assert sum(t["size"] for t in meta["topics"]) == meta["count"]
    assert sum(a["size"] for a in meta["areas"]) == meta["count"]
    for topic in meta["topics"]:
        assert f'href="/map/topics/{topic["id"]}"' in page.text
    assert meta["highlight"] is None and meta["focus"] is None


def test_points_are_compact_and_match_the_map(client: TestClient, library: Library) -> None:
    meta, arrays = _points(client)
    assert meta["points"]["bytes"] == 8 * meta["count"]
    paper_map = library_map.load(library)
    assert paper_map is not None
    xy = arrays[:2].T / 65534
    assert np.abs(xy - paper_map.xy).max() < 1e-4
    assert np.array_equal(arrays[2], paper_map.topic)
    assert np.array_equal(arrays[3], paper_map.category)
    cached = client.get(meta["points"]["url"])
    assert "immutable" in cached.headers["cache-control"]


def test_titles_come_in_chunks_in_point_order(client: TestClient, library: Library) -> None:
    meta = client.get("/api/map").json()
    chunk = client.get(meta["titles"].replace("{chunk}", "0")).json()
    assert chunk["start"] == 0 and len(chunk["ids"]) == len(chunk["titles"]) == 300
    paper_map = library_map.load(library)
    assert paper_map is not None
    for i in (0, 150, 299):
        paper = library.get(chunk["ids"][i])
        assert paper is not None and paper.title == chunk["titles"][i]
        assert library.store.key_of(paper.id) == paper_map.rowids[i]
    stale = client.get("/api/map/titles?chunk=0&v=999")
    assert stale.status_code == 409


def test_highlight_a_search_and_a_day(client: TestClient, library: Library) -> None:
    meta = client.get("/api/map", params={"q": "gaussian splatting"}).json()
    found = meta["highlight"]["indices"]
    titles = client.get(meta["titles"].replace("{chunk}", "0")).json()["titles"]
    expected = {r.paper.title for r in library.search("gaussian splatting", limit=200)}
    assert found and {titles[i] for i in found} <= expected
    paper_map = library_map.load(library)
    assert paper_map is not None
    day = client.get("/api/daily").json()["date"]
    on_day = client.get("/api/map", params={"day": day}).json()["highlight"]["indices"]
    assert on_day and len({int(paper_map.day[i]) for i in on_day}) == 1
    assert len(on_day) == int((paper_map.day == paper_map.day[on_day[0]]).sum())
    assert client.get("/api/map?day=yesterday").status_code == 400


def test_focus_on_a_paper(client: TestClient, library: Library) -> None:
    paper_map = library_map.load(library)
    assert paper_map is not None
    paper = library.store.papers([int(paper_map.rowids[42])])[int(paper_map.rowids[42])]
    assert client.get("/api/map", params={"focus": paper.id}).json()["focus"] == 42
    assert client.get("/api/map", params={"focus": XSS_ID}).json()["focus"] is None


def test_topic_page_draws_its_weekly_trend(client: TestClient, library: Library) -> None:
    paper_map = library_map.load(library)
    assert paper_map is not None
    biggest = max(paper_map.topics, key=lambda t: t.size)
    data = client.get(f"/api/map/topics/{biggest.id}").json()
    assert sum(data["counts"]) == biggest.size == data["topic"]["size"]
    assert len(data["weeks"]) == len(data["counts"])
    for trend in data["categories"]:
        assert len(trend["counts"]) == len(data["counts"])
        assert all(c <= t for c, t in zip(trend["counts"], data["counts"], strict=True))
    assert data["papers"] and all(p["id"] for p in data["papers"])
    page = client.get(f"/map/topics/{biggest.id}")
    assert page.status_code == 200 and '<svg class="chart"' in page.text
    assert biggest.label in page.text
    assert client.get("/map/topics/9999").status_code == 404


def test_paper_page_shows_its_locator(client: TestClient, library: Library) -> None:
    paper_map = library_map.load(library)
    assert paper_map is not None
    paper = next(iter(library.store.papers([int(paper_map.rowids[0])]).values()))
    page = client.get(f"/papers/{paper.id}").text
    assert f'src="/map/locator.svg?id={paper.id}"' in page
    svg = client.get("/map/locator.svg", params={"id": paper.id})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<circle" in svg.text and svg.text.startswith("<svg")
    assert "not on the map yet" in client.get("/map/locator.svg", params={"id": XSS_ID}).text


def test_rising_topics_on_the_home_page(client: TestClient) -> None:
    rising = client.get("/api/map/rising?limit=50").json()
    home = client.get("/").text
    for item in rising[:5]:
        assert item["z"] >= 1.96 and item["recent"] >= 10
        assert item["topic"]["label"] in home
    assert ('class="rising"' in home) == bool(rising)
