"""Server-rendered SVG: weekly trend charts and the small map locator of a paper page.

Every piece of text placed in the SVG (series names, dates) goes through ``escape``; the
numbers are formatted by us. The SVG is returned as :class:`~markupsafe.Markup` for inline
use, or as a string for an ``image/svg+xml`` response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from markupsafe import Markup, escape

__all__ = ["Series", "locator_svg", "weekly_chart"]


@dataclass(frozen=True)
class Series:
    """One line (or the bars) of a weekly chart."""

    name: str
    counts: Sequence[int]
    colour: str


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value``."""
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if value <= step * 4:
            return max(step, -(-value // step) * step)
    return value


def weekly_chart(weeks: Sequence[date], bars: Series, lines: Sequence[Series] = (), *,
                 width: int = 720, height: int = 220) -> Markup:
    """Bars for the total per week, lines for parts of it (e.g. its top categories)."""
    left, right, top, bottom = 40, 10, 10, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(weeks), 1)
    peak = _nice_max(max([1, *bars.counts]))
    step = plot_w / n

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
             f'{height}" role="img" aria-label="{escape(bars.name)}: papers per week">']
    for tick in (0, peak // 2, peak):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#e5e7eb"/><text x="{left - 6}" '
                     f'y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#6b7280">{tick}</text>')
    for i, count in enumerate(bars.counts):
        parts.append(f'<rect x="{left + i * step + 0.5:.1f}" y="{y(count):.1f}" '
                     f'width="{max(step - 1, 0.5):.1f}" height="{plot_h * count / peak:.1f}" '
                     f'fill="{escape(bars.colour)}"><title>{escape(str(weeks[i]))}: '
                     f'{count}</title></rect>')
    for series in lines:
        points = " ".join(f"{left + (i + 0.5) * step:.1f},{y(c):.1f}"
                          for i, c in enumerate(series.counts))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{escape(series.colour)}"'
                     f' stroke-width="1.6"><title>{escape(series.name)}</title></polyline>')
    every = max(1, n // 6)
    for i in range(0, len(weeks), every):
        parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle" font-size="11" fill="#6b7280">'
                     f'{escape(f"{weeks[i]:%b %d %Y}")}</text>')
    legend_x = left
    for series in [bars, *lines]:
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{escape(series.colour)}"/><text x="{legend_x + 14}" '
                     f'y="{height - 5}" font-size="11" fill="#374151">{escape(series.name)}'
                     f'</text>')
        legend_x += 24 + 7 * len(series.name)
    parts.append("</svg>")
    return Markup("".join(parts))  # every text piece above was escaped


def locator_background(xy: np.ndarray, colour_of_point: np.ndarray, palette: Sequence[str],
                       *, cells: int = 36) -> str:
    """The map as a coarse grid: each cell in its most common colour, shaded by density.

    Cells of one colour and shade are one ``<path>``, so the whole map is a few kB.
    """
    if len(xy) == 0:
        return ""
    grid = np.clip((xy * cells).astype(np.int64), 0, cells - 1)
    cell = grid[:, 1] * cells + grid[:, 0]
    counts = np.zeros((cells * cells, len(palette)), np.int64)
    np.add.at(counts, (cell, colour_of_point % len(palette)), 1)
    total = counts.sum(axis=1)
    shade = np.digitize(np.log1p(total), np.quantile(np.log1p(total[total > 0]), [0.33, 0.66]))
    paths: dict[tuple[int, int], list[str]] = {}
    for c in np.flatnonzero(total):
        col, row = int(c % cells), int(c // cells)
        key = (int(np.argmax(counts[c])), int(shade[c]))
        paths.setdefault(key, []).append(f"M{col} {cells - 1 - row}h1v1h-1z")
    opacity = (0.35, 0.6, 0.9)
    return "".join(f'<path d="{"".join(d)}" fill="{palette[k[0]]}" '
                   f'fill-opacity="{opacity[k[1]]}"/>' for k, d in sorted(paths.items()))


def locator_svg(background: str, point: tuple[float, float] | None, *, cells: int = 36,
                note: str = "") -> str:
    """A small square map with the paper's position marked (or a note when it has none)."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {cells} {cells}" '
             f'width="180" height="180"><rect width="{cells}" height="{cells}" fill="#f9fafb"/>',
             background]
    if point is not None:
        x, y = point[0] * cells, (1 - point[1]) * cells
        parts.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="1.6" fill="#dc2626" '
                     'stroke="#fff" stroke-width="0.5"/>')
    if note:
        parts.append(f'<text x="{cells / 2}" y="{cells / 2}" text-anchor="middle" '
                     f'font-size="2.2" fill="#374151">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)
