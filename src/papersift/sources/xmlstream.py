"""Streaming XML: yield each record element (an Atom ``entry``, an OAI-PMH ``record``) whole,
with the line it starts on, without keeping the rest of the document in memory.

Built on the standard library's expat parser rather than ``ElementTree.iterparse`` because
iterparse does not report line numbers. Documents that declare entities are refused (the
guard that ``defusedxml`` adds), so a hostile feed cannot expand into gigabytes; expat never
fetches external resources.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from xml.parsers import expat

from .files import Input, SourceError

__all__ = ["child_text", "iter_records", "local"]

_CHUNK = 1 << 16


def local(tag: str) -> str:
    """``'{http://www.w3.org/2005/Atom}entry'`` -> ``'entry'``."""
    return tag.rsplit("}", 1)[-1]


def child_text(element: ET.Element, tag: str) -> str | None:
    """The text of the first child ``tag`` (``None`` when absent)."""
    child = element.find(tag)
    return None if child is None else "".join(child.itertext())


class _Builder:
    """Builds only the record elements (and their children), noting where each starts."""

    def __init__(self, records: frozenset[str], parser: expat.XMLParserType) -> None:
        self._records = records
        self._parser = parser
        self._stack: list[ET.Element] = []
        self._start = 0
        self.root: str | None = None
        self.done: list[tuple[int, ET.Element]] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = "{" + name.replace(" ", "}", 1) if " " in name else name
        if self.root is None:
            self.root = tag
        if self._stack:
            self._stack.append(ET.SubElement(self._stack[-1], tag, attrs))
        elif tag in self._records:
            self._start = self._parser.CurrentLineNumber
            self._stack.append(ET.Element(tag, attrs))

    def end(self, name: str) -> None:
        if self._stack:
            element = self._stack.pop()
            if not self._stack:
                self.done.append((self._start, element))

    def data(self, text: str) -> None:
        if self._stack:
            element = self._stack[-1]
            if len(element):
                last = element[-1]
                last.tail = (last.tail or "") + text
            else:
                element.text = (element.text or "") + text


def _malformed(inp: Input, err: expat.ExpatError) -> SourceError:
    hint = "the file may be incomplete or not XML"
    if err.code == expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]:
        hint = "bytes that are not UTF-8, or markup characters that are not escaped"
    return SourceError(
        f"{inp.name}: malformed XML at line {err.lineno}, column {err.offset + 1}: "
        f"{expat.ErrorString(err.code)} ({hint})"
    )


def _refuse_entities(*_args: object) -> None:
    raise SourceError("XML entity declarations are not allowed")


def iter_records(
    inp: Input, root: str, records: frozenset[str]
) -> Iterator[tuple[int, ET.Element]]:
    """``(line, element)`` for each element whose tag is in ``records``, in document order.

    Raises :class:`SourceError` when the document's root is not ``root`` or when the XML is
    malformed (with the line and column).
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    builder = _Builder(records, parser)
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = _refuse_entities
    stream = inp.stream()
    while True:
        chunk = stream.read(_CHUNK)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as err:
            raise _malformed(inp, err) from None
        except SourceError as err:
            raise SourceError(f"{inp.name}: {err}; remove the DOCTYPE's entities") from None
        if builder.root is not None and builder.root != root:
            raise SourceError(
                f"{inp.name}: the XML root is <{local(builder.root)}>, not <{local(root)}>; "
                "choose another --format"
            )
        yield from builder.done
        builder.done.clear()
        if not chunk:
            return
