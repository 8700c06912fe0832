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

Whatever a source holds, a Paper holds only safe values: control characters (NUL...) and
lone surrogates are taken out of every text field when the Paper is made, and a link is
kept only when it is an ``http(s)`` URL, so no face (web page, feed, API, CLI) can render
a ``javascript:`` or ``data:`` link from ingested data.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "Links",
    "Paper",
    "Rejected",
    "clean_text",
    "content_id",
    "document_text",
    "extract_code_links",
    "normalize_id",
    "normalize_text",
    "one_line",
    "safe_url",
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
# C0 and C1 controls other than tab and line breaks, DEL, and lone surrogates (which a JSON
# "\ud800" escape produces and which no UTF-8 store can encode)
_UNSAFE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_WS_RE = re.compile(f"[\\s{_UNSAFE}]+")  # normalised text turns them into spaces
# an absolute http(s) URL with a host and no whitespace or control characters anywhere
_SAFE_URL_RE = re.compile(r"https?://[^\s/?#\x00-\x1f\x7f]+[^\s\x00-\x1f\x7f]*", re.IGNORECASE)


_C0_BYTES = bytes(c for c in range(0x20) if c not in b"\t\n\r") + b"\x7f"
_C1_LEAD = b"\xc2"  # UTF-8 of U+0080..U+00BF, the C1 controls among them


def _has_unsafe(text: str) -> bool:
    """Whether ``text`` holds what :func:`clean_text` removes; about 3 ns a character,
    a third of a regex search, since every paper is checked."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return True  # a lone surrogate
    if len(data.translate(None, _C0_BYTES)) != len(data):
        return True
    return _C1_LEAD in data and _UNSAFE_RE.search(text) is not None


_MESSAGE_CHARS = 1000
_MESSAGE_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(message: str, limit: int = _MESSAGE_CHARS) -> str:
    """``message`` as one printable line: line breaks, other control characters and lone
    surrogates escaped (``\\n``), at most ``limit`` characters. Messages quote input
    (field names, values), and input may hold anything."""
    if _MESSAGE_UNSAFE_RE.search(message):
        message = _MESSAGE_UNSAFE_RE.sub(lambda m: ascii(m.group())[1:-1], message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def clean_text(text: str) -> str:
    """``text`` without control characters (NUL, ESC...) or lone surrogates."""
    return _UNSAFE_RE.sub("", text) if _has_unsafe(text) else text


def safe_url(url: str | None) -> str | None:
    """``url`` (stripped) when it is an absolute ``http(s)`` URL, else ``None``.

    >>> safe_url(" https://arxiv.org/abs/2403.01234 "), safe_url("javascript:alert(1)")
    ('https://arxiv.org/abs/2403.01234', None)
    """
    if not url:
        return None
    url = url.strip()
    return url if _SAFE_URL_RE.fullmatch(url) else None


@dataclass(frozen=True, slots=True)
class Links:
    """Where to read a paper: its abstract page, its PDF and its code."""

    abs: str | None = None
    pdf: str | None = None
    code: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # links come from ingested data: keep only http(s) ones (see safe_url)
        object.__setattr__(self, "abs", safe_url(self.abs))
        object.__setattr__(self, "pdf", safe_url(self.pdf))
        code = tuple(url for url in map(safe_url, self.code) if url)
        if code != self.code:
            object.__setattr__(self, "code", code)


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, as stored in the catalog.

    ``author_count`` is kept apart from ``authors`` because some sources (a Daily Papers
    listing page) show how many authors there are without naming them. ``submitter`` is who
    posted the paper to a Daily Papers listing (not arXiv's submitter).
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
    submitter: str | None = None
    #: Upvotes cast on this server; filled in by the store on every read, never part of the
    #: record a source gives (``upvotes`` is the source's own count).
    votes_here: int = 0
    #: Of the votes cast here, those by signed-in members (the rest came with a cookie).
    votes_members: int = 0

    @property
    def total_upvotes(self) -> int:
        """The source's count plus the votes cast here: what pages show and rank by."""
        return self.upvotes + self.votes_here

    def __post_init__(self) -> None:
        # every source, and every caller of Library.add, gets its text cleaned here; one
        # search over all the text, since almost every paper is clean
        texts = (self.id, self.title, self.abstract, self.organization, self.comment)
        if not _has_unsafe("".join(t for t in (*texts, *self.authors, *self.categories) if t)):
            return
        for name in ("id", "title", "abstract", "organization", "comment"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, clean_text(value))
        for name in ("authors", "categories"):
            object.__setattr__(self, name, tuple(map(clean_text, getattr(self, name))))

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
        abs_url, pdf_url, code = self.links.abs, self.links.pdf, self.links.code
        if self.is_arxiv:
            suffix = f"v{self.version}" if self.version else ""
            abs_url = abs_url or f"https://arxiv.org/abs/{self.id}{suffix}"
            pdf_url = pdf_url or f"https://arxiv.org/pdf/{self.id}{suffix}"
        code = code or extract_code_links(self.abstract)
        # a copy made without __init__: the text is clean already, no need to check it again
        paper = object.__new__(Paper)
        for name in self.__slots__:
            object.__setattr__(paper, name, getattr(self, name))
        object.__setattr__(paper, "links", Links(abs_url, pdf_url, code))
        return paper


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record a source could not turn into a :class:`Paper`, and why."""

    source: str
    line: int
    reason: str
    #: the record holds no text at all (an empty BEIR document): callers that expect such
    #: records, like ``eval``, skip them with a warning instead of failing
    empty: bool = False

    def __post_init__(self) -> None:
        # the reason quotes input: keep it one printable line
        object.__setattr__(self, "reason", one_line(self.reason))
        object.__setattr__(self, "source", one_line(self.source))

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def normalize_text(text: str | None) -> str:
    """Unicode-normalise and collapse whitespace (arXiv hard-wraps its abstracts); control
    characters become spaces too."""
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
