"""The arXiv API's query language, mapped onto papersift's search.

Existing arXiv clients (the ``arxiv`` package, feed readers) can point at papersift's
``/api/query``. The boolean structure is flattened:

=====================  ===============================================================
arXiv                  papersift
=====================  ===============================================================
``all:``/``ti:``/      words searched in title and abstract (one BM25 field), so
``abs:``/bare words    ``ti:`` and ``abs:`` both search the whole text
``"a phrase"``         a phrase that must appear
``ANDNOT x``           ``-x``: papers containing the word are left out
``au:del_maestro``     author filter (``_`` stands for a space, as on arXiv)
``cat:cs.CL``          category filter; several ``cat:`` terms accept any of them
``id:2401.00001``      the same as ``id_list``
``submittedDate:[YYYYMMDDhhmm TO YYYYMMDDhhmm]``  publication date range
``AND``/``OR``/``()``  accepted and ignored: ranked search treats words as OR, and filters
                       as AND
=====================  ===============================================================

Ranking is lexical (BM25), the mode that matches what arXiv does; results page through the
first ``window`` hits, and the total counts within it. Every request is bounded
(:data:`MAX_IDS`, :data:`MAX_RESULTS`, the query length), so no client can make one
request do unbounded work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from papersift.query import MAX_QUERY_CHARS, Filters, QueryError

__all__ = ["MAX_IDS", "MAX_RESULTS", "ArxivQuery", "ArxivRequest", "parse_arxiv_query"]

#: Most ids one request may list (``id_list`` and ``id:`` terms together).
MAX_IDS = 200
#: Most results one page may hold (arXiv's own API allows 2,000; clients page with ``start``).
MAX_RESULTS = 200

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]

_TOKEN = re.compile(
    r'(?P<field>[A-Za-z]+):(?P<value>"[^"]*"|\[[^\]]*\]|[^\s()]+)'
    r'|(?P<phrase>"[^"]*")|(?P<paren>[()])|(?P<word>[^\s()"]+)'
)
_TEXT_FIELDS = {"all", "ti", "abs", "co", "jr", "rn"}
_DATE_RANGE = re.compile(r"\[\s*(\d{8})\d*\s+TO\s+(\d{8})\d*\s*\]", re.I)


@dataclass
class ArxivQuery:
    """An arXiv ``search_query`` mapped onto papersift's search."""

    text: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None

    @property
    def query(self) -> str:
        return " ".join(self.text)

    def filters(self) -> Filters:
        return Filters(since=self.since, until=self.until,
                       categories=tuple(self.categories), authors=tuple(self.authors))


def _day(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _add_term(parsed: ArxivQuery, name: str, value: str, negated: bool) -> None:
    plain = value.strip('"')
    if name in _TEXT_FIELDS:
        if negated:
            parsed.text.extend(f"-{w}" for w in plain.split())
        else:
            parsed.text.append(value if value.startswith('"') else plain)
    elif name == "au" and not negated:
        parsed.authors.append(plain.replace("_", " "))
    elif name == "cat" and not negated:
        parsed.categories.append(plain)
    elif name == "id":
        parsed.ids.append(plain)
    elif name.lower() in ("submitteddate", "lastupdateddate"):
        found = _DATE_RANGE.match(value)
        if found:
            parsed.since, parsed.until = _day(found.group(1)), _day(found.group(2))


def parse_arxiv_query(search_query: str) -> ArxivQuery:
    """Map arXiv's query syntax onto text, filters and ids.

    >>> q = parse_arxiv_query('ti:"neural networks" AND au:del_maestro ANDNOT abs:quantum')
    >>> q.query, q.authors
    ('"neural networks" -quantum', ['del maestro'])
    """
    parsed = ArxivQuery()
    negated = False
    for match in _TOKEN.finditer(search_query):
        word = match.group("word")
        if word in ("AND", "OR", "ANDNOT"):
            negated = word == "ANDNOT"
            continue
        if match.group("paren"):
            continue
        if match.group("field"):
            _add_term(parsed, match.group("field"), match.group("value"), negated)
        else:
            _add_term(parsed, "all", match.group("phrase") or word, negated)
        negated = False
    return parsed


@dataclass(frozen=True)
class ArxivRequest:
    """One call of the arXiv API, checked against the bounds."""

    search_query: str = ""
    id_list: tuple[str, ...] = ()
    start: int = 0
    max_results: int = 10
    sort_by: SortBy = "relevance"
    sort_order: SortOrder = "descending"

    def __post_init__(self) -> None:
        if len(self.search_query) > MAX_QUERY_CHARS:
            raise QueryError("search_query", f"at most {MAX_QUERY_CHARS} characters")
        if len(self.ids) > MAX_IDS:
            raise QueryError("id_list", f"at most {MAX_IDS} ids per request, got "
                             f"{len(self.ids)}; split the list")
        if not 0 <= self.max_results <= MAX_RESULTS:
            raise QueryError("max_results", f"between 0 and {MAX_RESULTS}; page with start")
        if self.start < 0:
            raise QueryError("start", "0 or more")

    @property
    def parsed(self) -> ArxivQuery:
        return parse_arxiv_query(self.search_query)

    @property
    def ids(self) -> tuple[str, ...]:
        listed = [i.strip() for i in self.id_list if i.strip()]
        return tuple(dict.fromkeys([*listed, *parse_arxiv_query(self.search_query).ids]))
