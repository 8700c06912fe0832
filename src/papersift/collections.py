"""Collections: a person's named lists of saved papers with notes; exports and imports.

Functions over the user store and the paper store; the faces reach them through
:class:`papersift.members.Members` (part of :class:`~papersift.library.Library`).
Imports match each entry against the catalog by its ids (arXiv id, DOI), then by its exact
title, and report the entries they could not match with the line they came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from papersift.backends.base import PaperStore, UserStore
from papersift.citations import Cited, Reference, bibtex, parse_bibtex, parse_ids, ris, to_json
from papersift.papers import Paper
from papersift.people import Collection, PersonError, User

__all__ = [
    "DEFAULT_NAME",
    "Entry",
    "ExportFormat",
    "Exported",
    "ImportReport",
    "View",
    "clean_name",
    "clean_note",
    "export",
    "import_references",
    "parse",
    "view",
]

DEFAULT_NAME = "Saved"
ExportFormat = Literal["bibtex", "ris", "json"]
MAX_COLLECTIONS = 200
MAX_NOTE = 2000
_FORMATS: dict[str, tuple[str, str]] = {
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "json": ("application/json", "json"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """A saved paper with its note."""

    paper: Paper
    note: str | None
    added: datetime


@dataclass(frozen=True, slots=True)
class View:
    """A collection with its papers, the most recently added first."""

    collection: Collection
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class Exported:
    """A collection written in a citation format, with its media type and file name."""

    text: str
    media_type: str
    filename: str


@dataclass
class ImportReport:
    """What an import did: papers matched (and how many were new), entries not matched."""

    collection: Collection
    matched: list[tuple[Reference, str]] = field(default_factory=list)
    added: int = 0
    unmatched: list[Reference] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.matched)} matched ({self.added} new in {self.collection.name!r}), "
                f"{len(self.unmatched)} not found in this library")


def clean_name(name: str) -> str:
    """A collection name: one line, 1 to 100 characters."""
    text = " ".join((name or "").split())
    if not 1 <= len(text) <= 100:
        raise PersonError("a collection needs a name of 1 to 100 characters")
    return text


def clean_note(note: str | None) -> str | None:
    """A note: at most 2,000 characters (empty: no note)."""
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise PersonError(f"a note has at most {MAX_NOTE:,} characters")
    return text or None


def create(users: UserStore, user: User, name: str) -> Collection:
    """A new collection (or the user's collection of that name)."""
    name = clean_name(name)
    existing = users.collections(user.id)
    if len(existing) >= MAX_COLLECTIONS and all(c.name != name for c in existing):
        raise PersonError(f"you have {MAX_COLLECTIONS} collections already")
    return users.add_collection(user.id, name)


def view(users: UserStore, store: PaperStore, user: User, collection_id: int) -> View | None:
    """A user's collection with its papers; None when they have no collection of that id."""
    found = next((c for c in users.collections(user.id) if c.id == collection_id), None)
    if found is None:
        return None
    items = users.items(user.id, collection_id)
    keys = store.keys_of([i.paper_id for i in items])
    papers = {p.id: p for p in store.papers(list(keys.values())).values()}
    entries = [Entry(papers[i.paper_id], i.note, i.added) for i in items if i.paper_id in papers]
    return View(found, entries)


def export(found: View, fmt: str) -> Exported:
    """The collection as BibTeX, RIS or JSON."""
    if fmt not in _FORMATS:
        raise PersonError(f"format {fmt!r}: use bibtex, ris or json")
    cited = [Cited(e.paper, e.note) for e in found.entries]
    text = {"bibtex": lambda: bibtex(cited), "ris": lambda: ris(cited),
            "json": lambda: to_json(found.collection.name, cited)}[fmt]()
    media, suffix = _FORMATS[fmt]
    stem = re.sub(r"[^A-Za-z0-9]+", "-", found.collection.name).strip("-")  # header-safe
    return Exported(text, media, f"{stem or 'collection'}.{suffix}")


def parse(text: str, fmt: str) -> list[Reference]:
    """Entries of an import: ``bibtex``, ``ids`` (a list of arXiv ids), or ``auto``."""
    if len(text) > 5_000_000:
        raise PersonError("the file is over 5 MB; split it")
    if fmt == "auto":
        fmt = "bibtex" if "@" in text and "{" in text else "ids"
    if fmt == "bibtex":
        return parse_bibtex(text)
    if fmt == "ids":
        return parse_ids(text)
    raise PersonError(f"format {fmt!r}: use bibtex or ids")


def import_references(users: UserStore, store: PaperStore, user: User, collection: Collection,
                      refs: Sequence[Reference],
                      find_title: Callable[[str], str | None]) -> ImportReport:
    """Save every entry that matches a paper of the library into ``collection``."""
    report = ImportReport(collection)
    known = store.keys_of([i for r in refs for i in r.ids])
    for ref in refs:
        paper_id = next((i for i in ref.ids if i in known), None)
        if paper_id is None and ref.error is None and ref.title:
            paper_id = find_title(ref.title)
        if paper_id is None:
            report.unmatched.append(ref)
        else:
            report.matched.append((ref, paper_id))
    report.added = users.add_items(user.id, collection.id,
                                   [(paper_id, (ref.note or "")[:MAX_NOTE].strip() or None)
                                    for ref, paper_id in report.matched])
    return report
