"""Plain abstracts, one per line, with neither title nor id.

Each becomes a paper whose id is a hash of its text and whose title is the abstract's
first sentence, cut at a word boundary near :data:`TITLE_CHARS` characters, so that
listings stay readable. The id hashes the abstract alone, so that a better title rule
later does not change the ids of papers already stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from papersift.papers import Paper, Rejected, content_id, normalize_text

from .files import Input
from .options import Options

__all__ = ["TITLE_CHARS", "read", "title_from"]

TITLE_CHARS = 120
# a sentence ends at . ! or ? followed by a capital letter or digit (not "e.g. the")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def title_from(abstract: str, limit: int = TITLE_CHARS) -> str:
    """The first sentence of ``abstract``, at most about ``limit`` characters."""
    text = normalize_text(abstract)
    end = _SENTENCE_END_RE.search(text)
    sentence = (text[: end.start()] if end else text).rstrip(".")
    if len(sentence) <= limit:
        return sentence
    cut = sentence.rfind(" ", 0, limit)
    return sentence[: cut if cut > limit // 2 else limit].rstrip(" ,;:-") + "…"


def _too_long(size: int, limit: int) -> str:
    return (
        f"the abstract is {size:,} characters long, over the limit of {limit:,} "
        "(Limits.field_chars); shorten it"
    )


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per non-blank line."""
    for line, raw in inp.lines(options.limits.line_bytes):
        if isinstance(raw, Rejected):
            yield raw
            continue
        abstract = normalize_text(raw)
        if not abstract:
            continue
        if len(abstract) > options.limits.field_chars:
            yield Rejected(inp.name, line, _too_long(len(abstract), options.limits.field_chars))
            continue
        title = title_from(abstract)
        yield Paper(id=content_id("", abstract), title=title, abstract=abstract).with_defaults()
