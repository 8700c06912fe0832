"""A fetched body as the source readers' :class:`~papersift.sources.files.Input`, and the
check that it is the kind of document asked for before it is parsed."""

from __future__ import annotations

import io
import re

from papersift.sources.files import Input

from .fetcher import HarvestError, TransientPage

__all__ = ["as_input", "expect_root"]

_ROOT_RE = re.compile(rb"<(?![?!])([^\s/>]+)")


def as_input(body: bytes, name: str) -> Input:
    """``body`` as an input named ``name`` (used in messages)."""
    return Input(name, io.BytesIO(body), None)


def expect_root(body: bytes, root: str, name: str, what: str) -> None:
    """Refuse a document whose root element is not ``root`` (e.g. an HTML error page).

    A body too short to show its root is a cut response: worth asking again for.
    """
    match = _ROOT_RE.search(body[:4096])
    if match is None:
        raise TransientPage(f"{name}: no XML element in the first {min(len(body), 4096)} bytes")
    found = match.group(1).decode("utf-8", "replace").rsplit(":", 1)[-1]
    if found != root:
        raise HarvestError(
            f"{name}: the answer is <{found}>, not {what}; check that the URL points at one"
        )
