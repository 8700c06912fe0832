"""A publication-quality picture of a map (``papersift map --png FILE``), with matplotlib.

Points are coloured by area; area labels (bold) and the labels of the largest topics are
placed greedily, largest first: each tries a few positions around its anchor and is drawn
at the first whose box overlaps no label already placed, or dropped. So no two labels ever
overlap; :func:`render` returns the boxes it kept so that a test can check just that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papersift.atlas import EXTRA_HINT
from papersift.atlas.store import PaperMap

__all__ = ["PALETTE", "Picture", "render"]

#: Area colours (colour-blind-safe Tableau 10, then 10 lighter tones); the web map uses it too.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#8cd17d", "#86bcb6", "#f1ce63", "#a0cbe8", "#ffbe7d", "#d4a6c8",
    "#fabfd2", "#d7b5a6", "#79706e", "#499894",
)
#: Offsets (in label heights) tried around an anchor, in order.
_OFFSETS = ((0, 0), (0, 1.2), (0, -1.2), (0.6, 0.6), (-0.6, 0.6), (0.6, -0.6), (-0.6, -0.6),
            (0, 2.4), (0, -2.4))


@dataclass(frozen=True)
class Picture:
    """What :func:`render` drew: the label boxes kept (pixels) and how many were dropped."""

    path: Path
    boxes: list[tuple[float, float, float, float]]
    labels: list[str]
    dropped: int


def _overlaps(box: tuple[float, float, float, float],
              boxes: list[tuple[float, float, float, float]]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in boxes)


def _place_label(ax: Any, renderer: Any, text: str, x: float, y: float, style: dict[str, Any],
                 boxes: list[tuple[float, float, float, float]], pad: float) -> bool:
    """Draw ``text`` near ``(x, y)`` where it overlaps no box in ``boxes``; False if nowhere."""
    artist = ax.text(x, y, text, ha="center", va="center", **style)
    to_pixels = ax.transData.transform
    figure_box = ax.get_window_extent(renderer)
    for dx, dy in _OFFSETS:
        extent = artist.get_window_extent(renderer)
        height = extent.height
        px, py = to_pixels((x, y))
        artist.set_position(ax.transData.inverted().transform((px + dx * height * 2,
                                                               py + dy * height)))
        extent = artist.get_window_extent(renderer)
        box = (extent.x0 - pad, extent.y0 - pad, extent.x1 + pad, extent.y1 + pad)
        inside = (extent.x0 >= figure_box.x0 and extent.x1 <= figure_box.x1
                  and extent.y0 >= figure_box.y0 and extent.y1 <= figure_box.y1)
        if inside and not _overlaps(box, boxes):
            boxes.append(box)
            return True
    artist.remove()
    return False


def render(paper_map: PaperMap, path: str | os.PathLike[str], *, topics: int = 40,
           size: float = 10.0, dpi: int = 200, title: str | None = None) -> Picture:
    """Write the map as a PNG (or any format matplotlib knows by the file's suffix).

    ``topics``: how many of the largest topics get a label (besides every area).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import patheffects
    except ImportError as error:
        raise ImportError(f"the map picture needs matplotlib: {EXTRA_HINT}") from error
    out = Path(path)
    fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    area = paper_map.area()
    colours = np.asarray([PALETTE[a % len(PALETTE)] for a in range(max(len(paper_map.areas), 1))])
    point = max(0.6, min(8.0, 40_000.0 / max(len(paper_map), 1)))
    ax.scatter(paper_map.xy[:, 0], paper_map.xy[:, 1], s=point, c=colours[area] if len(area)
               else [], linewidths=0, alpha=0.6, rasterized=True)
    if title:
        ax.set_title(title, fontsize=13)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    boxes: list[tuple[float, float, float, float]] = []
    kept: list[str] = []
    dropped = 0
    for a in sorted(paper_map.areas, key=lambda a: -a.size):
        style = {"fontsize": 11, "fontweight": "bold", "color": colours[a.id % len(colours)],
                 "path_effects": halo}
        ok = a.size > 0 and _place_label(ax, renderer, a.label.upper(), a.x, a.y, style,
                                         boxes, pad=4)
        kept += [a.label.upper()] if ok else []
        dropped += 0 if ok else 1
    for t in sorted(paper_map.topics, key=lambda t: -t.size)[:topics]:
        style = {"fontsize": 7.5, "color": "#1f2937", "path_effects": halo}
        ok = t.size > 0 and _place_label(ax, renderer, t.label, t.x, t.y, style, boxes, pad=2)
        kept += [t.label] if ok else []
        dropped += 0 if ok else 1
    fig.savefig(out, dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return Picture(out, boxes, kept, dropped)
