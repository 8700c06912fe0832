"""Read papers from every common format: one module per format, picked by :func:`sniff`.

>>> from papersift import sources
>>> for item in sources.read("data/arxiv-75k.jsonl.gz"):  # doctest: +SKIP
...     print(item)  # a Paper, or a Rejected(source, line, reason)

Formats (:data:`FORMATS`): ``text`` (one abstract per line), ``daily-page`` (the text of a
Hugging Face Daily Papers page), ``jsonl``, ``kaggle`` (the Kaggle arXiv snapshot),
``atom`` (the arXiv API), ``oai-pmh`` (arXiv's OAI-PMH ``arXiv``/``arXivRaw``),
``daily-json`` (Hugging Face Daily Papers JSON), ``beir`` (a BEIR ``corpus.jsonl``) and
``csv``. Any of them may be gzip-compressed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from papersift.papers import Paper, Rejected

from . import atom, beir, csvfile, daily_json, daily_page, jsonl, kaggle, oai_pmh, text
from .fields import FieldMap
from .files import STDIN, STREAM_ERRORS, Input, SourceError, expand, open_input, total_bytes
from .limits import DEFAULT_LIMITS, Limits
from .options import Options
from .sniff import FORMATS, sniff

__all__ = ["FORMATS", "Limits", "SourceError", "read", "read_bytes", "sniff", "total_bytes"]

Reader = Callable[[Input, Options], Iterator[Paper | Rejected]]

READERS: dict[str, Reader] = {
    "text": text.read,
    "daily-page": daily_page.read,
    "jsonl": jsonl.read,
    "kaggle": kaggle.read,
    "atom": atom.read,
    "oai-pmh": oai_pmh.read,
    "daily-json": daily_json.read,
    "beir": beir.read,
    "csv": csvfile.read,
}
assert tuple(READERS) == FORMATS


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in READERS:
        raise SourceError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _read_one(
    file: str | Path, fmt: str | None, options: Options, on_bytes: Callable[[int], None]
) -> Iterator[Paper | Rejected]:
    """Open one file, settle its format and read it."""
    with open_input(file, on_bytes) as inp:
        yield from _read_input(inp, fmt, options)


def _read_input(inp: Input, fmt: str | None, options: Options) -> Iterator[Paper | Rejected]:
    reader = READERS[fmt or sniff(inp.head, inp.name)]
    try:
        yield from reader(inp, options)
    except STREAM_ERRORS as err:  # the readers name the line; this is the last resort
        raise inp.error(err) from None


def read_bytes(
    data: bytes,
    *,
    name: str = "<bytes>",
    fmt: str | None = None,
    fields: Mapping[str, str] | None = None,
    page_year: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Paper | Rejected]:
    """Read one file's content (plain or gzip) held in memory, as :func:`read` reads a file;
    ``name`` stands for the file in messages."""
    _check_format(fmt)
    options = Options(FieldMap.build(fields), page_year, limits)

    def items() -> Iterator[Paper | Rejected]:
        with Input(name, io.BytesIO(data), None) as inp:
            yield from _read_input(inp, fmt, options)

    return items()


def read(
    path: str | Path,
    *,
    fmt: str | None = None,
    fields: Mapping[str, str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    page_year: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Paper | Rejected]:
    """Read one file (plain or .gz), a folder (every file in it, recursively, sorted, skipping
    hidden files), or ``'-'`` for stdin.

    ``fmt=None`` sniffs each file. ``fields`` maps unusual JSONL/CSV field names onto Paper
    fields (e.g. ``{"summary": "abstract", "paper_id": "id"}``). ``on_bytes(n)`` is called
    with the number of (compressed) input bytes consumed so far, across all files, for a
    progress bar (see :func:`total_bytes`). ``page_year`` is the year of a Daily Papers page's
    dates that show none (by default the latest year on the page plus one). ``limits`` bounds
    what one record may hold (see :class:`Limits`): a record over a limit is rejected alone.

    Raises :class:`SourceError` for whole-file problems: a bad ``fmt``/``fields`` or a missing
    path at once, the others while iterating. A file that cannot be read on (a truncated or
    corrupt gzip stream, a byte that is not UTF-8, malformed XML or JSON) raises only after
    every complete record before the damage has been yielded, and its message names the
    line. Per-record problems are yielded as
    ``Rejected(source=<file>, line=<1-based line where the record starts>, reason=...)``.
    In a folder, a file that fails before yielding anything (unknown format, a CSV without a
    title column, unreadable) is reported as a ``Rejected`` at line 1 and skipped, so one
    stray file does not stop an ingest; a file that fails part way (a truncated gzip) still
    raises, and so does a folder where no file can be read.
    """
    _check_format(fmt)
    options = Options(FieldMap.build(fields), page_year, limits)
    files = expand(path)  # a missing path fails here, before the first item is asked for
    return _read_files(str(path), files, fmt, options, on_bytes)


def _read_files(
    label: str,
    files: list[str | Path],
    fmt: str | None,
    options: Options,
    on_bytes: Callable[[int], None] | None,
) -> Iterator[Paper | Rejected]:
    done = 0  # bytes of the files already read, so on_bytes counts across a folder

    def progress(n: int) -> None:
        if on_bytes is not None:
            on_bytes(done + n)

    skipped: list[str] = []
    for file in files:
        started = False
        try:
            for item in _read_one(file, fmt, options, progress):
                started = True
                yield item
        except SourceError as err:
            if len(files) == 1 or started:
                raise
            skipped.append(str(err))
            yield Rejected(str(file), 1, f"skipped: {err}")
        if file != STDIN:
            done += os.path.getsize(file)
            progress(0)
    if len(skipped) == len(files):
        raise SourceError(f"{label}: no file in the folder could be read ({skipped[0]})")
