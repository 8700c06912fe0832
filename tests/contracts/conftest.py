"""Backends for the contract suites: every implementation of the three protocols.

A second backend joins by adding a factory to ``BACKENDS``; the suites run unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from papersift.backends import Backend
from papersift.backends import open as open_backend
from papersift.papers import Paper
from papersift.settings import Settings

Factory = Callable[[Path, Settings], Backend]


def embedded(root: Path, settings: Settings) -> Backend:
    return open_backend(root / "library", settings=settings)


#: The running test server's URL (set by the ``postgres_server`` fixture when needed).
_POSTGRES: list[str] = []


def postgresql(root: Path, settings: Settings) -> Backend:
    """A database of its own per test (its URL kept beside the test's files)."""
    from tests.postgres_fixtures import new_database

    marker = root / "postgres-library.url"
    if not marker.exists():
        marker.write_text(new_database(_POSTGRES[-1]))
    return open_backend(marker.read_text(), settings=settings)


BACKENDS: dict[str, Factory] = {"embedded": embedded, "postgresql": postgresql}


@pytest.fixture(params=sorted(BACKENDS))
def backend_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[
        Callable[..., Backend]]:
    """Opens the backend under test at one location (call it again for a second process's
    view of the same library)."""
    if request.param == "postgresql":
        _POSTGRES.append(request.getfixturevalue("postgres_server"))
    opened: list[Backend] = []

    def make(**settings: object) -> Backend:
        backend = BACKENDS[request.param](tmp_path, Settings().replace(**settings))
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
    marker = tmp_path / "postgres-library.url"
    if marker.exists():
        from tests.postgres_fixtures import drop_database

        drop_database(_POSTGRES[-1], marker.read_text())


@pytest.fixture
def backend(backend_factory: Callable[..., Backend]) -> Backend:
    return backend_factory()


NAMES = ["Li Wei", "Wei Li", "Lin Wang", "José Müller-Lüdenscheidt", "Jose Muller",
         "Anna Karenina", "O'Brien, Patrick", "李伟", "Zhang Li Ming", "Wang Lin"]
CATEGORIES = ["cs.CL", "cs.CV", "cs.IR", "cs.LG", "stat.ML", "q-bio.NC"]
WORDS = ["matryoshka", "nested", "embedding", "retrieval", "transformer", "diffusion",
         "graph", "protein", "galaxy", "reinforcement", "quantization", "sparse", "dense",
         "ranking", "language", "vision"]


def sample_papers(n: int = 120, seed: int = 7) -> list[Paper]:
    """Varied papers: tricky author names, several categories, some undated."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    papers = []
    for i in range(n):
        words = rng.sample(WORDS, 6)
        papers.append(Paper(
            id=f"2501.{i:05d}",
            title=f"{words[0].title()} {words[1]} for {words[2]} {i}",
            abstract=("nested embedding " if i % 5 == 0 else "")
            + " ".join(rng.choice(WORDS) for _ in range(40)) + f" unique{i}",
            authors=tuple(rng.sample(NAMES, rng.randint(1, 3))),
            published=None if i % 17 == 0 else start + timedelta(days=i % 30),
            categories=tuple(rng.sample(CATEGORIES, rng.randint(1, 2))),
            upvotes=rng.choice([0, 0, 0, 1, 5, 20]),
        ))
    return papers
