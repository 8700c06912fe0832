"""One-off pulls from the arXiv API: a query's results, page by page, politely.

The API (info.arxiv.org/help/api/user-manual.html) answers ``search_query``, ``start`` and
``max_results`` with an Atom feed whose ``opensearch:totalResults``, ``startIndex`` and
``itemsPerPage`` say where the page sits. It sometimes answers a page inside the results
with no entries; that page is asked for again (bounded, as any failed request). A bad query
comes back as a feed holding one error entry: its message is the harvest's error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from papersift.library import Library
from papersift.papers import Paper, Rejected, normalize_text
from papersift.sources.atom import ATOM_NS, entry_fields
from papersift.sources.fields import BadRecord, FieldMap, to_paper
from papersift.sources.xmlstream import iter_records

from .fetcher import HarvestError, TransientPage
from .pages import as_input, expect_root
from .run import HarvestRun, Progress, no_progress
from .settings import HarvestSettings
from .state import HarvestReport

__all__ = ["SORTS", "ApiPage", "harvest_arxiv_api", "parse_page"]

OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
_A = "{" + ATOM_NS + "}"
_OS = "{" + OPENSEARCH_NS + "}"
_TAGS = frozenset({_A + "entry", _OS + "totalResults", _OS + "startIndex", _OS + "itemsPerPage"})
_FIELDS = FieldMap.build()
#: ``--sort`` choices and the API's ``sortBy`` for each (newest first, except relevance).
SORTS = {"submitted": "submittedDate", "updated": "lastUpdatedDate", "relevance": "relevance"}


@dataclass
class ApiPage:
    """One feed: its papers and where it sits in the results."""

    papers: list[Paper] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    total: int = 0
    start: int = 0

    @property
    def count(self) -> int:
        return len(self.papers) + len(self.rejected)


def _number(text: str | None) -> int:
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0


def parse_page(body: bytes, name: str = "arXiv API response") -> ApiPage:
    """Read one feed; a feed of the API's error raises :class:`HarvestError`."""
    expect_root(body, "feed", name, "an Atom feed")
    page = ApiPage()
    for line, element, problem in iter_records(as_input(body, name), _A + "feed", _TAGS):
        if problem is not None:  # a record over the readers' limits: rejected alone
            page.rejected.append(Rejected(name, line, problem))
        elif element.tag == _OS + "totalResults":
            page.total = _number(element.text)
        elif element.tag == _OS + "startIndex":
            page.start = _number(element.text)
        elif element.tag == _A + "entry":
            record = entry_fields(element)
            if "/api/errors" in (record["id"] or ""):
                message = normalize_text(record["abstract"]) or "unknown error"
                raise HarvestError(f"the arXiv API refused the query: {message}")
            try:
                page.papers.append(to_paper(record, _FIELDS))
            except BadRecord as err:
                page.rejected.append(Rejected(name, line, str(err)))
    if not page.count and page.start < page.total:
        raise TransientPage(f"no entries at {page.start} of {page.total} results")
    return page


def harvest_arxiv_api(
    library: Library,
    query: str,
    *,
    max_results: int = 1000,
    sort: str = "submitted",
    settings: HarvestSettings | None = None,
    progress: Progress = no_progress,
    stop: threading.Event | None = None,
) -> HarvestReport:
    """Add up to ``max_results`` papers matching an arXiv API ``query`` to ``library``.

    Example: ``harvest_arxiv_api(lib, "cat:cs.IR AND ti:retrieval", max_results=200)``
    """
    settings = settings or HarvestSettings()
    if sort not in SORTS:
        raise HarvestError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    if not query.strip():
        raise HarvestError('the query is empty; write one, e.g. "cat:cs.IR AND ti:retrieval"')
    with HarvestRun(library, "arxiv-api", settings, stop) as run:
        start, total = 0, None
        while start < max_results and (total is None or start < total) and not run.stopped():
            params = {"search_query": query, "start": str(start),
                      "max_results": str(min(settings.api_page_size, max_results - start)),
                      "sortBy": SORTS[sort], "sortOrder": "descending"}
            page = run.fetcher.get(settings.arxiv_api_url, params, parse_page)
            total = page.total
            if not page.count:
                break
            start += page.count
            run.commit(page.papers, rejected=page.rejected,
                       where=f"{start} of {min(total, max_results)} results")
            progress("arxiv-api", start, min(total, max_results))
    return run.report
