"""Libraries for the community tests: real arXiv listing days, and papers made to match a
saved search (a word no real paper has), on the days a test chooses."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from papersift.library import Library
from papersift.mail import MailSettings
from papersift.papers import Paper
from tests.web_fixtures import arxiv_papers

#: The first listing days of the 75k sample (with 328, 172, 211, 203 and 223 papers).
DAYS = [date(2025, 3, 18), date(2025, 3, 19), date(2025, 3, 20), date(2025, 3, 21),
        date(2025, 3, 24)]
WORD = "zyxquantum"
BASE = "https://papers.example.org"

_PAPERS: dict[str, list[Paper]] = {}


def sample_days(arxiv: Path) -> dict[date, list[Paper]]:
    """The real papers of :data:`DAYS`, by day."""
    key = str(arxiv)
    if key not in _PAPERS:
        _PAPERS[key] = arxiv_papers(arxiv, 1200)
    by_day: dict[date, list[Paper]] = {d: [] for d in DAYS}
    for paper in _PAPERS[key]:
        if paper.published in by_day:
            by_day[paper.published].append(paper)
    return by_day


def matching(day: date, n: int, start: int = 0) -> list[Paper]:
    """``n`` papers of a day whose abstracts hold :data:`WORD`."""
    return [Paper(id=f"9999.{day:%m%d}{start + i}", title=f"Made-up study {start + i} of {day}",
                  abstract=f"We study the {WORD} effect in lattices, case {start + i}.",
                  authors=("Test Author",), published=day, categories=("cs.LG",)
                  ).with_defaults() for i in range(n)]


_BUILT: dict[str, Path] = {}


def community_library(cache: Path, target: Path, arxiv: Path, *,
                      mail: MailSettings | None = None, days: int = 3) -> Library:
    """A copy of a library holding the first ``days`` of :data:`DAYS` (built once)."""
    key = f"{arxiv}:{days}"
    if key not in _BUILT:
        built = Library(cache / f"community-{days}")
        by_day = sample_days(arxiv)
        built.add([p for d in DAYS[:days] for p in by_day[d]])
        built.close()
        _BUILT[key] = cache / f"community-{days}"
    shutil.copytree(_BUILT[key], target)
    return Library(target, mail=mail or MailSettings())
