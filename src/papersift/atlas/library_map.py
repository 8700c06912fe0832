"""The map of a :class:`~papersift.library.Library`: the one place the atlas touches it.

Everything else in :mod:`papersift.atlas` works on plain arrays and texts. This module reads
what they need from a library (its vectors, and each mapped paper's title, abstract, day
and primary category), writes the result under ``<library>/map/``, and answers the web
pages' questions (titles of points, a search's points). After the storage refactor
(issue 10) these functions read through the library's stores (``library.store`` and
``library.dense``), never a backend module.

Example::

    import papersift
    from papersift.atlas import library_map

    lib = papersift.open("papersift-data")
    report = library_map.update(lib)          # computes it the first time, places new papers
    paper_map = library_map.load(lib)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from papersift.atlas import store
from papersift.atlas.layout import LayoutParams, layout, place
from papersift.atlas.store import Area, MapError, PaperMap, Topic
from papersift.atlas.terms import distinct_leads, distinctive_terms, term_matrix
from papersift.atlas.topics import assign_topics, find_topics
from papersift.atlas.trends import day_number
from papersift.library import Library, Progress
from papersift.papers import Paper, document_text
from papersift.query import Filters

__all__ = ["MapReport", "load", "papers_of", "search_points", "update"]


def _quiet(task: str, done: int, total: int | None) -> None:
    return None

#: Steps of a full computation, for the progress bar.
STEPS = ("read vectors", "read papers", "layout (UMAP)", "topics", "labels", "write")


@dataclass(frozen=True)
class MapReport:
    """What :func:`update` did."""

    papers: int  # on the map now
    laid_out: int  # by the last full computation
    placed: int  # placed by nearest neighbours in this run
    removed: int  # dropped in this run (removed from the library)
    unembedded: int  # library papers without a vector, so not on the map
    rebuilt: bool
    seconds: float
    version: int

    def summary(self) -> str:
        what = (f"computed over {self.laid_out} papers" if self.rebuilt else
                f"placed {self.placed} new papers, removed {self.removed}")
        line = f"map v{self.version}: {self.papers} papers, {what} in {self.seconds:.1f} s"
        if self.unembedded:
            line += (f"; {self.unembedded} papers have no vector yet and are not on it "
                     "(`papersift embed`)")
        return line


@dataclass(frozen=True)
class _Papers:
    """What the map needs of each paper, aligned with ``rowids`` (ascending)."""

    rowids: np.ndarray
    texts: list[str]
    day: np.ndarray
    primary: list[str]
    total: int  # papers in the catalog


def _vectors(library: Library) -> tuple[np.ndarray, np.ndarray]:
    """The library's stored ``(rowids, vectors)``, ascending by rowid."""
    if not library.has_vectors():
        raise MapError("the library has no vectors: run `papersift embed` (or import them "
                       "with `papersift vectors import`) before `papersift map`")
    dense = library.dense
    keys = library.store.current_keys(dense.name)
    found, vecs = dense.vectors(keys)
    return keys[found], vecs


def _papers(library: Library, wanted: np.ndarray | None = None) -> _Papers:
    """Titles+abstracts, days and primary categories of the catalog's papers (all, or the
    ``wanted`` rowids among them)."""
    rowids: list[int] = []
    texts: list[str] = []
    days: list[int] = []
    primary: list[str] = []
    total = 0
    want = None if wanted is None else set(np.asarray(wanted).tolist())
    for batch in library.store.changes_since(0):
        for change in batch:
            paper = change.paper
            if paper is None:
                continue
            total += 1
            if want is not None and change.rowid not in want:
                continue
            rowids.append(change.rowid)
            texts.append(document_text(paper.title, paper.abstract))
            days.append(day_number(paper.published))
            primary.append(paper.categories[0] if paper.categories else "")
    order = np.argsort(np.asarray(rowids, dtype=np.int64), kind="stable")
    return _Papers(np.asarray(rowids, np.int64)[order], [texts[i] for i in order],
                   np.asarray(days, np.int32)[order], [primary[i] for i in order], total)


def _category_index(primary: Sequence[str],
                    known: tuple[str, ...] = ()) -> tuple[np.ndarray, tuple[str, ...]]:
    """Category indices (most frequent first after the ``known`` ones); -1 for none."""
    counts: dict[str, int] = {}
    for name in primary:
        if name:
            counts[name] = counts.get(name, 0) + 1
    names = list(known) + sorted((c for c in counts if c not in known),
                                 key=lambda c: (-counts[c], c))
    at = {name: i for i, name in enumerate(names)}
    return np.asarray([at.get(p, -1) for p in primary], np.int32), tuple(names)


