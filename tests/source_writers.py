"""Write paper records in each source format, as their publishers lay them out, for the
round-trip and damage tests: what is written must be what is read back.

:func:`write` returns the file's bytes and, per record, the byte offset where the record
ends, so a test can tell which records lie wholly before a cut (an XML record ends with
its end tag, any other with the line break after its last line).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

__all__ = ["FORMATS", "XML_FORMATS", "Record", "expected_fields", "write"]


@dataclass(frozen=True)
class Record:
    """What a test writes: normalised text (single spaces, no control characters)."""

    id: str  # a new-style arXiv id, "2401.00001"
    title: str
    abstract: str
    authors: tuple[tuple[str, str], ...]  # (first, last), one word each
    published: date
    categories: tuple[str, ...]
    upvotes: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{first} {last}" for first, last in self.authors)


def _lines(records: Sequence[Record], line: Callable[[Record], str], head: str = "",
           tail: str = "", after: int = 0) -> tuple[bytes, list[int]]:
    """Records laid one after another; a record ends ``after`` bytes before its text does
    (the blank line after a page entry, the line break after an XML end tag)."""
    out, ends = head.encode(), []
    for record in records:
        out += line(record).encode()
        ends.append(len(out) - after)
    return out + tail.encode(), ends


def _jsonl(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    return _lines(records, lambda r: json.dumps({
        "id": r.id, "title": r.title, "abstract": r.abstract, "authors": list(r.names),
        "published": r.published.isoformat(), "categories": list(r.categories),
        "upvotes": r.upvotes,
    }) + "\n")


def _kaggle(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    return _lines(records, lambda r: json.dumps({
        "id": r.id, "submitter": r.names[0] if r.names else None, "authors": ", ".join(r.names),
        "title": r.title, "comments": None, "journal-ref": None, "doi": None,
        "categories": " ".join(r.categories), "abstract": r.abstract,
        "versions": [{"version": "v1",
                      "created": r.published.strftime("%a, %d %b %Y 10:00:00 GMT")}],
        "update_date": r.published.isoformat(),
        "authors_parsed": [[last, first, ""] for first, last in r.authors],
    }) + "\n")


def _beir(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    return _lines(records, lambda r: json.dumps(
        {"_id": r.id, "title": r.title, "text": r.abstract, "metadata": {}}) + "\n")


def _text(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    return _lines(records, lambda r: r.abstract + "\n")


def _csv(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    def row(values: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue()

    header = row(["id", "title", "abstract", "authors", "published", "categories", "upvotes"])
    return _lines(records, lambda r: row([
        r.id, r.title, r.abstract, "; ".join(r.names), r.published.isoformat(),
        " ".join(r.categories), str(r.upvotes),
    ]), head=header)


def _atom(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">\n  <title>query</title>\n')

    def entry(r: Record) -> str:
        authors = "".join(f"<author><name>{escape(n)}</name></author>" for n in r.names)
        cats = "".join(f"<category term={quoteattr(c)}/>" for c in r.categories)
        return (
            f"  <entry>\n    <id>http://arxiv.org/abs/{r.id}v1</id>\n"
            f"    <published>{r.published.isoformat()}T10:00:00Z</published>\n"
            f"    <title>{escape(r.title)}</title>\n    <summary>{escape(r.abstract)}</summary>\n"
            f"    {authors}{cats}\n  </entry>\n"
        )

    return _lines(records, entry, head=head, tail="</feed>\n", after=1)


def _oai(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH '
            'xmlns="http://www.openarchives.org/OAI/2.0/">\n<ListRecords>\n')

    def record(r: Record) -> str:
        authors = "".join(
            f"<author><keyname>{escape(last)}</keyname><forenames>{escape(first)}</forenames>"
            "</author>" for first, last in r.authors
        )
        return (
            f"<record><header><identifier>oai:arXiv.org:{r.id}</identifier></header>\n"
            f'<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{r.id}</id>\n'
            f"<created>{r.published.isoformat()}</created><authors>{authors}</authors>\n"
            f"<title>{escape(r.title)}</title><categories>{escape(' '.join(r.categories))}"
            f"</categories>\n<abstract>{escape(r.abstract)}</abstract></arXiv></metadata>"
            "</record>\n"
        )

    return _lines(records, record, head=head, tail="</ListRecords>\n</OAI-PMH>\n", after=1)


def _daily_json(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    items = [json.dumps({"paper": {
        "id": r.id, "title": r.title, "summary": r.abstract,
        "authors": [{"name": n} for n in r.names],
        "publishedAt": f"{r.published.isoformat()}T10:00:00.000Z", "upvotes": r.upvotes,
    }}) for r in records]
    out, ends = b"[\n", []
    for i, item in enumerate(items):  # one item a line, as a pretty-printer lays them out
        out += (item + (",\n" if i + 1 < len(items) else "\n")).encode()
        ends.append(len(out))
    return out + b"]\n", ends


def _daily_page(records: Sequence[Record]) -> tuple[bytes, list[int]]:
    def entry(r: Record) -> str:
        byline = f"  • {len(r.authors)} authors" if len(r.authors) != 1 else "  • 1 author"
        votes = f" {r.upvotes}" if r.upvotes else ""
        day = f"{r.published:%b} {r.published.day}, {r.published.year}{votes}"
        return f"{r.title}\n\n{r.abstract}\n\n{byline}\n·\n{day}\n\n"

    return _lines(records, entry, head="Daily Papers\n\n", after=1)


WRITERS: dict[str, Callable[[Sequence[Record]], tuple[bytes, list[int]]]] = {
    "text": _text,
    "daily-page": _daily_page,
    "jsonl": _jsonl,
    "kaggle": _kaggle,
    "atom": _atom,
    "oai-pmh": _oai,
    "daily-json": _daily_json,
    "beir": _beir,
    "csv": _csv,
}
FORMATS = tuple(WRITERS)
XML_FORMATS = ("atom", "oai-pmh")


def write(fmt: str, records: Sequence[Record]) -> tuple[bytes, list[int]]:
    """The bytes of a ``fmt`` file holding ``records``, and where each record ends."""
    return WRITERS[fmt](records)


def expected_fields(fmt: str, record: Record) -> dict[str, object]:
    """The Paper fields ``fmt`` carries for ``record``, as they must read back."""
    if fmt == "text":
        return {"abstract": record.abstract}
    fields: dict[str, object] = {"title": record.title, "abstract": record.abstract}
    if fmt == "beir":
        return {**fields, "id": record.id}
    if fmt == "daily-page":
        return {**fields, "published": record.published, "upvotes": record.upvotes,
                "author_count": len(record.authors)}
    fields.update(id=record.id, authors=record.names, published=record.published)
    if fmt in ("jsonl", "kaggle", "atom", "oai-pmh", "csv"):
        fields["categories"] = record.categories
    if fmt in ("jsonl", "csv", "daily-json"):
        fields["upvotes"] = record.upvotes
    return fields
