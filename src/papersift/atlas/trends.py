"""Trends: papers per week per group (topic, area, category), and the rising topics.

Days are integers (days since 1970-01-01, ``-1`` for a paper without a date); weeks start
on Monday. A topic is *rising* when its share of the papers of the last ``recent`` weeks is
larger than its share of the ``before`` weeks preceding them. Two guards keep small topics
from topping the list on noise: at least ``min_count`` papers in the recent window, and a
one-sided two-proportion z-test with ``z >= min_z`` (1.96: about a 2.5% false-alarm rate per
topic when nothing changed). The survivors are ranked by how much the share grew (ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = ["Rising", "Weekly", "day_number", "rising", "weekly_counts"]

_EPOCH = date(1970, 1, 1)


def day_number(day: date | None) -> int:
    """Days since 1970-01-01 (``-1`` for no date)."""
    return -1 if day is None else (day - _EPOCH).days


def _week(days: np.ndarray) -> np.ndarray:
    """Monday-based week numbers (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype=np.int64) + 3) // 7


@dataclass(frozen=True)
class Weekly:
    """Counts per week: ``counts[g, w]`` papers of group ``g`` in the week starting ``weeks[w]``."""

    weeks: list[date]
    counts: np.ndarray

    def series(self, group: int) -> list[int]:
        return [int(c) for c in self.counts[group]]


def weekly_counts(days: np.ndarray, groups: np.ndarray, n_groups: int) -> Weekly:
    """Papers per week for each group, over every week from the first to the last dated one
    (empty weeks included, so a chart's x axis is time)."""
    days = np.asarray(days, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    dated = (days >= 0) & (groups >= 0)
    if not dated.any():
        return Weekly([], np.zeros((n_groups, 0), np.int64))
    week = _week(days[dated])
    first, last = int(week.min()), int(week.max())
    counts = np.zeros((n_groups, last - first + 1), np.int64)
    np.add.at(counts, (groups[dated], week - first), 1)
    weeks = [_EPOCH + timedelta(days=w * 7 - 3) for w in range(first, last + 1)]
    return Weekly(weeks, counts)


@dataclass(frozen=True)
class Rising:
    """A topic whose share of new papers grew."""

    group: int
    recent: int  # papers in the recent window
    before: int  # papers in the window before it
    share_recent: float
    share_before: float
    z: float

    @property
    def growth(self) -> float:
        """Share now over share before (the before share smoothed by half a paper)."""
        return self.share_recent / max(self.share_before, 1e-12)


def rising(days: np.ndarray, groups: np.ndarray, n_groups: int, *, recent: int = 4,
           before: int = 12, min_count: int = 10, min_z: float = 1.96,
           limit: int = 5, today: int | None = None) -> list[Rising]:
    """The groups whose share grew most in the last ``recent`` weeks against the ``before``
    weeks preceding them, among those passing the guards (see the module docstring).

    ``today`` (a day number) ends the recent window; default: the newest dated paper.
    """
    days = np.asarray(days, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    dated = (days >= 0) & (groups >= 0)
    if not dated.any():
        return []
    end = int(days[dated].max()) if today is None else today
    split, start = end - 7 * recent, end - 7 * (recent + before)
    now = dated & (days > split) & (days <= end)
    then = dated & (days > start) & (days <= split)
    n_now, n_then = int(now.sum()), int(then.sum())
    if n_now == 0 or n_then == 0:
        return []
    c_now = np.bincount(groups[now], minlength=n_groups)
    c_then = np.bincount(groups[then], minlength=n_groups)
    found = []
    for g in range(n_groups):
        z = _two_proportion_z(int(c_now[g]), n_now, int(c_then[g]), n_then)
        if c_now[g] >= min_count and z >= min_z:
            found.append(Rising(g, int(c_now[g]), int(c_then[g]), c_now[g] / n_now,
                                (c_then[g] + 0.5) / n_then, z))
    found.sort(key=lambda r: (-r.growth, -r.z))
    return found[:limit]


def _two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float:
    """z statistic for ``x1/n1 > x2/n2`` with the pooled proportion (0 when undefined)."""
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / spread if spread > 0 else 0.0
