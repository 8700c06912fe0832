"""The arXiv API's Atom feed (``http://export.arxiv.org/api/query?...``).

Per ``<entry>``: ``<id>`` (``http://arxiv.org/abs/2403.01234v2``), ``<published>``,
``<updated>``, ``<title>``, ``<summary>``, ``<author><name>``, ``<arxiv:primary_category>``
and ``<category term=...>``, ``<link rel="alternate">`` and ``<link title="pdf">``,
``<arxiv:comment>``, ``<arxiv:doi>`` (see the arXiv API user manual). When a query is bad,
the API answers with a single entry whose id is ``.../api/errors#...``: that becomes a
:class:`SourceError` carrying the API's message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from papersift.papers import Paper, Rejected, normalize_text

from .fields import BadRecord, EmptyRecord, to_paper
from .files import Input, SourceError
from .options import Options
from .xmlstream import child_text, iter_records

__all__ = ["ARXIV_NS", "ATOM_NS", "entry_fields", "read"]

ATOM_NS = "http://www.w3.org/2005/Atom"
ARXIV_NS = "http://arxiv.org/schemas/atom"
_A = "{" + ATOM_NS + "}"
_X = "{" + ARXIV_NS + "}"


def _categories(entry: ET.Element) -> list[str]:
    terms = [e.get("term") for e in entry.findall(_X + "primary_category")]
    terms += [e.get("term") for e in entry.findall(_A + "category")]
    return list(dict.fromkeys(t for t in terms if t))  # primary first, no repeats


def entry_fields(entry: ET.Element) -> dict[str, Any]:
    """The fields of one ``<entry>``, named as :func:`~.fields.to_paper` reads them."""
    record: dict[str, Any] = {
        "id": child_text(entry, _A + "id"),
        "title": child_text(entry, _A + "title"),
        "abstract": child_text(entry, _A + "summary"),
        "authors": [child_text(a, _A + "name") or "" for a in entry.findall(_A + "author")],
        "published": child_text(entry, _A + "published") or child_text(entry, _A + "updated"),
        "categories": _categories(entry),
        "comment": child_text(entry, _X + "comment"),
    }
    for link in entry.findall(_A + "link"):
        if link.get("title") == "pdf":
            record["pdf_url"] = _https(link.get("href"))
        elif link.get("rel", "alternate") == "alternate":
            record["abs_url"] = _https(link.get("href"))
    return record


def _https(url: str | None) -> str | None:
    """The API still links ``http://arxiv.org``; other sources give ``https``."""
    if url and url.startswith("http://arxiv.org/"):
        return "https://" + url.removeprefix("http://")
    return url


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per ``<entry>``."""
    limits = options.limits
    for line, entry, problem in iter_records(inp, _A + "feed", frozenset({_A + "entry"}), limits):
        if problem is not None:
            yield Rejected(inp.name, line, problem)
            continue
        record = entry_fields(entry)
        if "/api/errors" in (record["id"] or ""):
            message = normalize_text(record["abstract"]) or "unknown error"
            raise SourceError(f"{inp.name}: the arXiv API answered with an error: {message}")
        try:
            yield to_paper(record, options.fields, limits=limits)
        except BadRecord as err:
            yield Rejected(inp.name, line, str(err), empty=isinstance(err, EmptyRecord))
