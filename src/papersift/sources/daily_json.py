"""Hugging Face Daily Papers as JSON, in either of two shapes.

- The API's list (``/api/daily_papers``): items holding ``paper`` {``id``, ``title``,
  ``summary``, ``authors`` [{``name``}], ``publishedAt``, ``upvotes``, ``githubRepo``...}
  beside the item's own ``title``, ``publishedAt``, ``numComments``, ``submittedBy`` and
  ``organization`` {``name``, ``fullname``}. The paper's fields win; the item's fill gaps.
  Bare paper objects (no ``paper`` key) are read as they are.
- An object keyed by arXiv id, each value holding ``url``, ``title``, ``authors``,
  ``abstract``, ``publication_date``, ``upvotes``.

Everything past the id and title is optional. The file is one JSON document, read whole
and walked item by item: a rejected item is reported at the line it starts on, and the
reason says "item N". An item nested too deeply or too large is rejected alone; a file
cut short keeps every complete item before the cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from papersift.papers import Paper, Rejected

from .fields import BadRecord, EmptyRecord, to_paper
from .files import Input, SourceError
from .limits import Limits, value_depth
from .options import Options

__all__ = ["read"]

_WS_RE = re.compile(r"[ \t\n\r]*")


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    paper = item.get("paper")
    if paper is None:
        return item
    if not isinstance(paper, dict):
        raise BadRecord(f"'paper' should be an object, got {type(paper).__name__}")
    merged = {key: value for key, value in item.items() if key != "paper"}
    merged.update((key, value) for key, value in paper.items() if value is not None)
    return merged


def _skip_ws(text: str, pos: int) -> int:
    return _WS_RE.match(text, pos).end()  # type: ignore[union-attr]


class _Document:
    """Walks one JSON list or object item by item, so that an item too deep, too large or
    malformed costs that item, and a file cut short keeps every item before the cut."""

    def __init__(self, inp: Input, text: str, limits: Limits) -> None:
        self.name = inp.name
        self.text = text
        self.limits = limits
        self.pos = _skip_ws(text, 0)
        self.decoder = json.JSONDecoder()
        self._counted = (0, 1)  # (position, its line): lines are counted on, not again

    def line(self, pos: int) -> int:
        """The 1-based line of ``pos``; positions mostly come in increasing order."""
        start, line = self._counted
        if pos < start:
            start, line = 0, 1
        line += self.text.count("\n", start, pos)
        self._counted = (pos, line)
        return line

    def malformed(self, pos: int, what: str) -> SourceError:
        line = self.line(pos)
        column = pos - self.text.rfind("\n", 0, pos)
        return SourceError(
            f"{self.name}:{line}: malformed JSON at line {line}, column {column} ({what}); "
            "the file may be incomplete: download it again"
        )

    def items(self) -> Iterator[tuple[int, str | None, Any]]:
        """``(line, key, item or BadRecord)``: keys only for the object keyed by id."""
        text = self.text
        opener = text[self.pos : self.pos + 1]
        if opener not in ("[", "{"):
            kind = "nothing" if not opener else "a JSON " + ("string" if opener == '"' else
                                                             "number or literal")
            raise SourceError(
                f"{self.name}: expected a JSON list of papers or an object keyed by paper id, "
                f"got {kind}; check that this is a Daily Papers file"
            )
        closer = "]" if opener == "[" else "}"
        pos = _skip_ws(text, self.pos + 1)
        if text.startswith(closer, pos):
            return
        while True:
            key = None
            if opener == "{":
                key, pos = self._key(pos)
            start = pos
            value, pos = self._value(pos)
            yield self.line(start), key, value
            pos = _skip_ws(text, pos)
            if text.startswith(closer, pos):
                if text[_skip_ws(text, pos + 1) :]:
                    raise self.malformed(pos + 1, "extra data after the document")
                return
            if not text.startswith(",", pos):
                raise self.malformed(pos, f"expected ',' or '{closer}'")
            pos = _skip_ws(text, pos + 1)

    def _key(self, pos: int) -> tuple[str, int]:
        if not self.text.startswith('"', pos):
            raise self.malformed(pos, "expected a key in double quotes")
        try:
            key, pos = self.decoder.raw_decode(self.text, pos)
        except json.JSONDecodeError as err:
            raise self.malformed(err.pos, err.msg) from None
        pos = _skip_ws(self.text, pos)
        if not self.text.startswith(":", pos):
            raise self.malformed(pos, "expected ':'")
        return key, _skip_ws(self.text, pos + 1)

    def _value(self, pos: int) -> tuple[Any, int]:
        """The item at ``pos`` (a :class:`BadRecord` in its place if refused), and its end."""
        limits = self.limits
        try:
            value, end = self.decoder.raw_decode(self.text, pos)
        except json.JSONDecodeError as err:
            raise self.malformed(err.pos, err.msg) from None
        except RecursionError:
            skipped = _value_end(self.text, pos)
            if skipped is None:
                raise self.malformed(pos, "an item nested too deeply never ends") from None
            return BadRecord(_too_deep(limits)), skipped
        except ValueError:  # an integer of more digits than Python converts
            skipped = _value_end(self.text, pos)
            if skipped is None:
                raise self.malformed(pos, "a number too long to read") from None
            return BadRecord("a number in the item is too long to read; fix or remove it"), skipped
        if end - pos > limits.line_bytes:
            return BadRecord(
                f"the item is {end - pos:,} characters long, over the limit of "
                f"{limits.line_bytes:,} (Limits.line_bytes)"
            ), end
        if value_depth(value) > limits.depth:
            return BadRecord(_too_deep(limits)), end
        return value, end


def _too_deep(limits: Limits) -> str:
    return f"JSON nested more than {limits.depth} levels deep (Limits.depth); fix or remove it"


_TOKEN_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _value_end(text: str, pos: int) -> int | None:
    """Where the array or object starting at ``pos`` ends, found without parsing it."""
    if not text.startswith(("[", "{"), pos):
        return None
    depth = 0
    for match in _TOKEN_RE.finditer(text, pos):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    return None


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per item; then the error that cut the file short, if one did."""
    text, failure = inp.text(options.limits.document_bytes)
    document = _Document(inp, text, options.limits)
    try:
        for position, (line, key, item) in enumerate(document.items(), 1):
            yield _item(inp, options, position, line, key, item)
    except SourceError:
        if failure is not None:
            raise failure from None  # the real cause: the file could not be read on
        raise
    if failure is not None:
        raise failure


def _item(
    inp: Input, options: Options, position: int, line: int, key: str | None, item: Any
) -> Paper | Rejected:
    label = f"item {position}" + (f" ({key[:40]})" if key else "")
    try:
        if isinstance(item, BadRecord):
            raise item
        if not isinstance(item, dict):
            raise BadRecord(f"expected an object, got {type(item).__name__}")
        record = _flatten(item)
        if key is not None and not any(k in record for k in options.fields.keys["id"]):
            record = {**record, "id": key}
        return to_paper(record, options.fields, limits=options.limits)
    except BadRecord as err:
        return Rejected(inp.name, line, f"{label}: {err}", empty=isinstance(err, EmptyRecord))
