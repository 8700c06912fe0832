"""CSV (or TSV) with a header row naming the columns as JSON Lines would (see :mod:`.fields`).

The delimiter is whichever of ``,`` ``\\t`` ``;`` the header line uses most. Authors are
split on ``;`` or else on ``,`` and ``and``; categories on spaces, commas or semicolons.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from papersift.papers import Paper, Rejected

from .fields import BadRecord, FieldMap, to_paper
from .files import Input, SourceError
from .options import Options

if TYPE_CHECKING:
    from _csv import Reader

__all__ = ["delimiter_of", "read"]

DELIMITERS = ",\t;"


def delimiter_of(header: str) -> str:
    """The delimiter a header line uses."""
    return max(DELIMITERS, key=header.count)


def _header(inp: Input, row: list[str], fields: FieldMap) -> list[str]:
    # spreadsheets capitalise headers ("Title", "Abstract"): match names without case
    names = {key.casefold(): key for keys in fields.keys.values() for key in keys}
    columns = [names.get(c.strip().casefold(), c.strip()) for c in row]
    if not fields.known(dict.fromkeys(columns)):
        raise SourceError(
            f"{inp.name}: the CSV header has no title or abstract column (columns: "
            f"{', '.join(columns[:12])}); map one with fields= (--field COLUMN=title)"
        )
    return columns


def _rows(reader: Reader) -> Iterator[tuple[int, list[str] | str]]:
    """``(first line, row)`` per record, or ``(line, reason)`` where the CSV is malformed."""
    start = reader.line_num + 1
    while True:
        try:
            row: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            row = f"malformed CSV ({err}); fix the quoting"
        yield start, row
        start = reader.line_num + 1


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per row after the header."""
    texts = (text for _, text in inp.lines())
    first = next(texts, "")
    reader = csv.reader(itertools.chain([first], texts), delimiter=delimiter_of(first))
    header = _header(inp, next(reader, []), options.fields)
    for line, row in _rows(reader):
        if isinstance(row, str):
            yield Rejected(inp.name, line, row)
        elif not any(cell.strip() for cell in row):
            continue
        elif len(row) != len(header):
            reason = (
                f"row has {len(row)} fields but the header has {len(header)}; "
                "quote fields that contain the delimiter"
            )
            yield Rejected(inp.name, line, reason)
        else:
            record = {key: cell.strip() for key, cell in zip(header, row, strict=True)}
            try:
                yield to_paper(record, options.fields)
            except BadRecord as err:
                yield Rejected(inp.name, line, str(err))
