"""One paper, one record: the seed page's hashed entries and arXiv records of the same
papers become one paper each, whichever arrives first, and stay one on re-reading."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from papersift.identity import fill, id_rank, same_paper, title_key
from papersift.library import Library
from papersift.papers import Paper
from tests.conftest import REPO, seed

EXAMPLES = REPO / "examples" / "seed-page-papers.atom"
KUSUPATI = ("Aditya Kusupati", "Gantavya Bhatt", "Aniket Rege", "Matthew Wallingford",
            "Aditya Sinha", "Vivek Ramanujan", "William Howard-Snyder", "Kaifeng Chen",
            "Sham Kakade", "Prateek Jain", "Ali Farhadi")


def _paper(pid: str, title: str = "Go Wider Instead of Deeper", **fields: object) -> Paper:
    return Paper(id=pid, title=title, abstract="", **fields)  # type: ignore[arg-type]


def test_the_rule() -> None:
    assert title_key("$\\textit{Labor Space}$: A Unifying Representation") == \
        "labor space a unifying representation"
    assert title_key("Déjà vu—the  Return") == title_key("deja vu: the return")
    arxiv = _paper("2107.11817", authors=("Fuzhao Xue", "Ziji Shi", "Yang You"))
    assert same_paper(arxiv, _paper("sha256:1", author_count=3))
    assert not same_paper(arxiv, _paper("sha256:1", author_count=6))
    assert same_paper(arxiv, _paper("doi:10.1/x", authors=("Xue, Fuzhao", "Y. You", "Z. Q")))
    assert not same_paper(arxiv, _paper("doi:10.1/x", authors=("Someone Else", "A. Nother")))
    assert not same_paper(arxiv, _paper("2107.99999", authors=arxiv.authors))  # two arXiv ids
    assert not same_paper(arxiv, _paper("sha256:1", "Go Wider Instead of Deep", author_count=3))
    # no author information on one side: a title of four words or more, dates near
    org = _paper("sha256:2", organization="Lab", published=date(2021, 7, 25))
    assert same_paper(replace_date(arxiv, date(2021, 7, 26)), org)
    assert not same_paper(replace_date(arxiv, date(2024, 7, 26)), org)
    assert [id_rank(i) for i in ("2205.13147", "doi:10.1/x", "corpus-1", "sha256:ab")] == \
        [0, 1, 2, 3]
    kept = fill(_paper("2205.13147", upvotes=1, categories=("cs.LG",)),
                _paper("sha256:1", upvotes=5, organization="Lab", categories=("x",)))
    assert (kept.id, kept.upvotes, kept.organization, kept.categories) == \
        ("2205.13147", 5, "Lab", ("cs.LG",))


def replace_date(paper: Paper, day: date) -> Paper:
    from dataclasses import replace

    return replace(paper, published=day)


@pytest.mark.parametrize("order", ["seed page first", "arXiv records first"])
def test_seed_entries_and_arxiv_records_become_one_paper(tmp_path: Path, order: str) -> None:
    inputs = [str(seed("003")), str(EXAMPLES)]
    if order != "seed page first":
        inputs.reverse()
    with Library(tmp_path / "lib") as lib:
        first = lib.ingest(inputs)
        assert first.ok and first.merged == 3, first.summary()
        paper = lib.get("2205.13147")
        assert paper is not None and paper.authors == KUSUPATI
        assert paper.categories == ("cs.LG",) and paper.published == date(2022, 5, 26)
        assert "merged into the same paper" in first.summary()
        hashed = next(p for p in _seed_entries() if p.title == paper.title)
        assert lib.get(hashed.id) == paper  # the seed page's id keeps resolving
        titles = [r.paper.title for r in lib.search("matryoshka", mode="lexical", limit=50)]
        assert titles.count("Matryoshka Representation Learning") == 1
        count = len(lib)
        again = lib.ingest(list(reversed(inputs)))  # re-reading changes nothing
        assert again.counts.added == 0 and again.counts.updated == 0, again.summary()
        assert len(lib) == count and lib.get("2205.13147") == paper


def test_votes_follow_the_merge(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as lib:
        lib.ingest([str(seed("003"))])
        hashed = [p for p in _seed_entries() if p.title == "Matryoshka Representation Learning"]
        assert lib.upvote(hashed[0].id, "voter-1").voted
        lib.ingest([str(EXAMPLES)])
        paper = lib.get("2205.13147")
        assert paper is not None and paper.votes_here == 1
        assert lib.voted(["2205.13147"], "voter-1") == {"2205.13147"}
        assert lib.check() == []


def _seed_entries() -> list[Paper]:
    from papersift import sources

    return [p for p in sources.read(seed("003")) if isinstance(p, Paper)]
