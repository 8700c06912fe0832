"""Paper records: the one shape every source produces and every store accepts.

Identifiers are normalised here so that the same paper read from two sources lands on the
same catalog row:

- arXiv ids (``2403.01234``, ``arXiv:2403.01234v2``, ``https://arxiv.org/abs/hep-th/9901001v1``)
  become the bare id (``2403.01234``, ``hep-th/9901001``); the version is kept apart, in
  :attr:`Paper.version`, so a new version updates the paper instead of duplicating it.
- DOIs become ``doi:10.1234/abc`` (lower-cased, as DOIs are case-insensitive).
- Other identifiers (BEIR corpus ids, CSV keys) are kept as given, stripped.
- Records without any identifier (a bare abstract) get a stable content hash,
  ``sha256:<16 hex>`` of the normalised title and abstract.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date

__all__ = [
    "Links",
    "Paper",
    "Rejected",
    "content_id",
    "document_text",
    "extract_code_links",
    "normalize_id",
    "normalize_text",
    "split_arxiv_version",
]

_NEW_ARXIV = r"\d{4}\.\d{4,5}"
_OLD_ARXIV = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
_ARXIV_RE = re.compile(
    rf"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:|oai:arxiv\.org:)?"
    rf"(?P<id>{_NEW_ARXIV}|{_OLD_ARXIV})(?:v(?P<version>\d+))?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_DOI_RE = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/\S+)$", re.I)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org")
_URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`\]\[]+", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Links:
    """Where to read a paper: its abstract page, its PDF and its code."""

    abs: str | None = None
    pdf: str | None = None
    code: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, as stored in the catalog.

    ``author_count`` is kept apart from ``authors`` because some sources (a Daily Papers
    listing page) show how many authors there are without naming them.
    """

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    published: date | None = None
    categories: tuple[str, ...] = ()
    organization: str | None = None
    upvotes: int = 0
    links: Links = field(default_factory=Links)
    version: int | None = None
    author_count: int | None = None
    comment: str | None = None
    #: Upvotes cast on this server; filled in by the store on every read, never part of the
    #: record a source gives (``upvotes`` is the source's own count).
    votes_here: int = 0
    #: Of the votes cast here, those by signed-in members (the rest came with a cookie).
    votes_members: int = 0

    @property
    def total_upvotes(self) -> int:
        """The source's count plus the votes cast here: what pages show and rank by."""
        return self.upvotes + self.votes_here

    @property
    def votes_anonymous(self) -> int:
        """Votes cast here by visitors who were not signed in (a signed voter cookie each)."""
        return self.votes_here - self.votes_members

    @property
    def n_authors(self) -> int:
        """How many authors the paper has, named or only counted."""
        return max(len(self.authors), self.author_count or 0)

    @property
    def is_arxiv(self) -> bool:
        return _ARXIV_RE.match(self.id) is not None

    def with_defaults(self) -> Paper:
        """Fill the links that follow from an arXiv id and from the abstract's text."""
        links = self.links
        if self.is_arxiv:
            suffix = f"v{self.version}" if self.version else ""
            links = replace(
                links,
                abs=links.abs or f"https://arxiv.org/abs/{self.id}{suffix}",
                pdf=links.pdf or f"https://arxiv.org/pdf/{self.id}{suffix}",
            )
        if not links.code:
            links = replace(links, code=extract_code_links(self.abstract))
        return replace(self, links=links)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record a source could not turn into a :class:`Paper`, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def normalize_text(text: str | None) -> str:
    """Unicode-normalise and collapse whitespace (arXiv hard-wraps its abstracts)."""
    if not text:
        return ""
    return _WS_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def split_arxiv_version(raw: str) -> tuple[str, int | None] | None:
    """``'arXiv:2403.01234v2'`` -> ``('2403.01234', 2)``; ``None`` if not an arXiv id."""
    match = _ARXIV_RE.match(raw.strip())
    if match is None:
        return None
    ident = match.group("id")
    if "/" in ident:  # old-style archive names are lower case; the subject class is upper
        archive, number = ident.split("/", 1)
        ident = f"{archive.lower()}/{number}"
    version = match.group("version")
    return ident, int(version) if version else None


def normalize_id(raw: str) -> tuple[str, int | None]:
    """Return the canonical id and the arXiv version (if any) for an identifier.

    >>> normalize_id("https://arxiv.org/abs/2403.01234v2")
    ('2403.01234', 2)
    >>> normalize_id("DOI:10.1000/XYZ")
    ('doi:10.1000/xyz', None)
    """
    raw = raw.strip()
    arxiv = split_arxiv_version(raw)
    if arxiv is not None:
        return arxiv
    doi = _DOI_RE.match(raw)
    if doi is not None:
        return f"doi:{doi.group('doi').lower()}", None
    return raw, None


def content_id(title: str, abstract: str) -> str:
    """A stable id for a record that has none: a hash of its normalised text."""
    text = f"{normalize_text(title).casefold()}\n{normalize_text(abstract).casefold()}"
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def extract_code_links(text: str) -> tuple[str, ...]:
    """Code repositories mentioned in an abstract (GitHub, GitLab, Hugging Face, ...)."""
    found: list[str] = []
    for url in _URL_RE.findall(text or ""):
        url = url.rstrip(".,;:)")
        host = url.split("/")[2].lower().removeprefix("www.")
        if host in _CODE_HOSTS and url not in found:
            found.append(url)
    return tuple(found)


def document_text(title: str, abstract: str) -> str:
    """The text an encoder embeds for a paper: title first, since models truncate."""
    title, abstract = normalize_text(title), normalize_text(abstract)
    if not title:
        return abstract
    if not abstract:
        return title
    sep = " " if title.endswith((".", "?", "!", ":")) else ". "
    return f"{title}{sep}{abstract}"