class _Steps:
    """Reports each step to ``progress`` and keeps how long each took."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._at = time.perf_counter()
        progress("map", 0, len(STEPS))

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._at, 2)
        self._at = now
        self.progress("map", STEPS.index(step) + 1, len(STEPS))


def _compute(library: Library, params: LayoutParams, progress: Progress) -> PaperMap:
    steps = _Steps(progress)
    rowids, vectors = _vectors(library)
    steps.done("read vectors")
    papers = _papers(library, rowids)
    keep = np.isin(rowids, papers.rowids)  # vectors of removed papers not synced yet
    rowids, vectors = rowids[keep], vectors[keep]
    if len(rowids) == 0:
        raise MapError("no embedded paper is in the catalog: run `papersift embed`")
    steps.done("read papers")
    xy = layout(vectors, params)
    steps.done("layout (UMAP)")
    found = find_topics(vectors)
    steps.done("topics")
    terms = term_matrix(papers.texts)
    topic_terms = distinctive_terms(terms, found.topic, found.n_topics)
    area_terms = distinct_leads(distinctive_terms(terms, found.area(), found.n_areas),
                                np.bincount(found.area(), minlength=found.n_areas).tolist())
    steps.done("labels")
    category, names = _category_index(papers.primary)
    meta: dict[str, Any] = {
        "encoder": library.dense.name, "layout": params.to_json(),
        "clustering": "spherical k-means on the vectors (topics), nested k-means areas",
        "laid_out": len(rowids), "placed": 0, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": steps.seconds,
    }
    return PaperMap(
        rowids=rowids, xy=xy, topic=found.topic, day=papers.day, category=category,
        centroids=found.centroids,
        topics=tuple(Topic(t, int(found.area_of_topic[t]), tuple(topic_terms[t]))
                     for t in range(found.n_topics)),
        areas=tuple(Area(a, tuple(area_terms[a])) for a in range(found.n_areas)),
        categories=names, meta=meta,
    ).with_summaries()


def _incremental(library: Library, old: PaperMap) -> tuple[PaperMap, int, int]:
    """``old`` with new embedded papers placed and removed ones dropped: (map, placed,
    removed). Reads only the new papers from the catalog."""
    rowids, vectors = _vectors(library)
    live = np.intersect1d(rowids, library.store.matching(Filters()))
    gone = old.positions(np.setdiff1d(old.rowids, live))
    fresh = np.setdiff1d(live, old.rowids)
    keep = np.ones(len(old), dtype=bool)
    keep[gone] = False
    at_new = np.searchsorted(rowids, fresh)
    mapped_at = np.searchsorted(rowids, old.rowids[keep])
    new_xy = place(vectors[at_new], vectors[mapped_at], old.xy[keep])
    new_topic = assign_topics(vectors[at_new], old.centroids)
    papers = library.store.papers(fresh.tolist())
    new_day = np.asarray([day_number(papers[r].published) for r in fresh.tolist()], np.int32)
    new_category, names = _category_index(
        [papers[r].categories[0] if papers[r].categories else "" for r in fresh.tolist()],
        old.categories)
    merged_rowids = np.r_[old.rowids[keep], fresh]
    order = np.argsort(merged_rowids, kind="stable")
    updated = replace(
        old, rowids=merged_rowids[order],
        xy=np.r_[old.xy[keep], new_xy][order].astype(np.float32),
        topic=np.r_[old.topic[keep], new_topic][order].astype(np.int32),
        day=np.r_[old.day[keep], new_day][order].astype(np.int32),
        category=np.r_[old.category[keep], new_category][order].astype(np.int32),
        categories=names,
        meta={**old.meta, "placed": int(old.meta.get("placed", 0)) + len(fresh)},
    ).with_summaries()
    return updated, len(fresh), len(gone)


def update(library: Library, *, rebuild: bool = False, params: LayoutParams | None = None,
           progress: Progress = _quiet) -> MapReport:
    """Bring the library's map up to date.

    Without a map (or with ``rebuild``) the layout, topics and labels are computed over
    every embedded paper; otherwise papers embedded since are placed by their nearest
    neighbours and removed ones dropped, without a recompute.
    """
    started = time.perf_counter()
    folder = library.path / "map"
    old = None if rebuild else store.load(folder)
    encoder = library.dense.name if library.has_vectors() else None
    if old is not None and old.meta.get("encoder") != encoder:
        raise MapError(f"the map was made from {old.meta.get('encoder')!r} vectors, the "
                       f"library now has {encoder!r}: run `papersift map --rebuild`")
    if old is None:
        paper_map, placed, removed = _compute(library, params or LayoutParams(), progress), 0, 0
    else:
        paper_map, placed, removed = _incremental(library, old)
    # an unchanged map keeps its version (and the browsers' cached points)
    saved = old if old is not None and not placed and not removed else store.save(folder,
                                                                                 paper_map)
    progress("map", len(STEPS), len(STEPS))
    return MapReport(papers=len(saved), laid_out=int(saved.meta.get("laid_out", 0)),
                     placed=placed, removed=removed,
                     unembedded=max(len(library) - len(saved), 0), rebuilt=old is None,
                     seconds=time.perf_counter() - started, version=saved.version)


_CACHE: dict[str, PaperMap] = {}
_CACHE_LOCK = threading.Lock()


def load(library: Library) -> PaperMap | None:
    """The library's current map (None before ``papersift map``); a loaded version is kept
    in memory until a newer one is written, by this process or another."""
    folder = library.path / "map"
    version = store.current_version(folder)
    if version is None:
        return None
    key = str(folder.resolve())
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached.version == version:
            return cached
    loaded = store.load(folder)
    if loaded is not None:
        with _CACHE_LOCK:
            _CACHE[key] = loaded
    return loaded


def papers_of(library: Library, rowids: Sequence[int]) -> dict[int, Paper]:
    """The papers at some map points, by rowid."""
    return library.store.papers([int(r) for r in rowids])


def search_points(library: Library, paper_map: PaperMap, query: str, *,
                  limit: int = 200) -> np.ndarray:
    """Point indices of a search's results (best first), for highlighting."""
    results = library.search(query, limit=limit)
    rowids = [library.store.key_of(r.paper.id) for r in results]
    found = paper_map.positions(np.asarray([r for r in rowids if r is not None], np.int64))
    return found[found >= 0]


def day_points(paper_map: PaperMap, day: date) -> np.ndarray:
    """Point indices of the papers listed on ``day``."""
    return np.flatnonzero(paper_map.day == day_number(day))


def rowid_of(library: Library, paper_id: str) -> int | None:
    """The catalog rowid of a paper id (any spelling the library accepts)."""
    paper = library.get(paper_id)
    return library.store.key_of(paper.id) if paper is not None else None
