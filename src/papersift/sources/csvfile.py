"""CSV (or TSV) with a header row naming the columns as JSON Lines would (see :mod:`.fields`).

The delimiter is whichever of ``,`` ``\\t`` ``;`` the header line uses most. Authors are
split on ``;`` or else on ``,`` and ``and``; categories on spaces, commas or semicolons.

Quoting is read strictly: a lenient reader lets an unclosed quote run on through the
next lines and swallows the good rows there into one field. When a quote does not close
where a field should end, the record's first line is rejected and the lines after it
are read again as rows, so one bad quote costs one row. So does a quoted field running
over more than ``Limits.csv_record_lines`` lines.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

from papersift.papers import Paper, Rejected

from .fields import BadRecord, EmptyRecord, FieldMap, to_paper
from .files import Input, SourceError
from .limits import Limits
from .options import Options

__all__ = ["delimiter_of", "read"]

DELIMITERS = ",\t;"


def delimiter_of(header: str) -> str:
    """The delimiter a header line uses."""
    return max(DELIMITERS, key=header.count)


class _Abort(Exception):
    """Stop the record being read: one of its lines broke a limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Lines:
    """Feeds the csv module one physical line at a time, remembering the lines of the
    record being read so that they can be fed again after a quoting error."""

    def __init__(self, inp: Input, limits: Limits) -> None:
        self._source = inp.lines(limits.line_bytes)
        self._again: deque[tuple[int, str | Rejected]] = deque()
        self._max_lines = limits.csv_record_lines
        self.record: list[tuple[int, str | Rejected]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        item = self._again.popleft() if self._again else next(self._source)
        self.record.append(item)
        number, text = item
        if isinstance(text, Rejected):
            if len(self.record) == 1:
                raise _Abort(text.reason)
            raise _Abort(
                f"a quoted field runs on into line {number}, which is over the line limit; "
                "check for a quote that is not closed"
            )
        if len(self.record) > self._max_lines:
            raise _Abort(
                f"a quoted field runs over more than {self._max_lines} lines "
                "(Limits.csv_record_lines); check for a quote that is not closed"
            )
        return text

    def start(self) -> None:
        """A new record begins."""
        self.record = []

    def first(self) -> int:
        """The line the current record started on."""
        return self.record[0][0]

    def read_again(self) -> None:
        """Feed the lines after the current record's first one again."""
        self._again.extendleft(reversed(self.record[1:]))


def _header(inp: Input, row: list[str], fields: FieldMap) -> list[str]:
    # spreadsheets capitalise headers ("Title", "Abstract"): match names without case
    names = {key.casefold(): key for keys in fields.keys.values() for key in keys}
    columns = [names.get(c.strip().casefold(), c.strip()) for c in row]
    if not fields.known(dict.fromkeys(columns)):
        shown = ", ".join(c[:40] for c in columns[:12])
        raise SourceError(
            f"{inp.name}: the CSV header has no title or abstract column (columns: "
            f"{shown}); map one with fields= (--field COLUMN=title)"
        )
    return columns


def _rows(inp: Input, limits: Limits, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """``(first line, row)`` per record, or ``(line, reason)`` where the CSV is malformed."""
    lines = _Lines(inp, limits)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        lines.start()
        try:
            row: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # "unexpected end of data" too: a quote never closed
            row = f"malformed CSV ({err}); fix the quoting"
            lines.read_again()
        except _Abort as abort:
            row = abort.reason
            if len(lines.record) > 1:
                lines.read_again()
        yield lines.first(), row


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per row after the header."""
    first = inp.head.split(b"\n", 1)[0].decode("utf-8", "replace")
    rows = _rows(inp, options.limits, delimiter_of(first))
    header_line, header = next(rows, (1, []))
    if isinstance(header, str):
        raise SourceError(f"{inp.name}:{header_line}: the CSV header is malformed: {header}")
    columns = _header(inp, header, options.fields)
    for line, row in rows:
        if isinstance(row, str):
            yield Rejected(inp.name, line, row)
        elif not any(cell.strip() for cell in row):
            continue
        elif len(row) != len(columns):
            reason = (
                f"row has {len(row)} fields but the header has {len(columns)}; "
                "quote fields that contain the delimiter"
            )
            yield Rejected(inp.name, line, reason)
        else:
            record = {key: cell.strip() for key, cell in zip(columns, row, strict=True)}
            try:
                yield to_paper(record, options.fields, limits=options.limits)
            except BadRecord as err:
                yield Rejected(inp.name, line, str(err), empty=isinstance(err, EmptyRecord))
