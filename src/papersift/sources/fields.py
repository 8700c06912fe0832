"""From a record with common field names (a JSON object, a CSV row) to a :class:`Paper`.

Sources name the same thing differently (``abstract``/``summary``/``text``,
``published``/``publishedAt``/``listing_date``...). A :class:`FieldMap` lists, for each
Paper field, the record keys to look for, most specific first; users put their own names
in front with ``fields={"their_name": "paper_field"}``. :func:`to_paper` converts one
record and raises :class:`BadRecord` with a reason a person can act on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

from papersift.papers import Links, Paper, clean_text, content_id, normalize_id, normalize_text

from .files import SourceError
from .limits import DEFAULT_LIMITS, MAX_COUNT, Limits

__all__ = [
    "DEFAULT_KEYS",
    "BadRecord",
    "EmptyRecord",
    "FieldMap",
    "clean_name",
    "parse_date",
    "split_authors",
    "to_paper",
]

#: Record keys read for each Paper field, most specific first.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "id": ("id", "arxiv_id", "paper_id", "_id", "doi"),
    "title": ("title",),
    "abstract": ("abstract", "summary", "text"),
    "authors": ("authors", "author"),
    "published": (
        "published",
        "publishedAt",
        "publication_date",
        "date",
        "listing_date",
        "created",
        "update_date",
    ),
    "categories": ("categories", "category"),
    "comment": ("comment", "comments"),
    "abs_url": ("abs_url", "url"),
    "pdf_url": ("pdf_url",),
    "code": ("code", "github", "githubRepo"),
    "upvotes": ("upvotes",),
    "organization": ("organization",),
    "submitter": ("submittedBy",),  # Daily Papers; arXiv's own submitter is not kept
    "version": ("version",),
    "author_count": ("author_count",),
}

_AND_RE = re.compile(r",?\s+and\s+|\s*[,;]\s*")
_COUNT_RE = re.compile(r"v?([0-9]{1,18})")
_CATEGORY_SPLIT_RE = re.compile(r"[\s,;]+")


class BadRecord(Exception):
    """One record cannot become a Paper; ``str(err)`` says what to fix."""


class EmptyRecord(BadRecord):
    """The record holds no title and no abstract."""


@dataclass(frozen=True, slots=True)
class FieldMap:
    """For each Paper field, the record keys that may hold it, in order of preference."""

    keys: Mapping[str, tuple[str, ...]]

    @classmethod
    def build(cls, fields: Mapping[str, str] | None = None, name: str = "fields") -> FieldMap:
        """Defaults, with ``fields`` (record key -> Paper field) tried first."""
        keys = {target: list(names) for target, names in DEFAULT_KEYS.items()}
        for source, target in (fields or {}).items():
            if target not in keys:
                valid = ", ".join(DEFAULT_KEYS)
                raise SourceError(
                    f"{name}: {source!r} is mapped to {target!r}, which is not a paper field; "
                    f"use one of: {valid}"
                )
            keys[target].insert(0, source)
        return cls({target: tuple(dict.fromkeys(names)) for target, names in keys.items()})

    def known(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` has a key this map reads as a title or an abstract."""
        return any(k in record for k in (*self.keys["title"], *self.keys["abstract"]))


def _pick(record: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return key, value
    return keys[0], None


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _text(key: str, value: Any, limit: int = DEFAULT_LIMITS.field_chars) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"field {key!r} should be text, got {_kind(value)}")
    if len(value) > limit:
        raise BadRecord(
            f"field {key!r} is {len(value):,} characters long, over the limit of {limit:,} "
            "(Limits.field_chars); shorten it"
        )
    return value


def count_in_range(key: str, value: int) -> int:
    """``value`` when it is a count a paper can state (0 to :data:`MAX_COUNT`)."""
    if not 0 <= value <= MAX_COUNT:
        raise BadRecord(
            f"field {key!r} is {value}, not a count from 0 to {MAX_COUNT:,}; fix or remove it"
        )
    return value


def _integer(key: str, value: Any) -> int | None:
    # negative counts are refused, not clamped: a source that states -5 upvotes is wrong,
    # and storing 0 in its place would forge a number the source never gave
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return count_in_range(key, value)
    match = _COUNT_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        raise BadRecord(f"field {key!r} should be a whole number, got {shown}")
    return count_in_range(key, int(match.group(1)))


