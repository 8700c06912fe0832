"""How much one record may hold: the resource limits every reader enforces.

A hostile or broken record must cost one rejection, not the file or the process: a JSON
value nested 100,000 deep would overflow the parser's recursion, a 5,000-digit number
overflows Python's integer parsing, a 2 GB line or text field would be held in memory
whole. Each limit is checked before the expensive step, and breaking one rejects only
that record (``FILE:LINE: ...``), with the limit's name so it can be raised on purpose::

    sources.read(path, limits=Limits(line_bytes=64 << 20))

The defaults are far above any real paper record (an arXiv abstract is at most 1,920
characters; the Kaggle snapshot's longest line is about 40 KB) and far below what
would hurt a small machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_COUNT",
    "MAX_CSV_RECORD_LINES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_FIELD_CHARS",
    "MAX_LINE_BYTES",
    "Limits",
    "json_too_deep",
    "value_depth",
]

#: Bytes in one line of a line-based format (JSON Lines, CSV, plain text), or in one
#: record of the others (an XML entry, an item of a JSON document).
MAX_LINE_BYTES = 4 << 20
#: Characters in one text field (a title, an abstract, a comment...).
MAX_FIELD_CHARS = 1 << 20
#: Nesting of JSON arrays/objects, and of XML elements inside one record.
MAX_DEPTH = 64
#: Bytes of a file in a format read whole (a Daily Papers JSON document or page).
MAX_DOCUMENT_BYTES = 256 << 20
#: Physical lines one CSV record may span (a quoted field with line breaks).
MAX_CSV_RECORD_LINES = 100
#: The largest count a paper may state (upvotes, version, author count): SQLite's
#: integers are 64-bit, and no real count comes near a billion.
MAX_COUNT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """The per-record limits of one read (see the module's constants for each default)."""

    line_bytes: int = MAX_LINE_BYTES
    field_chars: int = MAX_FIELD_CHARS
    depth: int = MAX_DEPTH
    document_bytes: int = MAX_DOCUMENT_BYTES
    csv_record_lines: int = MAX_CSV_RECORD_LINES


DEFAULT_LIMITS = Limits()

# a JSON string, unrolled so that no input makes the regex backtrack
_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS_RE = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_too_deep(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays and objects deeper than ``limit``, unparsed.

    Cheap for ordinary records: text with at most ``limit`` opening brackets in all
    cannot nest deeper, so only brackets are counted; the rest is checked outside strings.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS_RE.sub("", _JSON_STRING_RE.sub("", text))
    return max(accumulate(_STEP[c] for c in brackets), default=0) > limit


def value_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests lists and dicts (iteratively: no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item if isinstance(child, list | dict))
    return deepest
