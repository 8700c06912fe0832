"""The arXiv API's ``/api/query``: Atom with opensearch paging."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from .loopback import Answer
from .records import Record

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_ATOM_NS = "http://arxiv.org/schemas/atom"
_TERM_RE = re.compile(r'(ti|au|abs|co|cat|all|id):("[^"]*"|\S+)|(AND|OR|ANDNOT)')


@dataclass
class ArxivApi:
    """``/api/query`` over :class:`Record`, in the arXiv API's Atom with opensearch paging."""

    records: dict[str, Record]
    max_page: int = 2000
    empty_pages: int = 0  # answer this many pages with no entries (a glitch arXiv's API has)

    @classmethod
    def of(cls, records: Iterable[Record]) -> ArxivApi:
        return cls({r.id: r for r in records})

    def __call__(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path != "/api/query":
            return Answer(404, b"not found", "text/plain")
        args = {k: v[0] for k, v in query.items()}
        try:
            start = int(args.get("start", "0"))
            size = int(args.get("max_results", "10"))
        except ValueError:
            return self._error("start and max_results must be integers")
        if start < 0 or size < 0 or size > 30000:
            return self._error("start must be non-negative and max_results in 0..30000")
        found = self._search(args.get("search_query", ""), args.get("id_list", ""))
        if found is None:
            return self._error(f"malformed query {args.get('search_query')!r}")
        key = {"lastUpdatedDate": lambda r: r.versions[-1],
               "submittedDate": lambda r: r.versions[0]}.get(args.get("sortBy", ""))
        if key is not None:
            found.sort(key=key, reverse=args.get("sortOrder", "descending") == "descending")
        page = found[start : start + min(size, self.max_page)]
        if self.empty_pages and page:
            self.empty_pages -= 1
            page = []
        return Answer(200, self._feed(page, len(found), start, len(page)),
                      "application/atom+xml; charset=utf-8")

    def _search(self, text: str, id_list: str) -> list[Record] | None:
        ids = [i.strip() for i in id_list.split(",") if i.strip()]
        pool = [self.records[i] for i in ids if i in self.records] if ids else list(
            self.records.values())
        if not text.strip():
            return pool if ids else []
        result: set[str] | None = None
        operator: str | None = None
        pos = 0
        for match in _TERM_RE.finditer(text):
            if text[pos : match.start()].strip():
                return None
            pos = match.end()
            if match.group(3):
                if result is None or operator is not None:
                    return None  # an operator with nothing on its left
                operator = match.group(3)
                continue
            hits = {r.id for r in pool if self._matches(r, match.group(1), match.group(2))}
            if result is None:
                result = hits
            elif operator is None:
                return None  # two terms without an operator between them
            elif operator == "AND":
                result &= hits
            elif operator == "ANDNOT":
                result -= hits
            else:
                result |= hits
            operator = None
        if text[pos:].strip() or result is None or operator is not None:
            return None
        return [r for r in pool if r.id in result]

    @staticmethod
    def _matches(r: Record, prefix: str, term: str) -> bool:
        words = term.strip('"').lower()
        if prefix == "cat":
            return words in (c.lower() for c in r.categories)
        if prefix == "id":
            return r.id == words
        fields = {"ti": r.title, "au": " ".join(r.authors), "abs": r.abstract,
                  "co": r.comment or ""}
        haystack = fields.get(prefix) or f"{r.title} {r.abstract} {' '.join(r.authors)}"
        return words.replace("_", " ") in " ".join(haystack.lower().split())

    def _error(self, message: str) -> Answer:
        entry = (f"<entry><id>http://arxiv.org/api/errors#{escape(message[:40])}</id>"
                 f"<title>Error</title><summary>{escape(message)}</summary></entry>")
        return Answer(400, self._wrap(entry, 1, 0, 1), "application/atom+xml; charset=utf-8")

    def _feed(self, page: list[Record], total: int, start: int, size: int) -> bytes:
        return self._wrap("".join(self._entry(r) for r in page), total, start, size)

    @staticmethod
    def _wrap(entries: str, total: int, start: int, size: int) -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="{ATOM_NS}" '
                f'xmlns:opensearch="{OPENSEARCH_NS}" xmlns:arxiv="{ARXIV_ATOM_NS}">'
                "<title>arXiv Query</title><id>http://127.0.0.1/api/query</id>"
                f"<updated>{now}</updated>"
                f"<opensearch:totalResults>{total}</opensearch:totalResults>"
                f"<opensearch:startIndex>{start}</opensearch:startIndex>"
                f"<opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>"
                f"{entries}</feed>\n").encode()

    @staticmethod
    def _entry(r: Record) -> str:
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        v = len(r.versions)
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in r.authors)
        cats = "".join(f"<category term={quoteattr(c)}/>" for c in r.categories)
        comment = f"<arxiv:comment>{escape(r.comment)}</arxiv:comment>" if r.comment else ""
        return (f"<entry><id>http://arxiv.org/abs/{r.id}v{v}</id>"
                f"<updated>{r.versions[-1].strftime(stamp)}</updated>"
                f"<published>{r.versions[0].strftime(stamp)}</published>"
                f"<title>{escape(r.title)}</title><summary>{escape(r.abstract)}</summary>"
                f"{authors}{comment}"
                f'<link href="http://arxiv.org/abs/{r.id}v{v}" rel="alternate" type="text/html"/>'
                f'<link title="pdf" href="http://arxiv.org/pdf/{r.id}v{v}" rel="related"/>'
                f"<arxiv:primary_category term={quoteattr(r.categories[0])}/>{cats}</entry>")
