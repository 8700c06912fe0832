"""JSON Lines: one paper object per line, with common field names (see :mod:`.fields`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from papersift.papers import Paper, Rejected

from .fields import BadRecord, EmptyRecord, to_paper
from .files import Input
from .limits import Limits, json_too_deep
from .options import Options

__all__ = ["json_objects", "parse_json", "read", "read_records"]


def parse_json(text: str, limits: Limits) -> Any:
    """One JSON value, or :class:`BadRecord` saying why not: malformed, nested deeper than
    ``limits.depth``, or holding a number too long for Python to convert."""
    if json_too_deep(text, limits.depth):
        raise BadRecord(
            f"JSON nested more than {limits.depth} levels deep (Limits.depth); "
            "fix or remove the record"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRecord(
            f"malformed JSON ({err.msg} at column {err.colno}); fix or remove the line"
        ) from None
    except RecursionError:  # not reached through the depth check; kept as a backstop
        raise BadRecord("JSON nested too deeply; fix or remove the record") from None
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        raise BadRecord("a number in the record is too long to read; fix or remove it") from None


def json_objects(inp: Input, limits: Limits) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
    """``(line, object)`` for each non-blank line, or a Rejected for a line that is not one."""
    for line, text in inp.lines(limits.line_bytes):
        if isinstance(text, Rejected):
            yield text
            continue
        if not text.strip():
            continue
        try:
            record = parse_json(text, limits)
        except BadRecord as err:
            yield Rejected(inp.name, line, str(err))
            continue
        if isinstance(record, dict):
            yield line, record
        else:
            kind = type(record).__name__
            yield Rejected(inp.name, line, f"expected a JSON object per line, got a {kind}")


def read_records(
    inp: Input, options: Options, convert: Callable[[dict[str, Any]], Paper]
) -> Iterator[Paper | Rejected]:
    """Convert each JSON line with ``convert``, rejecting the lines it refuses."""
    for item in json_objects(inp, options.limits):
        if isinstance(item, Rejected):
            yield item
            continue
        line, record = item
        try:
            yield convert(record)
        except BadRecord as err:
            yield Rejected(inp.name, line, str(err), empty=isinstance(err, EmptyRecord))


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """Papers from JSON Lines with common (or ``options.fields``-mapped) field names."""
    fields, limits = options.fields, options.limits
    return read_records(inp, options, lambda record: to_paper(record, fields, limits=limits))
