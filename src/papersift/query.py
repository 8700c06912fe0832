"""What a search asks for: the query text, the mode, and one ``Filters`` value.

Every face builds its request here (the CLI from options, the web from query parameters,
the arXiv-compatible API from arXiv's syntax) and every backend compiles the same
``Filters`` for itself (tantivy queries, SQL, pgvector ``WHERE``), so a filter means one
thing everywhere. :meth:`Filters.accepts` is that meaning written in Python; the contract
tests hold every backend to it.

>>> Filters.parse(since="2026-01-01", category="cs.CL,cs.IR", author="Li").categories
('cs.CL', 'cs.IR')
>>> name_matches("Li", "Li Wei"), name_matches("Li", "Lin Wang")
(True, False)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from papersift.papers import Paper

__all__ = [
    "MAX_QUERY_CHARS",
    "Filters",
    "Mode",
    "ParsedQuery",
    "QueryError",
    "SearchRequest",
    "name_key",
    "name_matches",
    "parse_query",
]

Mode = Literal["auto", "lexical", "semantic", "hybrid"]
MODES: tuple[Mode, ...] = ("auto", "lexical", "semantic", "hybrid")

#: Longest query text searched; the rest is cut (a query is a few words, not a paper).
MAX_QUERY_CHARS = 500
#: Most values one filter field may list (ids, categories, authors).
MAX_FILTER_VALUES = 200

_NAME_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class QueryError(ValueError):
    """A search parameter that cannot be understood; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def name_key(name: str) -> str:
    """A name as the author filter compares it: words of letters and digits, lower-cased,
    accents removed, one space apart.

    >>> name_key("  Müller-Lüdenscheidt, José ")
    'muller ludenscheidt jose'
    """
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_NAME_WORD.findall(plain))


def name_matches(wanted: str, author: str) -> bool:
    """Whether an author filter value matches one author's name.

    The filter's words must appear in the name as whole words, consecutive and in order,
    ignoring case, accents and punctuation: ``Li`` matches ``Li Wei`` and ``Wei Li`` but
    not ``Lin Wang``; ``Wei Li`` does not match ``Li Wei``. An empty filter matches nothing.
    """
    key = name_key(wanted)
    return bool(key) and f" {key} " in f" {name_key(author)} "


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions applied inside every ranker (never by trimming a short result list).

    - ``since`` / ``until``: publication (listing) day, inclusive; undated papers fail both.
    - ``categories``: the paper is listed in any of them (exact, e.g. ``cs.CL``).
    - ``authors``: every value matches some author of the paper (:func:`name_matches`).
    - ``ids``: the paper's canonical id is one of them.
    """

    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.categories or self.authors or self.ids)

    def accepts(self, paper: Paper) -> bool:
        """Whether a paper passes: the definition every backend's compiled filter meets."""
        if self.since and (paper.published is None or paper.published < self.since):
            return False
        if self.until and (paper.published is None or paper.published > self.until):
            return False
        if self.categories and not set(self.categories) & set(paper.categories):
            return False
        if self.ids and paper.id not in self.ids:
            return False
        return all(any(name_matches(w, a) for a in paper.authors) for w in self.authors)

    @property
    def author_keys(self) -> tuple[str, ...]:
        """The author values as :func:`name_key` writes them (what backends compare)."""
        return tuple(name_key(a) for a in self.authors)

    @classmethod
    def parse(
        cls,
        *,
        since: str | date | None = None,
        until: str | date | None = None,
        category: str | tuple[str, ...] | list[str] | None = None,
        author: str | tuple[str, ...] | list[str] | None = None,
        ids: tuple[str, ...] | list[str] = (),
    ) -> Filters:
        """Filters from what a person typed: days as ``YYYY-MM-DD``, categories comma
        separated or repeated, authors repeated. Raises :class:`QueryError` naming the
        field for anything it cannot use."""
        from papersift.papers import normalize_id

        first, last = _day(since, "since"), _day(until, "until")
        if first and last and first > last:
            raise QueryError("since", f"{first} is after until {last}")
        categories = tuple(dict.fromkeys(c.strip() for c in _values(category, ",") if c.strip()))
        authors = tuple(dict.fromkeys(a.strip() for a in _values(author, None) if a.strip()))
        if any(not name_key(a) for a in authors):
            raise QueryError("author", "give a name with letters or digits")
        canonical = tuple(dict.fromkeys(normalize_id(i)[0] for i in ids if i.strip()))
        for name, values in (("category", categories), ("author", authors), ("ids", canonical)):
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError(name, f"at most {MAX_FILTER_VALUES} values, got {len(values)}")
        return cls(since=first, until=last, categories=categories, authors=authors,
                   ids=canonical)


def _values(value: str | tuple[str, ...] | list[str] | None, sep: str | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    if sep is None:
        return items
    return [part for item in items for part in item.split(sep)]


def _day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(name, f"expected a day as YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """User query text split into free terms, quoted phrases and excluded words."""

    text: str
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


_PHRASE_RE = re.compile(r'"([^"]*)"')
_EXCLUDED_RE = re.compile(r"(?:^|\s)-(\w[\w\-]*)")


def parse_query(query: str) -> ParsedQuery:
    """Split a query into free text, ``"quoted phrases"`` and ``-excluded`` words.

    Nothing else is syntax: operators, colons, stars and brackets are plain text, so no
    query can fail to parse.

    >>> parse_query('nested "matryoshka embeddings" -vision')
    ParsedQuery(text='nested', phrases=('matryoshka embeddings',), excluded=('vision',))
    """
    query = query[:MAX_QUERY_CHARS]
    phrases = tuple(p.strip() for p in _PHRASE_RE.findall(query) if p.strip())
    rest = _PHRASE_RE.sub(" ", query).replace('"', " ")
    excluded = tuple(_EXCLUDED_RE.findall(rest))
    rest = _EXCLUDED_RE.sub(" ", rest)
    return ParsedQuery(text=" ".join(rest.split()), phrases=phrases, excluded=excluded)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search: what every face hands to :meth:`papersift.Library.search_request`."""

    text: str
    mode: Mode = "auto"
    filters: Filters = field(default_factory=Filters)
    limit: int = 10
    offset: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise QueryError("mode", f"one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0 < self.limit <= 1000:
            raise QueryError("limit", "between 1 and 1000")
        if not 0 <= self.offset <= 10_000:
            raise QueryError("offset", "between 0 and 10000")
