"""Pick a format from a file's first bytes (its name only breaks ties).

In order:

1. Empty, binary (mostly control characters such as NUL) or not UTF-8 from its first
   line: a :class:`SourceError`. (A NUL or a bad byte further on is the reader's to report,
   at its line, after the records before it.)
2. ``<``: XML, by its root element: ``<feed>`` is ``atom``, ``<OAI-PMH>`` is ``oai-pmh``.
3. ``[``: a JSON list, ``daily-json``.
4. ``{``: the first line that parses as a JSON object decides: ``authors_parsed`` or
   ``versions`` + ``submitter`` is ``kaggle``; ``_id`` + ``title`` + ``text`` is ``beir``;
   an object whose values are all objects is the keyed ``daily-json``; anything else is
   ``jsonl``. When no line parses on its own, the file is one pretty-printed JSON
   document: ``daily-json``.
5. Text: a ``·`` line followed by a date like "Nov 7, 2023" marks a ``daily-page``; a
   first line splitting into columns one of which is a title or abstract (or a ``.csv`` /
   ``.tsv`` name) is ``csv``; lines of prose are ``text``.
"""

from __future__ import annotations

import csv
import json
import re
import zlib
from typing import Any

from .csvfile import delimiter_of
from .daily_page import DATE_RE, SEPARATOR
from .fields import DEFAULT_KEYS
from .files import SourceError
from .limits import MAX_DEPTH, json_too_deep

__all__ = ["FORMATS", "sniff"]

FORMATS: tuple[str, ...] = (
    "text",
    "daily-page",
    "jsonl",
    "kaggle",
    "atom",
    "oai-pmh",
    "daily-json",
    "beir",
    "csv",
)
_GZIP_MAGIC = b"\x1f\x8b"
_ROOT_RE = re.compile(r"<(?![?!])([^\s/>]+)")
_TEXT_COLUMNS = {k.casefold() for k in (*DEFAULT_KEYS["title"], *DEFAULT_KEYS["abstract"])}
_MIN_PROSE_WORDS = 3
# control characters that no text format holds much of (tab, line breaks and form feed
# are text); more than one character in _BINARY_SHARE of them is binary
_CONTROLS = tuple(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f")
_BINARY_SAMPLE = 4096
_BINARY_SHARE = 10


def unknown(label: str, why: str) -> SourceError:
    """The error for content that is none of :data:`FORMATS`."""
    return SourceError(
        f"{label}: unknown format ({why}); the formats are {', '.join(FORMATS)}: "
        "pass one with --format NAME (fmt=NAME)"
    )


def _decode(head: bytes, label: str) -> str:
    """The head as text; when it holds a byte that is not UTF-8, the complete lines before
    it (the reader reads them, then reports the byte), or an error if there are none."""
    if head[:2] == _GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=31).decompress(head)
        except zlib.error as err:
            raise SourceError(f"{label}: corrupt gzip data ({err}); download it again") from None
    head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 3 and err.reason == "unexpected end of data":
            return head[: err.start].decode("utf-8")  # a character cut by the head's end
        line = head.count(b"\n", 0, err.start) + 1
        error = SourceError(
            f"{label}:{line}: not UTF-8 text: byte 0x{head[err.start]:02x} at line {line} (byte "
            f"offset {err.start}); convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        )
        before = head[: head.rfind(b"\n", 0, err.start) + 1].decode("utf-8")
        if before.strip():
            raise _CutShort(before, error) from None
        raise error from None


class _CutShort(Exception):
    """The head holds a byte that is not UTF-8 after some complete lines."""

    def __init__(self, text: str, error: SourceError) -> None:
        super().__init__(str(error))
        self.text = text
        self.error = error


def _binary(text: str) -> bool:
    """Mostly control characters: binary data (or UTF-16), not a stray NUL in a record."""
    sample = text[:_BINARY_SAMPLE]
    controls = sum(sample.count(c) for c in _CONTROLS)
    return controls * _BINARY_SHARE > len(sample)


def _xml(text: str, label: str) -> str:
    match = _ROOT_RE.search(text)
    root = match.group(1).rsplit(":", 1)[-1] if match else ""
    if root == "feed":
        return "atom"
    if root == "OAI-PMH":
        return "oai-pmh"
    if root.lower() == "html" or text[:15].lower() == "<!doctype html>":
        raise unknown(label, "an HTML page; save the page's text instead for daily-page")
    raise unknown(label, f"XML with root <{root}>, not an Atom feed or an OAI-PMH response")


def _json_kind(record: dict[str, Any], label: str) -> str:
    if "authors_parsed" in record or {"versions", "submitter"} <= record.keys():
        return "kaggle"
    if {"_id", "text"} <= record.keys():
        if "title" in record:
            return "beir"
        raise unknown(label, "BEIR queries (no title field), not a corpus; read corpus.jsonl")
    if record and all(isinstance(v, dict) for v in record.values()):
        return "daily-json"
    return "jsonl"


def _json(text: str, label: str) -> str:
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    for line in lines[:5]:
        if json_too_deep(line, MAX_DEPTH):
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return _json_kind(value, label)
    return "daily-json"


def _is_csv(first: str, name: str) -> bool:
    columns = next(csv.reader([first], delimiter=delimiter_of(first)), [])
    if len(columns) < 2:
        return False
    if name.lower().removesuffix(".gz").endswith((".csv", ".tsv")):
        return True
    return any(c.strip().casefold() in _TEXT_COLUMNS for c in columns)


def _plain(text: str, label: str, name: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line == SEPARATOR and DATE_RE.match(lines[i + 1]):
            return "daily-page"
    first = next(line for line in lines if line)
    if _is_csv(first, name):
        return "csv"
    if len(first.split()) >= _MIN_PROSE_WORDS:
        return "text"
    raise unknown(label, f"the first line {first[:40]!r} is not prose, JSON, XML or a CSV header")


def sniff(head: bytes | str, name: str = "") -> str:
    """The name (one of :data:`FORMATS`) of the format that ``head`` starts.

    ``head`` is the start of a file (gzip-compressed or not); ``name`` is its file name,
    used in error messages and to recognise ``.csv``. Raises :class:`SourceError` when the
    content is empty, binary, not UTF-8, or none of the formats.

    >>> sniff('{"id": "2403.01234", "title": "T", "abstract": "A"}')
    'jsonl'
    """
    label = name or "input"
    if isinstance(head, str):
        return _sniff_text(head.removeprefix("\ufeff"), label, name)
    try:
        return _sniff_text(_decode(head, label), label, name)
    except _CutShort as cut:
        # sniff the lines before the bad byte: the reader reads them, then reports it;
        # when they say nothing, the bad byte is the better thing to report
        try:
            return _sniff_text(cut.text, label, name)
        except SourceError:
            raise cut.error from None


def _sniff_text(text: str, label: str, name: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(f"{label}: the input is empty; there is nothing to read")
    if _binary(stripped):
        raise unknown(label, "binary data, or text that is not UTF-8 such as UTF-16")
    if stripped[0] == "<":
        return _xml(stripped, label)
    if stripped[0] == "[":
        return "daily-json"
    if stripped[0] == "{":
        return _json(stripped, label)
    return _plain(stripped, label, name)
