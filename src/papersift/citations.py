"""Citation formats: collections out as BibTeX, RIS or JSON; BibTeX and id lists in.

Everything written is escaped for its format: BibTeX values have TeX's special characters
escaped (so braces always balance and a title can never end its field early), RIS values
are single lines (a line break could start a new tag), JSON is JSON. Reading BibTeX is
tolerant: each entry's identifiers (arXiv ``eprint``, an arXiv URL or ``arXiv:`` note, a
DOI) and title are taken out; an entry that cannot be read is reported with its line.

>>> print(bibtex([Cited(Paper(id="2401.00001", title="A_B & {C}", abstract="",
...     authors=("Ada Lovelace",), published=date(2024, 1, 2)))]).splitlines()[1])
  title = {{A\\_B \\& \\{C\\}}},
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from papersift.papers import Paper, normalize_id, normalize_text, split_arxiv_version

__all__ = ["Cited", "Reference", "bibtex", "parse_bibtex", "parse_ids", "ris", "to_json"]

#: The most entries one import reads (a larger file is cut, and says so).
MAX_ENTRIES = 5000


@dataclass(frozen=True, slots=True)
class Cited:
    """A paper as a collection exports it: with the owner's note."""

    paper: Paper
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """One entry of an imported file: where it was, its ids and title (to match), or why
    it could not be read."""

    line: int
    label: str
    ids: tuple[str, ...] = ()
    title: str | None = None
    note: str | None = None
    error: str | None = None


# -- writing ----------------------------------------------------------------------------
_TEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
        "$": r"\$", "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}
_TEX_RE = re.compile(r"[\\{}&%$#_^~]")


def tex(text: str) -> str:
    """Text as a BibTeX value shows it: TeX's special characters escaped, one line."""
    return _TEX_RE.sub(lambda m: _TEX[m.group()], normalize_text(text))


def _cite_key(paper: Paper, taken: set[str]) -> str:
    """``lovelace2024analytical``: first author's last name, year, first long title word."""
    def ascii_word(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9]", "", plain).lower()

    last = ascii_word(paper.authors[0].split()[-1]) if paper.authors else ""
    word = next((ascii_word(w) for w in paper.title.split() if len(ascii_word(w)) > 3), "")
    base = f"{last or 'paper'}{paper.published.year if paper.published else ''}{word}"
    key, n = base, 0
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 1) if n <= 26 else n}"
    taken.add(key)
    return key


def bibtex(items: Iterable[Cited]) -> str:
    """A BibTeX file: one ``@misc`` per paper (arXiv papers with eprint and class)."""
    taken: set[str] = set()
    entries = []
    for item in items:
        paper = item.paper
        fields: list[tuple[str, str]] = [("title", "{" + tex(paper.title) + "}")]
        if paper.authors:
            fields.append(("author", " and ".join(tex(a) for a in paper.authors)))
        if paper.published:
            fields += [("year", str(paper.published.year)),
                       ("month", paper.published.strftime("%b").lower())]
        if paper.is_arxiv:
            fields += [("eprint", tex(paper.id)), ("archivePrefix", "arXiv")]
            if paper.categories:
                fields.append(("primaryClass", tex(paper.categories[0])))
        elif paper.id.startswith("doi:"):
            fields.append(("doi", tex(paper.id[4:])))
        if paper.links.abs:
            fields.append(("url", tex(paper.links.abs)))
        if item.note:
            fields.append(("note", tex(item.note)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{_cite_key(paper, taken)},\n{body}\n}}\n")
    return "\n".join(entries)


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {normalize_text(value)}"


def ris(items: Iterable[Cited]) -> str:
    """An RIS file (Zotero, EndNote, Mendeley): one ``UNPB`` record per paper."""
    records = []
    for item in items:
        paper = item.paper
        lines = ["TY  - UNPB", _ris_line("TI", paper.title)]
        lines += [_ris_line("AU", name) for name in paper.authors]
        if paper.published:
            lines += [_ris_line("PY", str(paper.published.year)),
                      _ris_line("DA", paper.published.strftime("%Y/%m/%d"))]
        if paper.abstract:
            lines.append(_ris_line("AB", paper.abstract))
        lines.append(_ris_line("ID", paper.id))
        if paper.id.startswith("doi:"):
            lines.append(_ris_line("DO", paper.id[4:]))
        if paper.links.abs:
            lines.append(_ris_line("UR", paper.links.abs))
        lines += [_ris_line("KW", c) for c in paper.categories]
        if item.note:
            lines.append(_ris_line("N1", item.note))
        lines.append("ER  - ")
        records.append("\r\n".join(lines) + "\r\n")
    return "".join(records)


