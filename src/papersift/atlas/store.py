"""A map on disk: ``<library>/map/``, versioned and written atomically.

Layout::

    map/current.json        {"format": 1, "version": 7}    (rewritten last, atomically)
    map/v000007/map.json    encoder, parameters, counts, topics, areas, categories
    map/v000007/rowids.npy  int64 (n,)   catalog rowids, ascending
    map/v000007/xy.npy      float32 (n, 2) in the unit square
    map/v000007/topic.npy   int32 (n,)
    map/v000007/day.npy     int32 (n,)   listing day, days since 1970-01-01 (-1: none)
    map/v000007/category.npy int32 (n,)  primary arXiv category, index into categories (-1)
    map/v000007/centroids.npy float32 (topics, dim): new papers join the nearest

Every save writes a new version folder under a temporary name, renames it into place and
only then points ``current.json`` at it, so a reader sees the old map or the new one, never
half of one; the previous version is kept (a reader may still be loading it), older ones
are removed. A map whose ``format`` this papersift does not know is refused with a hint to
rebuild.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from papersift.vectors.store import atomic_save, atomic_write

__all__ = ["FORMAT", "Area", "MapError", "PaperMap", "Topic", "load", "save"]

FORMAT = 1
_ARRAYS = ("rowids", "xy", "topic", "day", "category", "centroids")


class MapError(Exception):
    """A map that cannot be made or read; the message says what to do."""


@dataclass(frozen=True)
class Topic:
    """A cluster of papers: its area, distinctive terms, size and centre on the map."""

    id: int
    area: int
    terms: tuple[str, ...]
    size: int = 0
    x: float = 0.5
    y: float = 0.5

    @property
    def label(self) -> str:
        return ", ".join(self.terms[:3]) if self.terms else f"topic {self.id}"


@dataclass(frozen=True)
class Area:
    """A broad area: a group of topics."""

    id: int
    terms: tuple[str, ...]
    size: int = 0
    x: float = 0.5
    y: float = 0.5

    @property
    def label(self) -> str:
        return ", ".join(self.terms[:2]) if self.terms else f"area {self.id}"


@dataclass(frozen=True)
class PaperMap:
    """Every mapped paper's position, topic, day and category, sorted by rowid."""

    rowids: np.ndarray
    xy: np.ndarray
    topic: np.ndarray
    day: np.ndarray
    category: np.ndarray
    centroids: np.ndarray
    topics: tuple[Topic, ...]
    areas: tuple[Area, ...]
    categories: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rowids)

    @property
    def version(self) -> int:
        return int(self.meta.get("version", 0))

    @property
    def area_of_topic(self) -> np.ndarray:
        return np.asarray([t.area for t in self.topics], dtype=np.int32)

    def area(self) -> np.ndarray:
        """Each point's area."""
        return self.area_of_topic[self.topic] if len(self.topics) else self.topic

    def positions(self, rowids: np.ndarray) -> np.ndarray:
        """The point index of each rowid, ``-1`` where it is not on the map."""
        rowids = np.asarray(rowids, dtype=np.int64)
        if len(self.rowids) == 0:
            return np.full(len(rowids), -1, np.int64)
        at = np.searchsorted(self.rowids, rowids).clip(0, len(self.rowids) - 1)
        return np.where(self.rowids[at] == rowids, at, -1)

    def with_summaries(self) -> PaperMap:
        """The same map with topic and area sizes and centres recomputed from the points."""
        topics = tuple(replace(t, **_summary(self.xy, self.topic == t.id)) for t in self.topics)
        area = self.area()
        areas = tuple(replace(a, **_summary(self.xy, area == a.id)) for a in self.areas)
        return replace(self, topics=topics, areas=areas)


def _summary(xy: np.ndarray, members: np.ndarray) -> dict[str, Any]:
    """Size and label anchor: the median point (inside the cluster, unlike a mean)."""
    size = int(members.sum())
    if size == 0:
        return {"size": 0}
    centre = np.median(xy[members], axis=0)
    return {"size": size, "x": round(float(centre[0]), 5), "y": round(float(centre[1]), 5)}


def _topic_json(t: Topic) -> dict[str, Any]:
    return {"id": t.id, "area": t.area, "terms": list(t.terms), "size": t.size, "x": t.x,
            "y": t.y}


def _area_json(a: Area) -> dict[str, Any]:
    return {"id": a.id, "terms": list(a.terms), "size": a.size, "x": a.x, "y": a.y}


def current_version(folder: Path) -> int | None:
    """The version ``current.json`` points at, or None when there is no map."""
    pointer = folder / "current.json"
    if not pointer.exists():
        return None
    data = json.loads(pointer.read_text())
    if data.get("format") != FORMAT:
        raise MapError(f"{pointer}: a map of format {data.get('format')!r}, this papersift "
                       f"reads {FORMAT}; run `papersift map --rebuild`")
    return int(data["version"])


def load(folder: Path) -> PaperMap | None:
    """The current map under ``folder`` (``<library>/map``), or None when there is none."""
    version = current_version(folder)
    if version is None:
        return None
    where = folder / f"v{version:06d}"
    try:
        meta = json.loads((where / "map.json").read_text())
        arrays = {name: np.load(where / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
    except (OSError, ValueError) as error:
        raise MapError(f"{where}: the map is damaged ({error}); run `papersift map "
                       "--rebuild`") from None
    topics = tuple(Topic(t["id"], t["area"], tuple(t["terms"]), t["size"], t["x"], t["y"])
                   for t in meta.pop("topics"))
    areas = tuple(Area(a["id"], tuple(a["terms"]), a["size"], a["x"], a["y"])
                  for a in meta.pop("areas"))
    categories = tuple(meta.pop("categories"))
    return PaperMap(topics=topics, areas=areas, categories=categories, meta=meta, **arrays)


def save(folder: Path, paper_map: PaperMap) -> PaperMap:
    """Write ``paper_map`` as the next version and make it current; returns it with its
    version number in ``meta``."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = current_version(folder) or 0
    existing = [int(p.name[1:]) for p in folder.glob("v[0-9][0-9][0-9][0-9][0-9][0-9]")]
    version = max([previous, *existing]) + 1
    saved = replace(paper_map, meta={**paper_map.meta, "version": version, "format": FORMAT})
    staging = folder / f".v{version:06d}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in _ARRAYS:
        atomic_save(staging / f"{name}.npy", getattr(saved, name))
    doc = {**saved.meta, "count": len(saved), "topics": [_topic_json(t) for t in saved.topics],
           "areas": [_area_json(a) for a in saved.areas], "categories": list(saved.categories)}
    atomic_write(staging / "map.json", json.dumps(doc, indent=1).encode())
    staging.rename(folder / f"v{version:06d}")
    atomic_write(folder / "current.json",
                 json.dumps({"format": FORMAT, "version": version}).encode())
    for old in folder.glob("v[0-9][0-9][0-9][0-9][0-9][0-9]"):
        if int(old.name[1:]) < previous:
            shutil.rmtree(old, ignore_errors=True)
    return saved
