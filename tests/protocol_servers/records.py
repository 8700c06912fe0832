"""arXiv papers as a repository holds them: versions with dates, sets, deletions."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """One arXiv paper as the repository holds it."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    versions: tuple[datetime, ...]  # the date of v1, v2, ...
    comment: str | None = None
    submitter: str = "A. Submitter"
    deleted_on: date | None = None

    @property
    def datestamp(self) -> date:
        """When the record last changed (a new version, or its deletion)."""
        return self.deleted_on or self.versions[-1].date()

    @property
    def sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(set_of(c) for c in self.categories))

    def revised(self, when: datetime, abstract: str | None = None) -> Record:
        """A new version (with a new abstract) on ``when``."""
        return replace(self, versions=(*self.versions, when), abstract=abstract or self.abstract)


_PHYSICS = ("astro-ph", "cond-mat", "gr-qc", "hep-", "math-ph", "nlin", "nucl-", "physics",
            "quant-ph")


def set_of(category: str) -> str:
    """arXiv's OAI set for a category: ``cs.CL`` -> ``cs``, ``hep-th`` -> ``physics:hep-th``."""
    archive = category.split(".", 1)[0]
    if archive.startswith(_PHYSICS):
        return f"physics:{archive}"
    return archive


def records_from_jsonl(path: Path, n: int) -> list[Record]:
    """The first ``n`` papers of an arXiv listing dump as repository records: some have a
    second or third version a few days after the first (deterministic per id)."""
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in islice(lines, n):
            row = json.loads(line)
            first = datetime.fromisoformat(row["listing_date"]).replace(tzinfo=UTC)
            digest = int(hashlib.sha256(row["id"].encode()).hexdigest()[:8], 16)
            first -= timedelta(hours=20, minutes=digest % 600)
            versions = [first]
            for extra in range(digest % 7 // 3):  # 0, 1 or 2 later versions
                versions.append(first + timedelta(days=2 + 3 * extra, hours=digest % 11))
            records.append(Record(
                id=row["id"], title=row["title"], abstract=row["abstract"],
                authors=tuple(row["authors"]), categories=tuple(row["categories"]),
                versions=tuple(versions), comment=row.get("comment"),
                submitter=row["authors"][0] if row["authors"] else "Anonymous",
            ))
    return records
