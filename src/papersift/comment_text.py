"""Comments are written in a small Markdown subset and rendered safely.

Allowed: paragraphs and line breaks, *emphasis*, **strong**, `code`, fenced code blocks,
block quotes, lists, and links ``[text](https://...)``. Raw HTML is never passed through
(it is shown as the text it is), only ``http``, ``https`` and ``mailto`` links are made,
and every link carries ``rel="nofollow ugc noopener"`` so that comments lend no ranking to
what they link to. Images are not rendered.

>>> render("Hi <script>alert(1)</script> **there**")
'<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; <strong>there</strong></p>\\n'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["MAX_CHARS", "clean", "render"]

MAX_CHARS = 10_000
_SCHEMES = ("http://", "https://", "mailto:")


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if not href.lower().startswith(_SCHEMES):
        token.attrSet("href", "#")
    token.attrSet("rel", "nofollow ugc noopener")
    return str(renderer.renderToken(tokens, idx, options, env))


_MD = (MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
       .enable(["emphasis", "backticks", "fence", "blockquote", "list", "link", "newline",
                "escape", "autolink"]))
_MD.add_render_rule("link_open", _link_open)
_MD.validateLink = lambda url: url.lower().startswith(_SCHEMES)  # type: ignore[method-assign]


def clean(body: str) -> str:
    """A comment's text as stored: trimmed, with a length limit (raises ValueError)."""
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValueError("a comment needs some text")
    if len(text) > MAX_CHARS:
        raise ValueError(f"a comment has at most {MAX_CHARS:,} characters ({len(text):,} given)")
    return text


def render(body: str) -> str:
    """The HTML of a comment (safe to put in a page as it is)."""
    return str(_MD.render(body))