def parse_date(key: str, value: Any) -> date | None:
    """``2024-03-01``, ``2024-03-01T10:08:59Z`` or ``Mon, 2 Apr 2007 19:18:42 GMT``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"field {key!r} should be a date string, got {_kind(value)}")
    text = value.strip()
    try:
        if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[10:11] in ("", "T", " "):
            return date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        return parsedate_to_datetime(text).date()
    except (ValueError, TypeError, IndexError, OverflowError):
        raise BadRecord(
            f"field {key!r} has an unparseable date {value!r}; write it as YYYY-MM-DD"
        ) from None


def clean_name(name: str) -> str:
    """:func:`normalize_text` for short strings, without a regex pass (names are many)."""
    collapsed = " ".join(name.split())
    if unicodedata.is_normalized("NFC", collapsed):
        return collapsed
    return normalize_text(collapsed)


def split_authors(text: str) -> tuple[str, ...]:
    """``"A, B and C"`` or ``"A; B; C"`` -> ``("A", "B", "C")``."""
    text = normalize_text(text)
    parts = text.split(";") if ";" in text else _AND_RE.split(text)
    return tuple(p for p in (part.strip() for part in parts) if p)


def _authors(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return split_authors(value)
    if isinstance(value, list):
        names = []
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str):
                raise BadRecord(
                    f"field {key!r} should list names or {{'name': ...}} objects, got {_kind(item)}"
                )
            names.append(clean_name(name))
        return tuple(n for n in names if n)
    raise BadRecord(f"field {key!r} should be a list of names or a string, got {_kind(value)}")


def _strings(key: str, value: Any, split: re.Pattern[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p for p in split.split(value.strip()) if p)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise BadRecord(f"field {key!r} should be a list of strings or a string, got {_kind(value)}")


def _display_name(key: str, value: Any) -> str | None:
    if isinstance(value, dict):  # Hugging Face: {"name": "openbmb", "fullname": "OpenBMB"}
        value = value.get("fullname") or value.get("name")
    return normalize_text(_text(key, value)) or None


def _identity(record: Mapping[str, Any], fm: FieldMap, normalize: bool) -> tuple[str, int | None]:
    key, raw = _pick(record, fm.keys["id"])
    raw_id = _text(key, raw)
    if raw_id is None:  # an arXiv abstract URL names the paper too
        url = _text("abs_url", _pick(record, fm.keys["abs_url"])[1])
        if url and normalize_id(url)[0] != url.strip():
            raw_id = url
    if raw_id is not None:  # an id of control characters alone is no id: the Paper drops them
        raw_id = clean_text(raw_id).strip()
    if not raw_id:
        return "", None
    return normalize_id(raw_id) if normalize else (raw_id, None)


def to_paper(
    record: Mapping[str, Any],
    fm: FieldMap,
    *,
    normalize_ids: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> Paper:
    """Convert one record; raise :class:`BadRecord` when it cannot be a Paper."""
    keys = fm.keys
    limit = limits.field_chars
    title = normalize_text(_text(*_pick(record, keys["title"]), limit))
    abstract = normalize_text(_text(*_pick(record, keys["abstract"]), limit))
    if not title and not abstract:
        found = ", ".join(key[:40] for key in sorted(map(str, record))[:12]) or "none"
        raise EmptyRecord(
            f"no title or abstract (fields present: {found}); name them with "
            f'fields={{"your_field": "title"}} (--field your_field=title)'
        )
    ident, version = _identity(record, fm, normalize_ids)
    code_key, code = _pick(record, keys["code"])
    split_spaces = _CATEGORY_SPLIT_RE
    paper = Paper(
        id=ident or content_id(title, abstract),
        title=title,
        abstract=abstract,
        authors=_authors(*_pick(record, keys["authors"])),
        published=parse_date(*_pick(record, keys["published"])),
        categories=_strings(*_pick(record, keys["categories"]), split_spaces),
        organization=_display_name(*_pick(record, keys["organization"])),
        submitter=_display_name(*_pick(record, keys["submitter"])),
        upvotes=_integer(*_pick(record, keys["upvotes"])) or 0,
        links=Links(
            abs=_text(*_pick(record, keys["abs_url"])),
            pdf=_text(*_pick(record, keys["pdf_url"])),
            code=_strings(code_key, code, split_spaces),
        ),
        version=_integer(*_pick(record, keys["version"])) or version,
        author_count=_integer(*_pick(record, keys["author_count"])),
        comment=normalize_text(_text(*_pick(record, keys["comment"]), limit)) or None,
    )
    return paper.with_defaults()

