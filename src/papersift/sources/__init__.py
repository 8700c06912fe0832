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

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from papersift.papers import Paper, Rejected

from . import atom, beir, csvfile, daily_json, daily_page, jsonl, kaggle, oai_pmh, text
from .fields import FieldMap
from .files import STREAM_ERRORS, Input, SourceError, expand, open_input, total_bytes
from .options import Options
from .sniff import FORMATS, sniff

__all__ = ["FORMATS", "SourceError", "read", "sniff", "total_bytes"]

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


def _open(file: str | Path, fmt: str | None, on_bytes: Callable[[int], None]) -> tuple[Input, str]:
    """Open ``file`` and settle its format (closing it again when that fails)."""
    inp = open_input(file, on_bytes)
    try:
        return inp, fmt or sniff(inp.head, inp.name)
    except BaseException:
        inp.close()
        raise


def _read_file(inp: Input, fmt: str, options: Options) -> Iterator[Paper | Rejected]:
    with inp:
        try:
            yield from READERS[fmt](inp, options)
        except STREAM_ERRORS as err:
            raise inp.error(err) from None


def read(
    path: str | Path,
    *,
    fmt: str | None = None,
    fields: Mapping[str, str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    page_year: int | None = None,
) -> Iterator[Paper | Rejected]:
    """Read one file (plain or .gz), a folder (every file in it, recursively, sorted, skipping
    hidden files), or ``'-'`` for stdin.

    ``fmt=None`` sniffs each file. ``fields`` maps unusual JSONL/CSV field names onto Paper
    fields (e.g. ``{"summary": "abstract", "paper_id": "id"}``). ``on_bytes(n)`` is called
    with the number of (compressed) input bytes consumed so far, across all files, for a
    progress bar (see :func:`total_bytes`). ``page_year`` is the year of a Daily Papers page's
    dates that show none (by default the latest year on the page plus one).

    Raises :class:`SourceError` for whole-file problems. Per-record problems are yielded as
    ``Rejected(source=<file>, line=<1-based line where the record starts>, reason=...)``.
    In a folder, a file that is not in any format (or cannot be opened) is reported as a
    ``Rejected`` at line 1 and skipped; a folder where no file can be read is an error.
    """
    _check_format(fmt)
    options = Options(FieldMap.build(fields), page_year)
    files = expand(path)
    done = 0  # bytes of the files already read, so on_bytes counts across a folder

    def progress(n: int) -> None:
        if on_bytes is not None:
            on_bytes(done + n)

    skipped: list[str] = []
    for file in files:
        try:
            inp, name = _open(file, fmt, progress)
        except SourceError as err:
            if len(files) == 1:
                raise
            skipped.append(str(err))
            yield Rejected(str(file), 1, f"skipped: {err}")
            continue
        yield from _read_file(inp, name, options)
        done += inp.consumed
    if len(skipped) == len(files):
        raise SourceError(f"{path}: no file in the folder could be read ({skipped[0]})")
