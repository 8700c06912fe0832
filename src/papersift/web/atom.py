"""Atom 1.0 documents for listings, searches and the arXiv-compatible API.

Built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute value.
Entries follow the arXiv API's shape (``arxiv:primary_category``, ``category``, a
``link`` titled ``pdf``) so that arXiv clients and feed readers both understand them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from papersift.papers import Paper

__all__ = ["ARXIV", "ATOM", "OPENSEARCH", "OpenSearch", "entry_id", "feed"]

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
ET.register_namespace("", ATOM)
ET.register_namespace("arxiv", ARXIV)
ET.register_namespace("opensearch", OPENSEARCH)

# XML 1.0 forbids most control characters; a stray one in an abstract must not break a feed.
_INVALID_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class OpenSearch:
    """The paging header the arXiv API puts at the top of its feeds."""

    total: int
    start: int
    per_page: int


def _timestamp(day: date | None) -> str:
    """A day as an RFC 3339 time (midnight UTC); undated papers get the epoch."""
    return f"{(day or _EPOCH).isoformat()}T00:00:00Z"


def entry_id(paper: Paper, fallback: str) -> str:
    """``http://arxiv.org/abs/<id>v<version>`` for arXiv papers (as the arXiv API writes
    it), else ``fallback`` (this server's page for the paper)."""
    if paper.is_arxiv:
        return f"http://arxiv.org/abs/{paper.id}v{paper.version or 1}"
    return fallback


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        node.text = _INVALID_XML.sub("", text)
    return node


def _entry(root: ET.Element, paper: Paper, page_url: str, alternate_is_page: bool) -> None:
    entry = _sub(root, f"{{{ATOM}}}entry")
    arxiv_id = entry_id(paper, page_url)
    _sub(entry, f"{{{ATOM}}}id", arxiv_id)
    _sub(entry, f"{{{ATOM}}}published", _timestamp(paper.published))
    _sub(entry, f"{{{ATOM}}}updated", _timestamp(paper.published))
    _sub(entry, f"{{{ATOM}}}title", paper.title)
    _sub(entry, f"{{{ATOM}}}summary", paper.abstract)
    for name in paper.authors:
        _sub(_sub(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name", name)
    if paper.comment:
        _sub(entry, f"{{{ARXIV}}}comment", paper.comment)
    alternate = page_url if alternate_is_page else (paper.links.abs or arxiv_id)
    _sub(entry, f"{{{ATOM}}}link", href=alternate, rel="alternate", type="text/html")
    if alternate_is_page and paper.links.abs:
        _sub(entry, f"{{{ATOM}}}link", href=paper.links.abs, rel="related", type="text/html")
    if paper.links.pdf:
        _sub(entry, f"{{{ATOM}}}link", href=paper.links.pdf, rel="related",
             type="application/pdf", title="pdf")
    if paper.categories:
        _sub(entry, f"{{{ARXIV}}}primary_category", term=paper.categories[0], scheme=ARXIV)
    for category in paper.categories:
        _sub(entry, f"{{{ATOM}}}category", term=category, scheme=ARXIV)


def feed(
    *,
    title: str,
    self_url: str,
    papers: Sequence[Paper],
    page_url: Callable[[Paper], str],
    opensearch: OpenSearch | None = None,
    alternate_is_page: bool = True,
) -> bytes:
    """An Atom document (UTF-8 bytes) listing ``papers``.

    ``page_url`` gives this server's page for a paper; with ``alternate_is_page`` False the
    entries link to arXiv as the arXiv API's do.
    """
    root = ET.Element(f"{{{ATOM}}}feed")
    _sub(root, f"{{{ATOM}}}link", href=self_url, rel="self", type="application/atom+xml")
    _sub(root, f"{{{ATOM}}}title", title, type="html")
    _sub(root, f"{{{ATOM}}}id", self_url)
    newest = max((p.published for p in papers if p.published), default=None)
    updated = _timestamp(newest) if newest else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sub(root, f"{{{ATOM}}}updated", updated)
    if opensearch is not None:
        _sub(root, f"{{{OPENSEARCH}}}totalResults", str(opensearch.total))
        _sub(root, f"{{{OPENSEARCH}}}startIndex", str(opensearch.start))
        _sub(root, f"{{{OPENSEARCH}}}itemsPerPage", str(opensearch.per_page))
    for paper in papers:
        _entry(root, paper, page_url(paper), alternate_is_page)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
