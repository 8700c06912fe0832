"""Shared fixtures: real data from ../shared, fresh libraries in temporary folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.mailbox import Mailbox

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PAPERSIFT_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
SEEDS = SHARED / "seeds"


def require(path: Path) -> Path:
    """Return ``path``, or skip the test when it is absent (fail instead under CI)."""
    if path.exists():
        return path
    reason = f"{path} is missing: put the shared data folder beside the checkout"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have the shared data: {reason}")
    pytest.skip(reason)


def seed(prefix: str) -> Path:
    """A seed file by its number prefix, e.g. ``seed('000')``."""
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.exists() else []
    return require(matches[0] if matches else SEEDS / f"{prefix}_missing.txt")


@pytest.fixture(scope="session")
def arxiv_sample() -> Path:
    return require(DATA / "arxiv-75k.jsonl.gz")


@pytest.fixture(scope="session")
def scifact() -> Path:
    return require(DATA / "scifact")


@pytest.fixture(scope="session")
def daily_papers_json() -> Path:
    return require(DATA / "hf-daily-papers" / "papers.json")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) for the whole session."""
    from tests.mailbox import Mailbox

    with Mailbox() as box:
        yield box


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The session's SMTP server, emptied for this test."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL with pgvector: its maintenance URL (see tests/postgres_fixtures)."""
    from tests.postgres_fixtures import server

    yield from server()
