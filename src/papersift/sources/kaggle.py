"""The Kaggle arXiv metadata snapshot (``arxiv-metadata-oai-snapshot.json``, JSON Lines).

Fields: ``id``, ``submitter``, ``authors`` (a string), ``title``, ``comments``,
``journal-ref``, ``doi``, ``categories`` (space separated), ``abstract``, ``versions``
(``[{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}, ...]``), ``update_date``
and ``authors_parsed`` (``[["Last", "First", "Suffix"], ...]``).

A paper is published when its first version was created; its version is the latest one;
its authors come from ``authors_parsed`` as "First Last".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from papersift.papers import Paper, Rejected

from .fields import BadRecord, FieldMap, to_paper
from .files import Input
from .jsonl import read_records
from .options import Options

__all__ = ["read"]

_VERSION_RE = re.compile(r"[0-9]{1,9}")


def _versions(versions: Any) -> tuple[str | None, int | None]:
    """The first version's creation date and the latest version number."""
    if versions is None:
        return None, None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise BadRecord('field "versions" should be a list of {"version", "created"} objects')
    labels = [str(v.get("version", "")).lstrip("v") for v in versions]
    if not all(_VERSION_RE.fullmatch(label) for label in labels):
        shown = ", ".join(label[:20] for label in labels[:5])
        raise BadRecord(f'field "versions" has a version that is not v<number>: {shown}')
    if not versions:
        return None, None
    numbers = [int(label) for label in labels]
    first = versions[numbers.index(min(numbers))]
    return first.get("created"), max(numbers)


def _authors(parsed: Any) -> list[str] | None:
    if parsed is None:
        return None
    if not isinstance(parsed, list) or not all(isinstance(p, list) for p in parsed):
        raise BadRecord('field "authors_parsed" should be a list of [last, first, suffix] lists')
    names = []
    for parts in parsed:
        last, first, suffix = ([*map(str, parts), "", "", ""])[:3]
        names.append(" ".join(p for p in (first, last, suffix) if p))
    return names


def _prepare(record: dict[str, Any]) -> dict[str, Any]:
    created, version = _versions(record.get("versions"))
    authors = _authors(record.get("authors_parsed"))
    prepared = dict(record)
    if created is not None:
        prepared["published"] = created
    if version is not None:
        prepared["version"] = version
    if authors:
        prepared["authors"] = authors
    return prepared


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """Papers from the Kaggle arXiv snapshot."""
    fields: FieldMap = options.fields
    limits = options.limits
    return read_records(
        inp, options, lambda record: to_paper(_prepare(record), fields, limits=limits)
    )
