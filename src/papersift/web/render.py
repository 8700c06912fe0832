"""HTML rendering: the Jinja2 environment (autoescaped), excerpts and term highlighting.

Highlighting escapes first and marks second: the text is split into words and the gaps
between them, every piece is escaped, and only words whose index terms match the query's
(the lexical analyzer's stemmed terms) are wrapped in ``<mark>``. Nothing from a paper or
a user reaches the page unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

__all__ = ["Highlighter", "author_line", "environment", "excerpt", "url_for_query"]

TEMPLATES = Path(__file__).parent / "templates"
_WORD = re.compile(r"\w+", re.UNICODE)


class Highlighter:
    """Marks the words of a text whose index terms are among a query's terms."""

    def __init__(self, analyze: Callable[[str], list[str]]) -> None:
        self._analyze = analyze
        self._cache: dict[str, frozenset[str]] = {}

    def terms(self, text: str) -> frozenset[str]:
        """The index terms of a text (cached per word: listings repeat words a lot)."""
        found = self._cache.get(text)
        if found is None:
            found = frozenset(self._analyze(text))
            if len(self._cache) < 100_000:
                self._cache[text] = found
        return found

    def first_match(self, text: str, query_terms: frozenset[str]) -> int:
        """Character offset of the first matching word, or -1."""
        for match in _WORD.finditer(text):
            if self.terms(match.group()) & query_terms:
                return match.start()
        return -1

    def mark(self, text: str, query_terms: frozenset[str]) -> Markup:
        """``text`` escaped, with matching words wrapped in ``<mark>``."""
        if not query_terms:
            return escape(text)
        pieces: list[str] = []
        last = 0
        for match in _WORD.finditer(text):
            word = match.group()
            if self.terms(word) & query_terms:
                pieces.append(str(escape(text[last : match.start()])))
                pieces.append(f"<mark>{escape(word)}</mark>")
                last = match.end()
        pieces.append(str(escape(text[last:])))
        return Markup("".join(pieces))  # every piece above was escaped

    def excerpt(self, text: str, query_terms: frozenset[str], chars: int) -> Markup:
        """A marked excerpt of about ``chars`` characters around the first match."""
        text = " ".join(text.split())
        return self.mark(excerpt(text, chars, self.first_match(text, query_terms)), query_terms)


def excerpt(text: str, chars: int, start_at: int = -1) -> str:
    """About ``chars`` characters of ``text`` on word boundaries, shown around ``start_at``.

    When the first match lies past the first half-window, the excerpt begins at the
    sentence holding it (or a little before it, for long sentences).
    """
    if len(text) <= chars:
        return text
    start = 0
    if start_at > chars // 2:
        sentence = text.rfind(". ", 0, start_at) + 2
        if sentence > 1 and start_at - sentence < chars // 2:
            start = sentence
        else:
            start = text.find(" ", start_at - chars // 4) + 1
    end = text.rfind(" ", start, start + chars)
    if end <= start:
        end = start + chars
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return prefix + text[start:end] + suffix


def author_line(authors: Iterable[str], count: int, shown: int = 3) -> tuple[list[str], int]:
    """The first few author names and how many more there are."""
    names = list(authors)[:shown]
    return names, max(count - len(names), 0)


def url_for_query(path: str, **params: Any) -> str:
    """``path`` with the non-empty parameters as a query string."""
    kept = {k: v.isoformat() if isinstance(v, date) else v
            for k, v in params.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept)}" if kept else path


def environment() -> Environment:
    """The template environment: autoescape on for every template."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["author_line"] = author_line
    env.globals["url_for_query"] = url_for_query
    env.filters["path"] = lambda value: quote(str(value), safe="/")
    env.filters["day"] = _day
    return env


def _day(value: date | None, style: str = "short") -> str:
    if value is None:
        return ""
    if style == "long":
        return f"{value:%A, %B} {value.day}, {value.year}"
    return f"{value:%b} {value.day}, {value.year}"
