"""What every source reader promises, whatever its input: checked by the property tests
(tests/test_sources_properties.py) and by the fuzzing harness (benchmarks/fuzz_sources.py).

Reading any bytes yields Papers and Rejected records and may end in one SourceError;
nothing else escapes. Each Paper is safe to store and to show; each message is one line
that names the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from papersift import sources
from papersift.catalog import Catalog
from papersift.papers import Paper, Rejected
from papersift.sources import Limits, SourceError
from papersift.sources.limits import MAX_COUNT

# small limits, so that short generated inputs reach the limit checks too
SMALL_LIMITS = Limits(
    line_bytes=2048, field_chars=512, depth=8, document_bytes=1 << 16, csv_record_lines=4
)
NAME = "fuzz.in"

_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)


def paper_problems(paper: Paper) -> list[str]:
    """What is wrong with a Paper a reader produced (nothing, for every input)."""
    problems = []
    texts = [paper.id, paper.title, paper.abstract, *paper.authors, *paper.categories]
    texts += [t for t in (paper.organization, paper.comment) if t is not None]
    if any(_UNSAFE_RE.search(t) for t in texts):
        problems.append("a control character or lone surrogate in a text field")
    if not (paper.title or paper.abstract):
        problems.append("neither title nor abstract")
    if not paper.id:
        problems.append("an empty id")
    for count in (paper.upvotes, paper.version, paper.author_count):
        if count is not None and not 0 <= count <= MAX_COUNT:
            problems.append(f"a count out of range: {count}")
    urls = [u for u in (paper.links.abs, paper.links.pdf) if u is not None] + list(paper.links.code)
    if any(not _URL_RE.fullmatch(u) for u in urls):
        problems.append(f"a link that is not http(s): {urls}")
    return problems


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "\r" not in message


def check_read(
    items: Iterable[Paper | Rejected], catalog: Catalog | None = None
) -> tuple[list[Paper], list[Rejected], SourceError | None]:
    """Read everything, asserting the invariants; store the papers in ``catalog`` if given."""
    papers: list[Paper] = []
    rejected: list[Rejected] = []
    failure: SourceError | None = None
    try:
        for item in items:
            if isinstance(item, Paper):
                problems = paper_problems(item)
                assert not problems, f"{problems}: {item!r}"
                papers.append(item)
            else:
                assert isinstance(item, Rejected), f"neither Paper nor Rejected: {item!r}"
                assert item.source == NAME and item.line >= 1, item
                assert one_line(item.reason), item
                rejected.append(item)
    except SourceError as err:
        assert one_line(str(err)) and str(err).startswith(NAME), str(err)
        failure = err
    if catalog is not None and papers:
        catalog.upsert(papers)  # must store whatever a reader yields
    return papers, rejected, failure


def read_data(
    data: bytes, fmt: str | None, limits: Limits = SMALL_LIMITS, catalog: Catalog | None = None
) -> tuple[list[Paper], list[Rejected], SourceError | None]:
    """Read ``data`` as one file of format ``fmt`` (sniffed when ``None``), checked."""
    try:
        items = sources.read_bytes(data, name=NAME, fmt=fmt, limits=limits)
        return check_read(items, catalog)
    except SourceError as err:  # opening failed (a corrupt gzip header)
        assert one_line(str(err)) and str(err).startswith(NAME), str(err)
        return [], [], err
