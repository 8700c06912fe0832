"""JSON Lines: one paper object per line, with common field names (see :mod:`.fields`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from papersift.papers import Paper, Rejected

from .fields import BadRecord, to_paper
from .files import Input
from .options import Options

__all__ = ["json_objects", "read", "read_records"]


def json_objects(inp: Input) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
    """``(line, object)`` for each non-blank line, or a Rejected for a line that is not one."""
    for line, text in inp.lines():
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            reason = f"malformed JSON ({err.msg} at column {err.colno}); fix or remove the line"
            yield Rejected(inp.name, line, reason)
            continue
        if isinstance(record, dict):
            yield line, record
        else:
            kind = type(record).__name__
            yield Rejected(inp.name, line, f"expected a JSON object per line, got a {kind}")


def read_records(
    inp: Input, convert: Callable[[dict[str, Any]], Paper]
) -> Iterator[Paper | Rejected]:
    """Convert each JSON line with ``convert``, rejecting the lines it refuses."""
    for item in json_objects(inp):
        if isinstance(item, Rejected):
            yield item
            continue
        line, record = item
        try:
            yield convert(record)
        except BadRecord as err:
            yield Rejected(inp.name, line, str(err))


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """Papers from JSON Lines with common (or ``options.fields``-mapped) field names."""
    fields = options.fields
    return read_records(inp, lambda record: to_paper(record, fields))
