"""The map pages: the whole library as points (``/map``), a topic's page with its weekly
trend (``/map/topics/{id}``), a paper's locator, and the rising topics of the home page.

The map page draws on a canvas from compact data: ``/api/map`` (the page's JSON twin:
topics, areas, categories, the highlighted points) and ``/api/map/points`` (binary: four
little-endian uint16 arrays, 8 bytes a paper). Titles come in chunks of
:data:`TITLE_CHUNK` as the pointer reaches them (``/api/map/titles``).

Highlights (``?q=`` a search's results, ``?day=`` a day's listing) are computed here; a
user's saved papers will be one more entry of :data:`HIGHLIGHTS` once accounts exist
(issue 14): a function from the request to point indices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from papersift.atlas import PaperMap, library_map
from papersift.atlas.render import PALETTE
from papersift.atlas.trends import rising, weekly_counts
from papersift.web.app import WebState, state
from papersift.web.charts import Series, locator_background, locator_svg, weekly_chart
from papersift.web.models import PaperOut, paper_out
from papersift.web.params import parse_day

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
#: Titles sent per request while hovering.
TITLE_CHUNK = 1000
#: Search results highlighted on the map.
SEARCH_DEPTH = 200
_NONE = 65535
_NO_MAP = "no map yet: run `papersift map` on this library"


class TopicOut(BaseModel):
    """A topic (or an area): label, distinctive terms, size and centre (unit square)."""

    id: int
    area: int | None = Field(None, description="The area of a topic (None for an area).")
    label: str
    terms: list[str]
    size: int
    x: float
    y: float


class PointsOut(BaseModel):
    """Where and how the points are sent."""

    url: str
    bytes: int
    layout: str = Field(description="The binary layout of the points.")


class HighlightOut(BaseModel):
    """Points to emphasise: a search's results or a day's listing."""

    kind: str
    label: str
    indices: list[int] = Field(description="Point indices, best first for a search.")


class MapPage(BaseModel):
    """The map: topics within areas, categories, and how to fetch the points."""

    version: int
    count: int
    laid_out: int = Field(description="Papers laid out by the last full computation.")
    placed: int = Field(description="Papers placed since by their nearest neighbours.")
    created: str | None
    areas: list[TopicOut]
    topics: list[TopicOut]
    categories: list[str] = Field(description="Primary categories, most frequent first.")
    palette: list[str]
    points: PointsOut
    titles: str = Field(description="URL template of the title chunks.")
    highlight: HighlightOut | None = None
    focus: int | None = Field(None, description="Point index of ?focus=PAPER_ID.")


class TitlesOut(BaseModel):
    """Ids and titles of points ``start .. start + len(ids) - 1``."""

    chunk: int
    start: int
    ids: list[str]
    titles: list[str]


class CategoryTrend(BaseModel):
    name: str
    counts: list[int]


class TopicPage(BaseModel):
    """A topic: its terms, papers per week (all, and per top category), newest papers."""

    topic: TopicOut
    area: TopicOut
    weeks: list[date]
    counts: list[int]
    categories: list[CategoryTrend]
    papers: list[PaperOut]


class RisingOut(BaseModel):
    """A topic whose share of new papers grew (see :mod:`papersift.atlas.trends`)."""

    topic: TopicOut
    recent: int
    before: int
    share_recent: float
    share_before: float
    growth: float
    z: float


def _map(web: WebState) -> PaperMap:
    found = library_map.load(web.library)
    if found is None:
        raise HTTPException(404, _NO_MAP)
    return found


def _topic_out(paper_map: PaperMap, t: int) -> TopicOut:
    topic = paper_map.topics[t]
    return TopicOut(id=topic.id, area=topic.area, label=topic.label, terms=list(topic.terms),
                    size=topic.size, x=topic.x, y=topic.y)


def _area_out(paper_map: PaperMap, a: int) -> TopicOut:
    area = paper_map.areas[a]
    return TopicOut(id=area.id, area=None, label=area.label, terms=list(area.terms), size=area.size,
                    x=area.x, y=area.y)


def _search_highlight(web: WebState, paper_map: PaperMap, q: str | None,
                      day: str | None) -> HighlightOut | None:
    if q:
        found = library_map.search_points(web.library, paper_map, q, limit=SEARCH_DEPTH)
        return HighlightOut(kind="search", label=f"results for “{q}”", indices=found.tolist())
    when = parse_day(day, "day")
    if when is not None:
        found = library_map.day_points(paper_map, when)
        return HighlightOut(kind="day", label=f"listed on {when:%b} {when.day}, {when.year}",
                            indices=found.tolist())
    return None


#: Highlight sources, tried in order; the first that returns something wins.
#: Saved papers (issue 14) go here: a function (web, map, request) -> HighlightOut | None.
HIGHLIGHTS: list[Callable[[WebState, PaperMap, Request], HighlightOut | None]] = [
    lambda web, m, r: _search_highlight(web, m, r.query_params.get("q"),
                                        r.query_params.get("day")),
]


def _page(web: WebState, request: Request, focus: str | None) -> MapPage:
    paper_map = _map(web)
    highlight = next((h for h in (f(web, paper_map, request) for f in HIGHLIGHTS) if h), None)
    focus_at = None
    if focus:
        rowid = library_map.rowid_of(web.library, focus)
        at = paper_map.positions(np.asarray([rowid if rowid is not None else -1]))[0]
        focus_at = int(at) if at >= 0 else None
    return MapPage(
        version=paper_map.version, count=len(paper_map),
        laid_out=int(paper_map.meta.get("laid_out", 0)),
        placed=int(paper_map.meta.get("placed", 0)), created=paper_map.meta.get("created"),
        areas=[_area_out(paper_map, a) for a in range(len(paper_map.areas))],
        topics=[_topic_out(paper_map, t) for t in range(len(paper_map.topics))],
        categories=list(paper_map.categories), palette=list(PALETTE),
        points=PointsOut(url=f"/api/map/points?v={paper_map.version}", bytes=8 * len(paper_map),
                         layout="x, y, topic, category: four little-endian uint16 arrays of "
                                "count values each, one after another; x and y scaled from "
                                "[0, 1] to [0, 65534]; category 65535 = none"),
        titles=f"/api/map/titles?v={paper_map.version}&chunk={{chunk}}",
        highlight=highlight, focus=focus_at,
    )


Focus = Annotated[str | None, Query(description="A paper id to centre the map on.")]
Q = Annotated[str | None, Query(max_length=500, description="Highlight a search's results.")]
DayQ = Annotated[str | None, Query(description="Highlight a day's listing, YYYY-MM-DD.")]


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request, web: Web, q: Q = None, day: DayQ = None,
                   focus: Focus = None) -> HTMLResponse:
    """The map (HTML: a canvas drawn by /static/map.js from the JSON twin)."""
    paper_map = library_map.load(web.library)
    return web.render(request, "map.html", nav="map", paper_map=paper_map, q=q or "",
                      day=day or "", focus=focus or "", no_map=_NO_MAP)


@router.get("/api/map", response_model=MapPage, tags=["map"])
def map_api(request: Request, web: Web, q: Q = None, day: DayQ = None,
                  focus: Focus = None) -> MapPage:
    """The map's topics, areas and categories, where to fetch its points, and the points
    to highlight (`q`: a search's results; `day`: a listing). HTML: `/map`."""
    return _page(web, request, focus)


def _points(paper_map: PaperMap) -> bytes:
    scaled = np.rint(np.clip(paper_map.xy, 0, 1) * (_NONE - 1)).astype("<u2")
    category = np.where(paper_map.category >= 0, paper_map.category, _NONE).astype("<u2")
    return b"".join(a.tobytes() for a in (scaled[:, 0], scaled[:, 1],
                                          paper_map.topic.astype("<u2"), category))


@router.get("/api/map/points", tags=["map"],
            responses={200: {"content": {"application/octet-stream": {}}}})
def points(web: Web, v: Annotated[int | None, Query(description="Map version.")] = None
                 ) -> Response:
    """Every paper's position, topic and category (binary; see `points.layout` in
    `/api/map`)."""
    paper_map = _map(web)
    cache = ("public, max-age=31536000, immutable" if v == paper_map.version
             else "no-cache")
    return Response(_points(paper_map), media_type="application/octet-stream",
                    headers={"Cache-Control": cache, "X-Map-Version": str(paper_map.version)})


@router.get("/api/map/titles", response_model=TitlesOut, tags=["map"])
def titles(web: Web, chunk: Annotated[int, Query(ge=0)] = 0,
                 v: Annotated[int | None, Query(description="Map version.")] = None
                 ) -> TitlesOut:
    """Ids and titles of the points of one chunk (points `chunk * 1000` onwards)."""
    paper_map = _map(web)
    if v is not None and v != paper_map.version:
        raise HTTPException(409, f"the map changed (version {paper_map.version}); reload it")
    start = chunk * TITLE_CHUNK
    rowids = paper_map.rowids[start:start + TITLE_CHUNK].tolist()
    papers = library_map.papers_of(web.library, rowids)
    found = [papers.get(r) for r in rowids]
    return TitlesOut(chunk=chunk, start=start, ids=[p.id if p else "" for p in found],
                     titles=[p.title if p else "(removed)" for p in found])


def _topic_page(web: WebState, topic_id: int) -> TopicPage:
    paper_map = _map(web)
    if not 0 <= topic_id < len(paper_map.topics):
        raise HTTPException(404, f"no topic {topic_id} on this map "
                                 f"(topics are 0..{len(paper_map.topics) - 1})")
    members = np.flatnonzero(paper_map.topic == topic_id)
    weekly = weekly_counts(paper_map.day, paper_map.topic, len(paper_map.topics))
    in_topic = paper_map.category[members]
    top = [int(c) for c in np.argsort(-np.bincount(in_topic[in_topic >= 0],
                                                   minlength=len(paper_map.categories)))[:4]]
    by_category = weekly_counts(np.where(paper_map.topic == topic_id, paper_map.day, -1),
                                paper_map.category, len(paper_map.categories))
    newest = members[np.argsort(-paper_map.day[members], kind="stable")][:10]
    papers = library_map.papers_of(web.library, paper_map.rowids[newest].tolist())
    shown = [papers[r] for r in paper_map.rowids[newest].tolist() if r in papers]
    offset = _week_offset(weekly.weeks, by_category.weeks)
    return TopicPage(
        topic=_topic_out(paper_map, topic_id),
        area=_area_out(paper_map, paper_map.topics[topic_id].area),
        weeks=weekly.weeks, counts=weekly.series(topic_id),
        categories=[CategoryTrend(name=paper_map.categories[c],
                                  counts=[0] * offset + by_category.series(c))
                    for c in top if c < len(paper_map.categories)
                    and by_category.counts[c].sum() > 0],
        papers=[paper_out(p) for p in shown],
    )


def _week_offset(all_weeks: list[date], topic_weeks: list[date]) -> int:
    """Where a topic's first week sits in the library's weeks (both are contiguous)."""
    if not topic_weeks or not all_weeks:
        return 0
    return (topic_weeks[0] - all_weeks[0]).days // 7


@router.get("/map/topics/{topic_id}", response_class=HTMLResponse, include_in_schema=False)
def topic_page(request: Request, web: Web, topic_id: int) -> HTMLResponse:
    """A topic's page (HTML) with its weekly trend as an SVG chart."""
    page = _topic_page(web, topic_id)
    lines = [Series(c.name, c.counts[: len(page.weeks)], PALETTE[(i + 1) % len(PALETTE)])
             for i, c in enumerate(page.categories)]
    chart = weekly_chart(page.weeks, Series("all papers of the topic", page.counts,
                                            "#c7d2fe"), lines)
    return web.render(request, "topic.html", nav="map", page=page, chart=chart)


@router.get("/api/map/topics/{topic_id}", response_model=TopicPage, tags=["map"])
def topic_api(web: Web, topic_id: int) -> TopicPage:
    """A topic with its papers per week (in all and per top category) and its newest
    papers. HTML: `/map/topics/{topic_id}`."""
    return _topic_page(web, topic_id)


def rising_topics(web: WebState, limit: int = 5) -> list[RisingOut]:
    """The topics rising in the last 4 weeks against the 12 before (empty without a map)."""
    paper_map = library_map.load(web.library)
    if paper_map is None or not len(paper_map.topics):
        return []
    found = rising(paper_map.day, paper_map.topic, len(paper_map.topics), limit=limit)
    return [RisingOut(topic=_topic_out(paper_map, r.group), recent=r.recent, before=r.before,
                      share_recent=r.share_recent, share_before=r.share_before,
                      growth=r.growth, z=r.z) for r in found]


@router.get("/api/map/rising", response_model=list[RisingOut], tags=["map"])
def rising_api(web: Web, limit: Annotated[int, Query(ge=1, le=50)] = 5
                     ) -> list[RisingOut]:
    """Topics whose share of new papers grew most in the last 4 weeks against the 12
    before, among those with at least 10 recent papers and a z-test score of 1.96 or
    more. HTML: the home page."""
    return rising_topics(web, limit)


_BACKGROUNDS: dict[tuple[str, int], str] = {}


@router.get("/map/locator.svg", include_in_schema=False)
def locator(web: Web, id: Annotated[str, Query(max_length=300)] = "") -> Response:
    """A paper's place on the map, as a small SVG (for the paper page)."""
    paper_map = library_map.load(web.library)
    if paper_map is None:
        body = locator_svg("", None, note="no map yet")
    else:
        key = (str(web.library.path), paper_map.version)
        if key not in _BACKGROUNDS:
            _BACKGROUNDS.clear()  # one map version per library is enough to keep
            _BACKGROUNDS[key] = locator_background(paper_map.xy, paper_map.area(), PALETTE)
        rowid = library_map.rowid_of(web.library, id)
        at = paper_map.positions(np.asarray([rowid if rowid is not None else -1]))[0]
        point = (float(paper_map.xy[at, 0]), float(paper_map.xy[at, 1])) if at >= 0 else None
        body = locator_svg(_BACKGROUNDS[key], point,
                           note="" if point else "not on the map yet")
    return Response(body, media_type="image/svg+xml",
                    headers={"Cache-Control": "max-age=300"})
