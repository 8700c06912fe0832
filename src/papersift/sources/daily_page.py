"""The text of a Hugging Face Daily Papers listing page (copied from a browser).

Each entry reads::

    Title line

    Abstract paragraph

      • 5 authors            (or an organization: "openbmb OpenBMB")
    ·
    Sep 16, 2023 1           (date, then the upvotes when there are any)

Dates without a year ("Feb 24") are in the page's own year, which the page does not
print: it is taken as the latest year written on the page plus one (a listing shows this
year's dates bare and older ones with their year), or passed as ``page_year``. The page
has no arXiv ids, so ids are content hashes. Header lines ("Daily Papers", "Subscribe",
the page's date...) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from papersift.papers import Paper, Rejected, content_id, normalize_text

from .files import Input, SourceError
from .limits import MAX_COUNT
from .options import Options

__all__ = ["infer_year", "read"]

SEPARATOR = "·"
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
DATE_RE = re.compile(
    r"^(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:, (?P<year>\d{4}))?(?: (?P<upvotes>\d+))?$"
)
AUTHORS_RE = re.compile(r"^•\s*(?P<count>\d+) authors?$")
_HEADER = {
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
}


@dataclass(frozen=True, slots=True)
class _Entry:
    line: int  # where the entry starts (its title), 1-based
    body: tuple[str, ...]  # title, then abstract lines
    byline: str  # "• 5 authors" or "openbmb OpenBMB"
    date_line: int
    date_text: str


def infer_year(lines: Sequence[str]) -> int:
    """The latest year printed on the page, plus one (this year, when none is printed)."""
    years = [int(m["year"]) for m in map(DATE_RE.match, lines) if m and m["year"]]
    return max(years) + 1 if years else date.today().year


def _drop_header(body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    kept = [(n, t) for n, t in body if t not in _HEADER and not DATE_RE.match(t)]
    return kept[-2:]  # anything before the last title and abstract is page chrome


def _entries(lines: Sequence[str]) -> Iterator[_Entry]:
    start = 0
    for i, line in enumerate(lines):
        if line != SEPARATOR or i == 0 or i + 1 >= len(lines):
            continue
        body = [(n, t) for n, t in enumerate(lines[start : i - 1], start + 1) if t]
        if start == 0:
            body = _drop_header(body)
        first = body[0][0] if body else i
        yield _Entry(first, tuple(t for _, t in body), lines[i - 1], i + 2, lines[i + 1])
        start = i + 2


def _paper(entry: _Entry, year: int, limit: int) -> Paper:
    match = DATE_RE.match(entry.date_text)
    if match is None:
        raise ValueError(
            f"date line {entry.date_text!r} (line {entry.date_line}) is not like "
            "'Nov 7, 2023' or 'Feb 24 3'; fix it"
        )
    try:
        published = date(int(match["year"] or year), _MONTHS[match["month"]], int(match["day"]))
    except (KeyError, ValueError):
        raise ValueError(
            f"date {entry.date_text!r} (line {entry.date_line}) is not a real date"
        ) from None
    title = normalize_text(entry.body[0])
    abstract = normalize_text(" ".join(entry.body[1:]))
    if not title:
        raise ValueError("entry has no title (its first line is blank once cleaned); fix it")
    for name, text in (("title", title), ("abstract", abstract)):
        if len(text) > limit:
            raise ValueError(
                f"the {name} is {len(text):,} characters long, over the limit of {limit:,} "
                "(Limits.field_chars); shorten it"
            )
    count = AUTHORS_RE.match(entry.byline)
    words = entry.byline.split(None, 1)  # "openbmb OpenBMB"; blank when the page has none
    organization = None if count or not words else words[-1]
    return Paper(
        id=content_id(title, abstract),
        title=title,
        abstract=abstract,
        published=published,
        organization=organization,
        upvotes=_count("upvotes", match["upvotes"] or "0"),
        author_count=_count("author count", count["count"]) if count else None,
    ).with_defaults()


def _count(name: str, digits: str) -> int:
    """A count the page shows; a ValueError (the entry's rejection) when it is absurd."""
    if len(digits) > 10 or int(digits) > MAX_COUNT:
        raise ValueError(f"the {name} {digits[:20]} is not a count up to {MAX_COUNT:,}; fix it")
    return int(digits)


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per entry on the page."""
    text, failure = inp.text(options.limits.document_bytes)
    lines = [line.strip() for line in text.splitlines()]
    year = options.page_year or infer_year(lines)
    found = False
    for entry in _entries(lines):
        found = True
        if not entry.body:
            yield Rejected(inp.name, entry.line, "entry has no title before its author line")
            continue
        try:
            yield _paper(entry, year, options.limits.field_chars)
        except ValueError as err:
            yield Rejected(inp.name, entry.line, str(err))
    if failure is not None:
        raise failure  # after every entry read before the damage
    if not found:
        raise SourceError(
            f"{inp.name}: no Daily Papers entries (a '·' line between the authors and the "
            "date); is this the text of a Daily Papers page? Choose another --format"
        )
