"""Collections: notes, exports (BibTeX, RIS, JSON) escaped for their formats, imports
matched against the catalog with the rest reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from papersift.citations import parse_bibtex
from papersift.library import Library
from papersift.papers import Links, Paper
from papersift.people import PersonError, User
from tests.postgres_fixtures import BACKENDS, place_on

TRICKY = Paper(
    id="2501.00001", title="Braces {unbalanced and 100% of $x_i^2$ & #tags ~ \\emph",
    abstract="An abstract\nover lines.\nER  - not a record end", published=date(2025, 1, 6),
    authors=("José Müller", "O'Brien, Patrick"), categories=("cs.CL", "cs.IR"),
    links=Links(abs="https://arxiv.org/abs/2501.00001"),
)
PLAIN = Paper(id="2501.00002", title="Matryoshka Representation Learning", abstract="Nested.",
              authors=("Aditya Kusupati",), published=date(2025, 1, 7))
DOI = Paper(id="doi:10.1000/xyz", title="A Journal Paper", abstract="Printed.",
            published=date(2024, 5, 1))


@pytest.fixture(params=BACKENDS)
def library(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    """A library of the tricky papers, in a directory and in PostgreSQL."""
    lib = Library(place_on(request, tmp_path / "lib"))
    lib.add([TRICKY.with_defaults(), PLAIN.with_defaults(), DOI])
    yield lib
    lib.close()


@pytest.fixture
def ada(library: Library) -> User:
    return library.add_user("ada@example.org")


def test_save_notes_and_views(library: Library, ada: User) -> None:
    saved = library.save(ada, TRICKY.id, note="<script>alert(1)</script>")
    assert saved.name == "Saved"
    group = library.create_collection(ada, "  Reading   group ")
    assert group.name == "Reading group"
    library.save(ada, PLAIN.id, collection_id=group.id)
    library.save(ada, TRICKY.id, collection_id=group.id)
    assert library.set_note(ada, group.id, PLAIN.id, "read §3")
    view = library.collection(ada, group.id)
    assert view is not None and [e.paper.id for e in view.entries] == [TRICKY.id, PLAIN.id]
    assert {e.paper.id: e.note for e in view.entries}[PLAIN.id] == "read §3"
    assert library.saved_in(ada, [TRICKY.id, DOI.id]) == {TRICKY.id: sorted([saved.id,
                                                                             group.id])}
    with pytest.raises(PersonError, match="already"):
        library.rename_collection(ada, group.id, "Saved")
    with pytest.raises(PersonError):
        library.create_collection(ada, "x" * 101)
    with pytest.raises(PersonError, match="2,000"):
        library.save(ada, PLAIN.id, note="x" * 2001)
    with pytest.raises(KeyError):
        library.save(ada, "2999.00000")
    bob = library.add_user("bob@example.org")
    assert library.collection(bob, group.id) is None
    with pytest.raises(KeyError):
        library.save(bob, PLAIN.id, collection_id=group.id)


def test_bibtex_is_escaped_and_reads_back(library: Library, ada: User) -> None:
    group = library.create_collection(ada, "Out")
    for paper, note in ((TRICKY, "50% done {"), (PLAIN, None), (DOI, None)):
        library.save(ada, paper.id, collection_id=group.id, note=note)
    out = library.export_collection(ada, group.id, "bibtex")
    assert out.filename == "Out.bib" and out.media_type.startswith("application/x-bibtex")
    text = out.text
    assert (r"title = {{Braces \{unbalanced and 100\% of \$x\_i\^{}2\$ \& \#tags \~{} "
            r"\textbackslash{}emph}}") in text
    assert "author = {José Müller and O'Brien, Patrick}" in text
    assert "eprint = {2501.00001}" in text and "primaryClass = {cs.CL}" in text
    assert "doi = {10.1000/xyz}" in text and r"note = {50\% done \{}" in text
    for entry in text.split("\n@")[0:]:  # every entry's braces balance
        body = entry.replace("\\{", "").replace("\\}", "")
        assert body.count("{") == body.count("}")
    back = {r.ids[0]: r for r in parse_bibtex(text)}
    assert set(back) == {TRICKY.id, PLAIN.id, DOI.id}
    assert back[PLAIN.id].title == PLAIN.title and all(r.error is None for r in back.values())


def test_ris_and_json(library: Library, ada: User) -> None:
    group = library.create_collection(ada, "Out")
    library.save(ada, TRICKY.id, collection_id=group.id, note="line one\nline two")
    ris = library.export_collection(ada, group.id, "ris").text
    lines = ris.split("\r\n")
    assert lines[0] == "TY  - UNPB" and lines[-2] == "ER  - "
    assert "AB  - An abstract over lines. ER - not a record end" in lines
    assert "N1  - line one line two" in lines and "AU  - O'Brien, Patrick" in lines
    assert sum(line.startswith("ER  -") for line in lines) == 1  # one record, one end
    data = json.loads(library.export_collection(ada, group.id, "json").text)
    assert data["collection"] == "Out" and data["papers"][0]["title"] == TRICKY.title
    assert data["papers"][0]["note"] == "line one\nline two"
    with pytest.raises(PersonError, match="format"):
        library.export_collection(ada, group.id, "docx")


BIB = r"""
% a comment line
@string{arxiv = "arXiv"}
@article{kusupati2022,
  title = {{Matryoshka} Representation Learning},
  author = {Kusupati, Aditya and others},
  year = 2022,
}
@misc{byeprint, title="Something else", eprint = {2501.00001v3}, archivePrefix={arXiv},
      note = {read this {first}}}
@article{journal, title = {Printed}, doi = {10.1000/XYZ}}
@inproceedings{missing, title = {A Paper This Library Does Not Have}, year = {2020}}
@article{broken, title = {never closed
"""


def test_import_bibtex_matches_ids_then_titles_and_reports_the_rest(library: Library,
                                                                    ada: User) -> None:
    group = library.create_collection(ada, "In")
    report = library.import_collection(ada, group.id, BIB)
    assert sorted(paper for _, paper in report.matched) == sorted([PLAIN.id, TRICKY.id, DOI.id])
    assert report.added == 3
    unmatched = {r.label: r for r in report.unmatched}
    assert set(unmatched) == {"missing", "@article"}
    assert unmatched["missing"].line == 12 and unmatched["@article"].line == 13
    assert "never ends" in (unmatched["@article"].error or "")
    view = library.collection(ada, group.id)
    assert view is not None
    assert {e.paper.id: e.note for e in view.entries}[TRICKY.id] == "read this first"
    again = library.import_collection(ada, group.id, BIB)
    assert again.added == 0 and len(again.matched) == 3  # nothing twice


def test_import_a_list_of_ids(library: Library, ada: User) -> None:
    group = library.create_collection(ada, "Ids")
    text = ("# my list\n2501.00001v2, https://arxiv.org/abs/2501.00002\n"
            "arXiv:2999.00001 doi:10.1000/XYZ\n")
    report = library.import_collection(ada, group.id, text, "ids")
    assert sorted(p for _, p in report.matched) == sorted([TRICKY.id, PLAIN.id, DOI.id])
    assert [(r.line, r.label) for r in report.unmatched] == [(3, "arXiv:2999.00001")]
    assert report.summary() == "3 matched (3 new in 'Ids'), 1 not found in this library"
    with pytest.raises(KeyError):
        library.import_collection(library.add_user("bob@example.org"), group.id, text)
