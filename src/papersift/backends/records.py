"""What every paper store agrees on when it writes a record: how a record read again merges
with the stored one, and the fingerprint that tells whether anything changed.

Both stores (the SQLite catalog and PostgreSQL) use these, so the same inputs give the same
papers, change numbers and "unchanged" counts in either.
"""

from __future__ import annotations

import json
from dataclasses import replace
from hashlib import sha256

from papersift.papers import Links, Paper

__all__ = ["fingerprint", "merge_records"]


def fingerprint(paper: Paper) -> str:
    """A short hash of everything a source states about a paper (not the votes cast here)."""
    record = [
        paper.version, paper.title, paper.abstract, paper.authors, paper.author_count,
        paper.published.isoformat() if paper.published else None, paper.categories,
        paper.organization, paper.upvotes, paper.links.abs, paper.links.pdf,
        paper.links.code, paper.comment,
    ]
    if paper.submitter:  # appended only when set, so older fingerprints stay valid
        record.append(paper.submitter)
    return sha256(json.dumps(record, ensure_ascii=False).encode()).hexdigest()[:24]


def merge_records(old: Paper, new: Paper) -> Paper:
    """A record read again overrides what it states; what it leaves empty is kept.

    A Daily Papers entry (upvotes, organization, no categories) must not erase the
    categories an arXiv listing gave the same paper, and vice versa.
    """
    links = Links(
        abs=new.links.abs or old.links.abs,
        pdf=new.links.pdf or old.links.pdf,
        code=new.links.code or old.links.code,
    )
    return replace(
        new,
        version=new.version if new.version is not None else old.version,
        title=new.title or old.title,
        abstract=new.abstract or old.abstract,
        authors=new.authors or old.authors,
        author_count=new.author_count if new.author_count is not None else old.author_count,
        published=new.published or old.published,
        categories=new.categories or old.categories,
        organization=new.organization or old.organization,
        upvotes=new.upvotes or old.upvotes,
        links=links,
        comment=new.comment or old.comment,
        submitter=new.submitter or old.submitter,
        votes_here=0,
        votes_members=0,
    )
