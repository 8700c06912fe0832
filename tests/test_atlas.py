"""The atlas on real data: labels, topics, layout, placement, trends, storage, the picture,
and the library's map kept up to date (real catalog, real vectors of the 75k sample)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from papersift.atlas import MapError, library_map, store
from papersift.atlas.layout import layout, place, to_unit_square
from papersift.atlas.terms import BOILERPLATE, clean_text, distinctive_terms
from papersift.atlas.topics import assign_topics, find_topics
from papersift.atlas.trends import day_number, rising, weekly_counts
from papersift.library import Library
from tests.conftest import DATA, require
from tests.map_fixtures import shared_vectors, with_vectors
from tests.web_fixtures import arxiv_papers


def _records(n: int) -> list[dict[str, object]]:
    with gzip.open(require(DATA / "arxiv-75k.jsonl.gz"), "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in islice(lines, n)]


@pytest.fixture(scope="module")
def sample() -> tuple[list[dict[str, object]], np.ndarray]:
    """The first 3,000 papers of the sample and their vectors (float32)."""
    vectors, _ = shared_vectors()
    return _records(3000), np.asarray(vectors[:3000], dtype=np.float32)


def _ami(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_mutual_info_score

    return float(adjusted_mutual_info_score(a, b))


# -- labels ---------------------------------------------------------------------------------
def test_clean_text_removes_latex_and_urls() -> None:
    text = r"Bounds of $\mathcal{O}(T^{-1/2})$ via \textbf{Adam} and \cite{x}; see https://x.org/a"
    cleaned = clean_text(text)
    for gone in ("mathcal", "textbf", "cite", "https", "x.org", "$", "\\"):
        assert gone not in cleaned
    assert "bounds" in cleaned and "adam" in cleaned


def test_distinctive_terms_name_the_class(sample: tuple[list[dict[str, object]], np.ndarray]
                                          ) -> None:
    records, _ = sample
    texts = [f"{r['title']}. {r['abstract']}" for r in records]
    splat = np.asarray(["splatting" in str(r["title"]).lower() for r in records], np.int64)
    assert 10 < splat.sum() < 300  # the sample has a real gaussian splatting cluster
    terms = distinctive_terms(texts, splat, 2)
    assert any("splatting" in t for t in terms[1][:3])
    stop = {"the", "of", "we", "and", "propose", "results", "novel"} | BOILERPLATE
    for class_terms in terms:
        for term in class_terms:
            assert not set(term.split()) & stop, term
            assert "$" not in term and "\\" not in term


# -- topics and layout ----------------------------------------------------------------------
def test_topics_nest_in_areas_and_follow_categories(
        sample: tuple[list[dict[str, object]], np.ndarray]) -> None:
    records, vectors = sample
    found = find_topics(vectors, n_topics=30, n_areas=6)
    assert found.topic.shape == (len(vectors),) and found.n_topics <= 30
    assert found.n_areas <= 6 and set(np.unique(found.area())) == set(range(found.n_areas))
    assert np.allclose(np.linalg.norm(found.centroids, axis=1), 1.0, atol=1e-4)
    primary = np.unique([str(r["categories"][0]) for r in records],  # type: ignore[index]
                        return_inverse=True)[1]
    shuffled = np.random.default_rng(0).permutation(found.topic)
    assert _ami(primary, found.topic) > 0.15 > _ami(primary, shuffled)
    # a paper's own vector is nearest its own topic's centroid
    assert (assign_topics(vectors[:200], found.centroids) == found.topic[:200]).mean() > 0.99


def _neighbour_overlap(vectors: np.ndarray, xy: np.ndarray, rows: np.ndarray, k: int = 10
                       ) -> float:
    high = vectors[rows] @ vectors.T
    low = -((xy[rows][:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    hits = 0
    for i, row in enumerate(rows):
        high[i, row] = low[i, row] = -np.inf
        hits += len(np.intersect1d(np.argsort(-high[i])[:k], np.argsort(-low[i])[:k]))
    return hits / (k * len(rows))


def test_layout_keeps_neighbours_and_placement_matches_it(
        sample: tuple[list[dict[str, object]], np.ndarray]) -> None:
    _, vectors = sample
    base, new = vectors[:1000], vectors[1000:1200]
    xy = layout(base)
    assert xy.shape == (1000, 2) and xy.min() >= 0 and xy.max() <= 1
    rows = np.arange(0, 1000, 10)
    kept = _neighbour_overlap(base, xy, rows)
    rng = np.random.default_rng(1)
    assert kept > 0.2 > _neighbour_overlap(base, rng.random((1000, 2)), rows)
    placed = place(new, base, xy)
    assert placed.shape == (200, 2)
    # a placed paper lies among its nearest neighbours' positions
    near = np.argsort(-(new @ base.T), axis=1)[:, 0]
    gap = np.linalg.norm(placed - xy[near], axis=1)
    assert np.median(gap) < np.median(np.linalg.norm(xy - xy.mean(axis=0), axis=1)) / 4
    # a paper placed on a map that holds it lands on itself
    assert np.allclose(place(base[:20], base, xy), xy[:20], atol=1e-3)


def test_tiny_inputs() -> None:
    assert layout(np.eye(3, 8, dtype=np.float32)).shape == (3, 2)
    assert to_unit_square(np.zeros((0, 2))).shape == (0, 2)
    assert place(np.zeros((0, 4)), np.eye(4), np.zeros((4, 2))).shape == (0, 2)


# -- trends ---------------------------------------------------------------------------------
def test_weekly_counts_start_on_monday_and_include_empty_weeks() -> None:
    days = np.asarray([day_number(date(2026, 6, d)) for d in (1, 2, 7, 22)] + [-1])
    weekly = weekly_counts(days, np.asarray([0, 1, 0, 1, 0]), 2)
    assert weekly.weeks == [date(2026, 6, 1), date(2026, 6, 8), date(2026, 6, 15),
                            date(2026, 6, 22)]
    assert weekly.series(0) == [2, 0, 0, 0] and weekly.series(1) == [1, 0, 0, 1]


def test_rising_needs_enough_papers_and_a_significant_rise() -> None:
    rng = np.random.default_rng(0)
    end = day_number(date(2026, 6, 30))
    days = end - rng.integers(0, 16 * 7, 20_000)
    recent = days > end - 28
    groups = rng.integers(2, 10, len(days))  # eight steady topics
    grow = np.flatnonzero(recent)[:600]  # topic 0 takes a large share of the recent weeks
    groups[grow] = 0
    groups[np.flatnonzero(~recent)[:300]] = 0
    groups[np.flatnonzero(recent)[-3:]] = 1  # topic 1: three papers, none before
    found = rising(days, groups, 10)
    assert [r.group for r in found][:1] == [0]
    assert 1 not in [r.group for r in found]  # too few papers to count
    assert all(r.z >= 1.96 and r.recent >= 10 for r in found)
    assert rising(np.full(5, -1), np.zeros(5), 1) == []


# -- storage and the picture ----------------------------------------------------------------
def _small_map(n: int = 400) -> store.PaperMap:
    vectors, _ = shared_vectors()
    x = np.asarray(vectors[:n], dtype=np.float32)
    found = find_topics(x, n_topics=12, n_areas=4)
    rng = np.random.default_rng(0)
    return store.PaperMap(
        rowids=np.arange(1, n + 1, dtype=np.int64), xy=rng.random((n, 2)).astype(np.float32),
        topic=found.topic, day=np.full(n, 20_000, np.int32), category=np.zeros(n, np.int32),
        centroids=found.centroids,
        topics=tuple(store.Topic(t, int(found.area_of_topic[t]), ("alpha beta", f"t{t}"))
                     for t in range(found.n_topics)),
        areas=tuple(store.Area(a, (f"area {a}",)) for a in range(found.n_areas)),
        categories=("cs.CV",), meta={"encoder": "x"},
    ).with_summaries()


def test_store_versions_and_atomicity(tmp_path: Path) -> None:
    folder = tmp_path / "map"
    assert store.load(folder) is None
    first = store.save(folder, _small_map())
    second = store.save(folder, _small_map())
    assert (first.version, second.version) == (1, 2)
    (folder / ".v000003.tmp").mkdir()  # a save that died before its rename
    loaded = store.load(folder)
    assert loaded is not None and loaded.version == 2 and len(loaded) == 400
    assert np.array_equal(loaded.xy, second.xy) and loaded.topics == second.topics
    store.save(folder, _small_map())
    store.save(folder, _small_map())
    assert sorted(p.name for p in folder.glob("v*")) == ["v000003", "v000004"]
    (folder / "current.json").write_text('{"format": 99, "version": 4}')
    with pytest.raises(MapError, match="--rebuild"):
        store.load(folder)


def test_picture_labels_never_overlap(tmp_path: Path) -> None:
    from papersift.atlas.render import render

    picture = render(_small_map(), tmp_path / "map.png", topics=12, size=4, dpi=80)
    assert picture.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.labels and len(picture.labels) + picture.dropped == 4 + 12
    boxes = picture.boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


# -- the library's map ----------------------------------------------------------------------
def test_library_map_computes_then_places_new_papers(tmp_path: Path) -> None:
    arxiv = require(DATA / "arxiv-75k.jsonl.gz")
    papers = arxiv_papers(arxiv, 700)
    library = Library(tmp_path / "lib")
    with pytest.raises(MapError, match="no vectors"):
        library_map.update(library)
    library.add(papers[:600])
    with_vectors(library, tmp_path / "v1", slice(0, 600))
    steps: list[int] = []
    report = library_map.update(library, progress=lambda task, done, total: steps.append(done))
    assert report.rebuilt and report.papers == report.laid_out == 600 and report.version == 1
    assert steps[0] == 0 and steps[-1] == len(library_map.STEPS)
    first = library_map.load(library)
    assert first is not None and sum(t.size for t in first.topics) == 600
    assert all(t.terms for t in first.topics)

    library.add(papers[600:])
    with_vectors(library, tmp_path / "v2", slice(600, 700))
    library.remove([papers[0].id])
    report = library_map.update(library)
    assert (report.rebuilt, report.placed, report.removed) == (False, 100, 1)
    second = library_map.load(library)
    assert second is not None and len(second) == 699 and second.version == 2
    assert second.meta["laid_out"] == 600 and second.meta["placed"] == 100
    kept = second.positions(first.rowids[1:])
    assert np.array_equal(second.xy[kept], first.xy[1:])  # old points stay where they were
    assert library_map.update(library, rebuild=True).laid_out == 699
    library.close()
