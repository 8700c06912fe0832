"""Hugging Face Daily Papers as JSON, in either of two shapes.

- The API's list (``/api/daily_papers``): items holding ``paper`` {``id``, ``title``,
  ``summary``, ``authors`` [{``name``}], ``publishedAt``, ``upvotes``, ``githubRepo``...}
  beside the item's own ``title``, ``publishedAt``, ``numComments``, ``submittedBy`` and
  ``organization`` {``name``, ``fullname``}. The paper's fields win; the item's fill gaps.
  Bare paper objects (no ``paper`` key) are read as they are.
- An object keyed by arXiv id, each value holding ``url``, ``title``, ``authors``,
  ``abstract``, ``publication_date``, ``upvotes``.

Everything past the id and title is optional. The file is one JSON document, so a
rejected item is reported by its 1-based position (as its ``line``) and the reason says
"item N".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from papersift.papers import Paper, Rejected

from .fields import BadRecord, to_paper
from .files import Input, SourceError
from .options import Options

__all__ = ["read"]


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    paper = item.get("paper")
    if paper is None:
        return item
    if not isinstance(paper, dict):
        raise BadRecord(f"'paper' should be an object, got {type(paper).__name__}")
    merged = {key: value for key, value in item.items() if key != "paper"}
    merged.update((key, value) for key, value in paper.items() if value is not None)
    return merged


def _items(document: Any, name: str) -> Iterator[tuple[str | None, Any]]:
    """``(key, item)`` pairs: keys only for the object-keyed-by-id shape."""
    if isinstance(document, list):
        yield from ((None, item) for item in document)
    elif isinstance(document, dict):
        yield from document.items()
    else:
        raise SourceError(
            f"{name}: expected a JSON list of papers or an object keyed by paper id, "
            f"got a {type(document).__name__}; check that this is a Daily Papers file"
        )


def _load(inp: Input) -> Any:
    try:
        return json.loads(inp.text())
    except json.JSONDecodeError as err:
        raise SourceError(
            f"{inp.name}: malformed JSON at line {err.lineno}, column {err.colno} ({err.msg}); "
            "the file may be incomplete: download it again"
        ) from None


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per item."""
    for position, (key, item) in enumerate(_items(_load(inp), inp.name), 1):
        label = f"item {position}" + (f" ({key})" if key else "")
        try:
            if not isinstance(item, dict):
                raise BadRecord(f"expected an object, got {type(item).__name__}")
            record = _flatten(item)
            if key is not None and not any(k in record for k in options.fields.keys["id"]):
                record = {**record, "id": key}
            yield to_paper(record, options.fields)
        except BadRecord as err:
            yield Rejected(inp.name, position, f"{label}: {err}")