def to_json(name: str, items: Sequence[Cited]) -> str:
    """The collection as JSON: its name and each paper's fields and note."""
    def paper_json(item: Cited) -> dict[str, Any]:
        p = item.paper
        return {"id": p.id, "title": p.title, "authors": list(p.authors),
                "published": p.published.isoformat() if p.published else None,
                "categories": list(p.categories), "abstract": p.abstract,
                "url": p.links.abs, "pdf": p.links.pdf, "note": item.note}

    return json.dumps({"collection": name, "papers": [paper_json(i) for i in items]},
                      ensure_ascii=False, indent=1) + "\n"


# -- reading ----------------------------------------------------------------------------
_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*[{(]")
_FIELD = re.compile(r"\s*([A-Za-z][\w:.+-]*)\s*=\s*")
_ARXIV_IN_TEXT = re.compile(r"(?:arxiv[:\s/]*|arxiv\.org/(?:abs|pdf)/)"
                            r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})", re.I)


def _braced(text: str, start: int, close: str) -> int:
    """Index just past the ``close`` that ends a value opened before ``start``."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}" and depth:
            depth -= 1
        elif c == close and depth == 0:
            return i + 1
        i += 1
    raise ValueError("the entry never ends (unbalanced braces or quotes)")


def _value(body: str, at: int) -> tuple[str, int]:
    """A field value at ``at``: ``{...}``, ``"..."`` or a bare word; returns (value, end)."""
    if at >= len(body):
        raise ValueError("a field has no value")
    if body[at] == "{":
        end = _braced(body, at + 1, "}")
        return body[at + 1 : end - 1], end
    if body[at] == '"':
        end = _braced(body, at + 1, '"')
        return body[at + 1 : end - 1], end
    bare = re.match(r"[^,}\s]+", body[at:])
    if bare is None:
        raise ValueError("a field has no value")
    return bare.group(), at + bare.end()


def _untex(value: str) -> str:
    """A BibTeX value as plain text (braces and common escapes dropped)."""
    value = re.sub(r"\\([&%$#_{}])", r"\1", value)
    return normalize_text(value.replace("{", "").replace("}", ""))


def _fields(body: str) -> dict[str, str]:
    found: dict[str, str] = {}
    at = body.find(",") + 1  # past the cite key
    while at and at < len(body):
        field = _FIELD.match(body, at)
        if field is None:
            break
        value, at = _value(body, field.end())
        found[field.group(1).lower()] = value
        comma = re.match(r"\s*,?", body[at:])
        at += comma.end() if comma else 0
    return found


def _ids(fields: dict[str, str]) -> tuple[str, ...]:
    ids: list[str] = []
    eprint = fields.get("eprint", "").strip()
    if eprint and split_arxiv_version(_untex(eprint)):
        ids.append(normalize_id(_untex(eprint))[0])
    for name in ("url", "journal", "note", "howpublished", "arxivid", "archiveprefix"):
        for found in _ARXIV_IN_TEXT.findall(fields.get(name, "")):
            ids.append(normalize_id(found)[0])
    if fields.get("doi"):
        ids.append(normalize_id("doi:" + _untex(fields["doi"]))[0])
    return tuple(dict.fromkeys(ids))


def parse_bibtex(text: str) -> list[Reference]:
    """The entries of a BibTeX file (``@comment``, ``@string`` and ``@preamble`` skipped)."""
    refs: list[Reference] = []
    for match in _ENTRY.finditer(text):
        kind = match.group(1).lower()
        line = text.count("\n", 0, match.start()) + 1
        if kind in ("comment", "string", "preamble"):
            continue
        if len(refs) >= MAX_ENTRIES:
            refs.append(Reference(line, "(the rest)", error=f"only the first {MAX_ENTRIES} "
                                  "entries are read; split the file"))
            break
        close = "}" if text[match.end() - 1] == "{" else ")"
        try:
            end = _braced(text, match.end(), close)
            body = text[match.end() : end - 1]
            label = body.split(",", 1)[0].strip() or f"@{kind}"
            fields = _fields(body)
        except ValueError as error:
            refs.append(Reference(line, f"@{kind}", error=str(error)))
            continue
        title = _untex(fields["title"]) if fields.get("title") else None
        note = _untex(fields["note"]) if fields.get("note") else None
        refs.append(Reference(line, label, _ids(fields), title, note))
    return refs


def parse_ids(text: str) -> list[Reference]:
    """A list of arXiv ids (or DOIs, or arXiv URLs), separated by spaces, commas or lines;
    ``#`` starts a comment."""
    refs: list[Reference] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for token in re.split(r"[\s,;]+", line.split("#", 1)[0].strip()):
            if not token:
                continue
            if len(refs) >= MAX_ENTRIES:
                return [*refs, Reference(number, token, error=f"only the first {MAX_ENTRIES} "
                                         "ids are read; split the list")]
            ident = normalize_id(token)[0]
            refs.append(Reference(number, token, (ident,)))
    return refs
