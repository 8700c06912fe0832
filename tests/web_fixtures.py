"""Small real libraries for the web tests: arXiv listings, Daily Papers, one XSS paper."""

from __future__ import annotations

import gzip
import json
from datetime import date
from itertools import islice
from pathlib import Path

from papersift.library import Library
from papersift.papers import Links, Paper, normalize_id, normalize_text

XSS_ID = "2503.99999"
XSS_TITLE = 'Attack <script>alert("title")</script> & <b>bold</b> "quotes"'
XSS_ABSTRACT = (
    "We test escaping of gaussian splatting abstracts. <script>alert(1)</script> "
    "<img src=x onerror=alert(2)> The bound is $\\mathcal{O}(T^{-1/2})$ & more."
)


def arxiv_papers(path: Path, n: int) -> list[Paper]:
    """The first ``n`` papers of the 75k arXiv listing dump."""
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in islice(lines, n):
            row = json.loads(line)
            papers.append(Paper(
                id=row["id"], title=normalize_text(row["title"]),
                abstract=normalize_text(row["abstract"]), authors=tuple(row["authors"]),
                published=date.fromisoformat(row["listing_date"]),
                categories=tuple(row["categories"]), comment=row.get("comment"),
                links=Links(abs=row.get("abs_url"), pdf=row.get("pdf_url")),
            ).with_defaults())
    return papers


def daily_papers(path: Path, n: int) -> list[Paper]:
    """The first ``n`` Hugging Face Daily Papers entries (with upvotes)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    papers = []
    for key, row in islice(rows.items(), n):
        ident, version = normalize_id(key)
        papers.append(Paper(
            id=ident, version=version, title=normalize_text(row["title"]),
            abstract=normalize_text(row["abstract"]), authors=tuple(row.get("authors") or ()),
            published=date.fromisoformat(row["publication_date"][:10]),
            upvotes=int(row.get("upvotes") or 0),
            organization="Hugging Face" if int(row.get("upvotes") or 0) > 40 else None,
        ).with_defaults())
    return papers


def xss_paper(published: date) -> Paper:
    """A paper whose title and abstract try to inject markup and script."""
    return Paper(
        id=XSS_ID, title=XSS_TITLE, abstract=XSS_ABSTRACT,
        authors=("Mallory <script>alert(3)</script>", "Alice Example"),
        published=published, categories=("cs.CR", "cs.CV"), upvotes=7,
        organization="<i>Evil</i> Org",
    ).with_defaults()


def build_library(root: Path, arxiv: Path, daily: Path, *, n_arxiv: int = 300,
                  n_daily: int = 200) -> Library:
    """A library in ``root`` with real papers and the XSS paper (on the newest arXiv day)."""
    library = Library(root)
    listing = arxiv_papers(arxiv, n_arxiv)
    newest = max(p.published for p in listing if p.published)
    library.add([*listing, *daily_papers(daily, n_daily), xss_paper(newest)])
    return library
