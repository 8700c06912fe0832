"""Hugging Face Daily Papers: ``/api/daily_papers`` as a JSON list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

from .loopback import Answer


@dataclass
class DailyItem:
    """One Daily Papers entry: the paper, and what the listing adds to it."""

    id: str
    title: str
    summary: str
    authors: tuple[str, ...]
    published: str  # the paper's publishedAt
    day: date  # the listing day
    upvotes: int = 0
    comments: int = 0
    submitter: str | None = None
    organization: str | None = None
    github: str | None = None

    def json(self) -> dict[str, object]:
        paper: dict[str, object] = {
            "id": self.id, "title": self.title, "summary": self.summary,
            "authors": [{"_id": f"a{i}", "name": n, "hidden": False}
                        for i, n in enumerate(self.authors)],
            "publishedAt": self.published, "upvotes": self.upvotes,
        }
        if self.github:
            paper["githubRepo"] = self.github
        item: dict[str, object] = {
            "paper": paper, "title": self.title, "numComments": self.comments,
            "publishedAt": f"{self.day.isoformat()}T06:00:00.000Z",
        }
        if self.submitter:
            item["submittedBy"] = {"_id": "u1", "fullname": self.submitter,
                                   "name": self.submitter.lower().replace(" ", ""),
                                   "type": "user"}
        if self.organization:
            item["organization"] = {"_id": "o1", "name": self.organization.lower(),
                                    "fullname": self.organization}
        return item


def daily_items(path: Path, n: int | None = None) -> list[DailyItem]:
    """Entries from a keyed Daily Papers dump; submitters, organizations and code links are
    given to some of them, deterministically by id."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for key, row in islice(rows.items(), n):
        digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        items.append(DailyItem(
            id=key, title=row["title"], summary=row["abstract"], authors=tuple(row["authors"]),
            published=row["publication_date"], day=date.fromisoformat(row["publication_date"][:10]),
            upvotes=int(row.get("upvotes") or 0), comments=digest % 5,
            submitter=("AK", "Niels", "Merve", None)[digest % 4],
            organization=("Meta", "Google", None)[digest % 3],
            github=f"https://github.com/lab{digest % 97}/{key}" if digest % 2 else None,
        ))
    return items


@dataclass
class DailyPapersApi:
    """``/api/daily_papers?date=&limit=&p=`` over :class:`DailyItem`."""

    items: dict[str, DailyItem]
    max_limit: int = 100

    @classmethod
    def of(cls, items: Iterable[DailyItem]) -> DailyPapersApi:
        return cls({i.id: i for i in items})

    def __call__(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path != "/api/daily_papers":
            return self._json(404, {"error": "Sorry, we can't find the page you are looking for."})
        args = {k: v[0] for k, v in query.items()}
        try:
            day = date.fromisoformat(args["date"]) if "date" in args else max(
                i.day for i in self.items.values())
            limit = int(args.get("limit", "50"))
            page = int(args.get("p", "0"))
        except ValueError as err:
            return self._json(400, {"error": f"Invalid query parameter: {err}"})
        if not 1 <= limit <= self.max_limit or page < 0:
            return self._json(400, {"error": f"limit must be in 1..{self.max_limit}"})
        listed = sorted((i for i in self.items.values() if i.day == day),
                        key=lambda i: (-i.upvotes, i.id))
        chosen = listed[page * limit : (page + 1) * limit]
        return self._json(200, [i.json() for i in chosen])

    @staticmethod
    def _json(status: int, value: object) -> Answer:
        return Answer(status, json.dumps(value).encode(), "application/json; charset=utf-8")
