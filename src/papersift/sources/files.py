"""Opening inputs: plain or gzip files, folders and stdin, with byte counts for progress bars.

Everything that touches the file system for :mod:`papersift.sources` lives here. An
:class:`Input` hands the format readers the decompressed content three ways (numbered text
lines, the whole text, a binary stream for XML) and turns low-level failures (a truncated
gzip stream, bytes that are not UTF-8) into a one-line :class:`SourceError`.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = ["HEAD_BYTES", "STDIN", "Input", "SourceError", "expand", "open_input", "total_bytes"]

STDIN = "-"
HEAD_BYTES = 1 << 16  # how much of a file the sniffer sees
_BUFFER = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_STDIN_NAME = "<stdin>"

#: Low-level errors that mean a stream cannot be read on (mapped by :meth:`Input.error`).
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


class SourceError(Exception):
    """A whole input cannot be read: missing, not UTF-8, truncated gzip, empty, unknown format.

    ``str(err)`` is one line naming the file and what to do, e.g.
    ``"data/x.jsonl.gz: truncated gzip stream (the file is incomplete; download it again)"``.
    """


class _Counting(io.RawIOBase):
    """A raw reader that reports how many bytes it has consumed so far."""

    def __init__(self, raw: BinaryIO, report: Callable[[int], None] | None, owned: bool) -> None:
        self._raw = raw
        self._report = report
        self._owned = owned
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        if self._report is not None and n:
            self._report(self.consumed)
        return n

    def close(self) -> None:
        if self._owned and not self.closed:
            self._raw.close()
        super().close()


class _Prefixed(io.RawIOBase):
    """Serve already-read ``head`` bytes, then the rest of ``tail``."""

    def __init__(self, head: bytes, tail: io.BufferedIOBase) -> None:
        self._head = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Input:
    """One opened input: its display name, its first bytes and its decompressed content."""

    def __init__(
        self,
        name: str,
        raw: BinaryIO,
        on_bytes: Callable[[int], None] | None,
        *,
        owned: bool = True,
    ) -> None:
        self.name = name
        # stdin is borrowed: reading it must not close it
        self._counting = _Counting(raw, on_bytes, owned)
        buffered = io.BufferedReader(self._counting, _BUFFER)
        self.compressed = buffered.peek(2)[:2] == _GZIP_MAGIC
        content: io.BufferedIOBase = (
            gzip.GzipFile(fileobj=buffered) if self.compressed else buffered
        )
        try:
            head = content.read(HEAD_BYTES)
        except STREAM_ERRORS as err:
            raise self.error(err) from None
        self.head = head.removeprefix(_BOM)
        self._content = content
        self._stream = io.BufferedReader(_Prefixed(self.head, content), _BUFFER)

    @property
    def consumed(self) -> int:
        """Input bytes (compressed, for gzip) read so far."""
        return self._counting.consumed

    def stream(self) -> BinaryIO:
        """The decompressed content as a binary stream, from the start."""
        return self._stream

    def lines(self) -> Iterator[tuple[int, str]]:
        """``(line number, text)`` for every line, line endings kept, strict UTF-8."""
        offset = 0
        for number, raw in enumerate(self._stream, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise self.not_utf8(raw[err.start], number, offset + err.start) from None
            offset += len(raw)
            yield number, line

    def text(self) -> str:
        """The whole decompressed content, decoded as UTF-8."""
        data = self._stream.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise self.not_utf8(data[err.start], line, err.start) from None

    def not_utf8(self, byte: int, line: int, offset: int) -> SourceError:
        """The error for a byte that is not UTF-8."""
        return SourceError(
            f"{self.name}: not UTF-8 text: byte 0x{byte:02x} at line {line} (byte offset "
            f"{offset}); convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        )

    def error(self, err: BaseException) -> SourceError:
        """Turn a low-level read failure into a one-line :class:`SourceError`."""
        if isinstance(err, EOFError):
            what = "truncated gzip stream (the file is incomplete; download it again)"
        elif isinstance(err, gzip.BadGzipFile | zlib.error):
            what = f"corrupt gzip data ({err}); download the file again"
        elif isinstance(err, OSError) and err.strerror:
            what = f"cannot read the file: {err.strerror}"
        else:
            what = f"cannot read the file: {err}"
        return SourceError(f"{self.name}: {what}")

    def close(self) -> None:
        """Close the streams, and the file unless it is stdin."""
        self._stream.close()
        self._content.close()
        self._counting.close()

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(path: str | Path, on_bytes: Callable[[int], None] | None = None) -> Input:
    """Open one file (or ``'-'`` for stdin); ``on_bytes`` gets the bytes consumed so far."""
    if str(path) == STDIN:
        buffer = getattr(sys.stdin, "buffer", None)
        raw: BinaryIO = buffer if buffer is not None else io.BytesIO(sys.stdin.read().encode())
        return Input(_STDIN_NAME, raw, on_bytes, owned=False)
    name = str(path)
    try:
        handle = open(path, "rb", buffering=0)  # noqa: SIM115 - the Input owns and closes it
    except FileNotFoundError:
        raise SourceError(f"{name}: no such file or folder; check the path") from None
    except OSError as err:
        raise SourceError(f"{name}: cannot open: {err.strerror or err}") from None
    try:
        return Input(name, handle, on_bytes)
    except BaseException:
        handle.close()
        raise


def _visible(root: Path, path: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def expand(path: str | Path) -> list[str | Path]:
    """The files an input names: itself, ``'-'``, or every visible file under a folder, sorted."""
    if str(path) == STDIN:
        return [STDIN]
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and _visible(p, f))
        if not files:
            raise SourceError(f"{p}: the folder holds no files to read; check the path")
        return list(files)
    if not p.exists():
        raise SourceError(f"{p}: no such file or folder; check the path")
    return [p]


def total_bytes(paths: Sequence[str | Path]) -> int | None:
    """The input bytes reading ``paths`` will consume, for a progress bar; ``None`` for stdin."""
    total = 0
    for path in paths:
        for file in expand(path):
            if file == STDIN:
                return None
            total += os.path.getsize(file)
    return total
