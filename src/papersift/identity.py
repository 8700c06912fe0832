"""One paper, one record: the same paper read from sources that give it different ids.

A Daily Papers listing page has no arXiv ids (its entries get content hashes,
``sha256:…``), a Daily Papers JSON entry and an arXiv record have the arXiv id, a journal
record a DOI. When a record arrives whose id the library does not know, it is compared
with the stored papers of the same *normalised title* (:func:`title_key`), and it is the
same paper (:func:`same_paper`) when

- the titles are equal once case, accents, LaTeX commands and punctuation are ignored, and
- their authors agree: at least half of the shorter list shares a surname; where one
  source only counts its authors (the listing page's "11 authors"), the counts are equal;
  where one source says nothing of its authors (a lab's name instead), the title has at
  least four words and both were published within about a year of each other;
- and the two ids are not both arXiv ids (or both DOIs): those name distinct works.

The merged paper keeps the best id (:func:`id_rank`: arXiv, then DOI, then any other key,
then a content hash) and every source's fields: the record with the best id states what it
states, the others fill what it leaves empty (:func:`fill`), upvotes are the most any
source reported. The other ids stay aliases of the paper, so old links and re-reading a
source keep landing on it; its votes and its vector are those of the one stored row.

:func:`upsert` is the one place the library calls: it resolves a batch's ids against the
store (``aliases_of``, ``titled``, ``identify``) and then writes it with ``upsert``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from papersift.backends.base import UpsertCounts
from papersift.papers import Links, Paper, split_arxiv_version
from papersift.query import name_key

if TYPE_CHECKING:
    from papersift.backends.base import PaperStore

__all__ = ["fill", "id_rank", "resolve", "same_paper", "title_key", "upsert"]

_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
_WORD = re.compile(r"[^\W_]+")
#: Most days between two sources' dates of one paper when neither names its authors.
NEAR_DAYS = 400


def title_key(title: str) -> str:
    """A title as papers are matched by it: words of letters and digits, lower-cased,
    accents and LaTeX commands removed.

    >>> title_key("$\\\\textit{Labor Space}$: A Unifying Representation")
    'labor space a unifying representation'
    """
    folded = unicodedata.normalize("NFKD", _LATEX_COMMAND.sub(" ", title or "").casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain))


def _kind(paper_id: str) -> str:
    if split_arxiv_version(paper_id) is not None:
        return "arxiv"
    if paper_id.startswith("doi:"):
        return "doi"
    if paper_id.startswith("sha256:"):
        return "content"
    return "other"


_RANKS = {"arxiv": 0, "doi": 1, "other": 2, "content": 3}


def id_rank(paper_id: str) -> int:
    """How good an id is to keep: arXiv 0, DOI 1, another source's key 2, content hash 3."""
    return _RANKS[_kind(paper_id)]


def _surname(name: str) -> str:
    """``'Kusupati, Aditya'`` and ``'Aditya Kusupati'`` -> ``'kusupati'``."""
    if "," in name:
        return name_key(name.split(",", 1)[0])
    words = name_key(name).split()
    return words[-1] if words else ""


def _authors_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    shared = {_surname(n) for n in a} & {_surname(n) for n in b}
    shared.discard("")
    return len(shared) >= max(1, (min(len(a), len(b)) + 1) // 2)


def _near(a: date | None, b: date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= NEAR_DAYS


def same_paper(a: Paper, b: Paper) -> bool:
    """Whether two records with different ids are one paper (see the module docstring)."""
    key = title_key(a.title)
    if not key or key != title_key(b.title) or a.id == b.id:
        return False
    if _kind(a.id) == _kind(b.id) and _kind(a.id) in ("arxiv", "doi"):
        return False
    if a.authors and b.authors:
        return _authors_agree(a.authors, b.authors)
    if a.n_authors and b.n_authors:
        return a.n_authors == b.n_authors
    return len(key.split()) >= 4 and _near(a.published, b.published)


def fill(paper: Paper, other: Paper) -> Paper:
    """``paper`` with what it leaves empty taken from ``other`` (another source's record of
    it); upvotes are the most either reported. The id stays ``paper``'s."""
    links = Links(abs=paper.links.abs or other.links.abs, pdf=paper.links.pdf or other.links.pdf,
                  code=paper.links.code or other.links.code)
    return replace(
        paper,
        title=paper.title or other.title,
        abstract=paper.abstract or other.abstract,
        authors=paper.authors or other.authors,
        author_count=paper.author_count if paper.author_count is not None else
        other.author_count,
        published=paper.published or other.published,
        categories=paper.categories or other.categories,
        organization=paper.organization or other.organization,
        upvotes=max(paper.upvotes, other.upvotes),
        links=links,
        version=paper.version if paper.version is not None else other.version,
        comment=paper.comment or other.comment,
    )


def _match(paper: Paper, candidates: Sequence[Paper]) -> Paper | None:
    found = [c for c in candidates if same_paper(c, paper)]
    return min(found, key=lambda c: id_rank(c.id)) if found else None


def resolve(store: PaperStore, papers: Sequence[Paper]) -> tuple[list[Paper], list[Paper], int]:
    """``(ready, later, merged)``: the batch with every record that is a stored paper under
    another id rewritten onto it (aliases recorded, rows renamed or joined in the store),
    the records that match another record of this same batch (to resolve after ``ready``
    is written), and how many records were merged into a paper of another id."""
    ids = [p.id for p in papers]
    stored = store.keys_of(ids)
    aliased = store.aliases_of([i for i in ids if i not in stored])
    # a record the store lacks, or one stored under a content hash (libraries from before
    # merging): either may be a paper the store has under another id
    open_ = {p.id for p in papers if p.id not in aliased
             and (p.id not in stored or _kind(p.id) == "content")}
    keys = {title_key(p.title) for p in papers if p.id in open_} - {""}
    candidates = store.titled(sorted(keys)) if keys else {}
    ready: list[Paper] = []
    later: list[Paper] = []
    pending: dict[str, list[Paper]] = {}
    merged = 0
    for paper in papers:
        if paper.id in aliased:
            target = store.get(aliased[paper.id])
            ready.append(fill(target, paper) if target else paper)
            continue
        key = title_key(paper.title)
        if paper.id not in open_ or not key:
            ready.append(paper)
            continue
        if _match(paper, pending.get(key, ())):
            later.append(paper)  # the same paper twice in one batch: after the first
            continue
        match = _match(paper, candidates.get(key, ()))
        if match is None:
            pending.setdefault(key, []).append(paper)
            ready.append(paper)
            continue
        merged += 1
        if id_rank(paper.id) < id_rank(match.id):
            store.identify(match.id, paper.id)  # the stored paper takes the better id
            candidates[key] = [replace(c, id=paper.id) if c.id == match.id else c
                               for c in candidates[key]]
            ready.append(paper)
        else:
            store.identify(paper.id, match.id)  # this record's id becomes an alias
            ready.append(fill(match, paper))
    return ready, later, merged


def upsert(store: PaperStore, papers: Sequence[Paper], *,
           state: Mapping[str, str] | None = None) -> tuple[UpsertCounts, int]:
    """Write a batch with one record per paper (see :func:`resolve`); returns the store's
    counts and how many records were merged into papers stored under another id."""
    counts, merged = UpsertCounts(), 0
    batch = list(papers)
    while True:
        ready, later, found = resolve(store, batch) if batch else ([], [], 0)
        merged += found
        counts += store.upsert(ready, state=state if not later else None)
        if not later:
            return counts, merged
        batch = later
