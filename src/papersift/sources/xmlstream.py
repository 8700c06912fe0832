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

from .files import STREAM_ERRORS, Input, SourceError
from .limits import DEFAULT_LIMITS, Limits

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
    """Builds only the record elements (and their children), noting where each starts.

    A record nested deeper than ``limits.depth`` or holding more than ``limits.line_bytes``
    characters of text and attributes stops growing and is handed on with the reason,
    so that it can be rejected alone.
    """

    def __init__(
        self, records: frozenset[str], parser: expat.XMLParserType, limits: Limits
    ) -> None:
        self._records = records
        self._parser = parser
        self._limits = limits
        self._stack: list[ET.Element] = []
        self._ignored = 0  # open elements below the depth limit, not built
        self._size = 0
        self._problem: str | None = None
        self._start = 0
        self.root: str | None = None
        self.done: list[tuple[int, ET.Element, str | None]] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = "{" + name.replace(" ", "}", 1) if " " in name else name
        if self.root is None:
            self.root = tag
        if self._stack:
            if self._ignored or len(self._stack) >= self._limits.depth:
                self._ignored += 1
                self._refuse(f"elements nested more than {self._limits.depth} deep (Limits.depth)")
                return
            self._grow(len(tag) + sum(len(k) + len(v) for k, v in attrs.items()))
            self._stack.append(ET.SubElement(self._stack[-1], tag, attrs))
        elif tag in self._records:
            self._start = self._parser.CurrentLineNumber
            self._size, self._problem = 0, None
            self._stack.append(ET.Element(tag, attrs))

    def end(self, name: str) -> None:
        if self._ignored:
            self._ignored -= 1
        elif self._stack:
            element = self._stack.pop()
            if not self._stack:
                self.done.append((self._start, element, self._problem))

    def data(self, text: str) -> None:
        if self._stack and not self._ignored and self._problem is None:
            self._grow(len(text))
            if self._problem is not None:
                return
            element = self._stack[-1]
            if len(element):
                last = element[-1]
                last.tail = (last.tail or "") + text
            else:
                element.text = (element.text or "") + text

    def _grow(self, size: int) -> None:
        self._size += size
        if self._size > self._limits.line_bytes:
            self._refuse(f"more than {self._limits.line_bytes:,} characters (Limits.line_bytes)")

    def _refuse(self, why: str) -> None:
        if self._problem is None:
            self._problem = f"the record holds {why}; fix or remove it"


def _malformed(inp: Input, err: expat.ExpatError) -> SourceError:
    hint = "the file may be incomplete or not XML"
    if err.code == expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]:
        hint = "bytes that are not UTF-8, or markup characters that are not escaped"
    return SourceError(
        f"{inp.name}:{err.lineno}: malformed XML at line {err.lineno}, column {err.offset + 1}: "
        f"{expat.ErrorString(err.code)} ({hint})"
    )


def _refuse_entities(*_args: object) -> None:
    raise SourceError("XML entity declarations are not allowed")


def iter_records(
    inp: Input, root: str, records: frozenset[str], limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, ET.Element, str | None]]:
    """``(line, element, problem)`` for each element whose tag is in ``records``, in
    document order; ``problem`` says why a record broke a limit (``None`` when it did not).

    Raises :class:`SourceError` when the document's root is not ``root``, when the XML is
    malformed (with the line and column) or declares entities, or when one token (a tag,
    a comment) is longer than ``limits.line_bytes`` -- each after yielding every record
    that ended before the failure.
    """
    # UTF-8 whatever the document declares: as for every format (and an unknown declared
    # encoding would make expat ask Python's codecs, which raise LookupError)
    parser = expat.ParserCreate(encoding="UTF-8", namespace_separator=" ")
    builder = _Builder(records, parser, limits)
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = _refuse_entities
    stream = inp.stream()
    fed = 0
    while True:
        failure: SourceError | None = None
        try:
            chunk = stream.read1(_CHUNK)
        except STREAM_ERRORS as err:
            chunk, failure = b"", inp.error(err, parser.CurrentLineNumber)
        if failure is None:
            fed += len(chunk)
            failure = _parse(inp, parser, chunk)
        if failure is None and fed - max(parser.CurrentByteIndex, 0) > limits.line_bytes:
            failure = SourceError(
                f"{inp.name}:{parser.CurrentLineNumber}: an XML token (a tag, comment or "
                f"declaration) runs over {limits.line_bytes:,} bytes (Limits.line_bytes); "
                "the file is not a feed papersift can read"
            )
        if builder.root is not None and builder.root != root:
            raise _wrong_root(inp, builder.root, root)
        yield from builder.done
        builder.done.clear()
        if failure is not None:
            raise failure
        if not chunk:
            return


def _wrong_root(inp: Input, found: str, expected: str) -> SourceError:
    if local(found) != local(expected):
        return SourceError(
            f"{inp.name}: the XML root is <{local(found)}>, not <{local(expected)}>; "
            "choose another --format"
        )
    namespace = expected[1:].split("}", 1)[0]
    return SourceError(
        f"{inp.name}: the XML root <{local(found)}> is not in the namespace {namespace}; "
        "is this the feed papersift reads? Choose another --format"
    )


def _parse(inp: Input, parser: expat.XMLParserType, chunk: bytes) -> SourceError | None:
    """Feed ``chunk`` (the end of the document when empty); the failure, if any."""
    try:
        parser.Parse(chunk, not chunk)
    except expat.ExpatError as err:
        return _malformed(inp, err)
    except SourceError as err:
        line = parser.CurrentLineNumber
        return SourceError(f"{inp.name}:{line}: {err}; remove the DOCTYPE's entities")
    return None
