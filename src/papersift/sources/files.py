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

from papersift.papers import Rejected, one_line

__all__ = ["HEAD_BYTES", "STDIN", "Input", "SourceError", "expand", "open_input", "total_bytes"]

STDIN = "-"
HEAD_BYTES = 1 << 16  # how much of a file the sniffer sees
_BUFFER = 1 << 20
_GZIP_IN = 1 << 15  # compressed bytes fed to zlib at a time
_GZIP_OUT = 1 << 16  # and the most it may give back per call: what a damaged stream can cost
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_STDIN_NAME = "<stdin>"

#: Low-level errors that mean a stream cannot be read on (mapped by :meth:`Input.error`).
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


class SourceError(Exception):
    """A whole input cannot be read on: missing, not UTF-8, truncated gzip, empty, unknown
    format, malformed XML. Raised while iterating, it comes after every record read before
    the damage.

    ``str(err)`` is one line naming the file (and the line, when it is known) and what to
    do, e.g. ``"x.jsonl.gz:30214: truncated gzip stream: it ends at line 30214 (the file is
    incomplete; download it again)"``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))  # messages quote input: keep them one line


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


class _Gunzip(io.RawIOBase):
    """Decompress gzip (every member) a small piece at a time.

    Behind a buffered ``read(n)``, :class:`gzip.GzipFile` dropped what that read had
    decompressed when the stream then failed: the 75k sample cut at 40% lost its last 63
    complete records. Here every call returns what it decompressed and a failure surfaces
    only on a call that has nothing to give, so everything before the damage is read (a
    corrupt block costs at most the one call's output); once failed, every later call
    raises the same error.
    """

    def __init__(self, compressed: io.BufferedIOBase) -> None:
        self._in = compressed
        self._zlib = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
        self._pending = b""
        self._failed: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._failed is not None:
            raise self._failed
        try:
            data = self._decompress(min(len(buffer), _GZIP_OUT))
        except STREAM_ERRORS as err:
            self._failed = err
            raise
        buffer[: len(data)] = data
        return len(data)

    def _decompress(self, size: int) -> bytes:
        while True:
            if self._zlib.eof and not self._next_member():
                return b""
            if not self._pending:
                self._pending = self._in.read(_GZIP_IN)
                if not self._pending:
                    raise EOFError("compressed file ended before the end-of-stream marker")
            data = self._zlib.decompress(self._pending, size)
            self._pending = self._zlib.unconsumed_tail
            if data:
                return data

    def _next_member(self) -> bool:
        """Start the member after the one just ended; ``False`` at the end of the file."""
        rest = self._zlib.unused_data
        while len(rest.lstrip(b"\x00")) < 2:  # gzip files may be padded with zeros
            more = self._in.read(_GZIP_IN)
            if not more:
                if rest.strip(b"\x00"):
                    raise gzip.BadGzipFile("trailing data after the compressed stream")
                return False
            rest += more
        rest = rest.lstrip(b"\x00")
        if not rest.startswith(_GZIP_MAGIC):
            raise gzip.BadGzipFile("trailing data after the compressed stream")
        self._zlib = zlib.decompressobj(wbits=31)
        self._pending = rest
        return True


class _Prefixed(io.RawIOBase):
    """Serve already-read ``head`` bytes, then the rest of ``tail``, a piece at a time."""

    def __init__(self, head: bytes, tail: io.RawIOBase | io.BufferedIOBase) -> None:
        self._head = memoryview(head)
        self._read = tail.read1 if isinstance(tail, io.BufferedIOBase) else tail.read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._read(len(buffer)) or b""
        buffer[: len(data)] = data
        return len(data)


def _read_head(content: io.RawIOBase | io.BufferedIOBase) -> tuple[bytes, BaseException | None]:
    """Up to :data:`HEAD_BYTES` of content, and the error that stopped it short, if any."""
    head = b""
    while len(head) < HEAD_BYTES:
        try:
            chunk = content.read(HEAD_BYTES - len(head))
        except STREAM_ERRORS as err:
            return head, err
        if not chunk:
            break
        head += chunk
    return head, None


def _last_line_end(data: bytes | str, end: int) -> int:
    """Where the last complete line before ``end`` ends (0 when there is none)."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    return data.rfind(newline, 0, end) + 1  # type: ignore[arg-type]


class Input:
    """One opened input: its display name, its first bytes and its decompressed content.

    Every way of reading the content hands over everything before a failure (a truncated
    or corrupt gzip stream, bytes that are not UTF-8) and then raises a one-line
    :class:`SourceError` naming the line where reading stopped.
    """

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
        content: io.RawIOBase | io.BufferedIOBase = (
            _Gunzip(buffered) if self.compressed else buffered
        )
        head, failure = _read_head(content)
        if failure is not None and not head:
            raise self.error(failure)
        # a failure inside the head is raised again when reading gets there
        self.head = head.removeprefix(_BOM)
        self._content = content
        self._stream = io.BufferedReader(_Prefixed(self.head, content), _BUFFER)

    @property
    def consumed(self) -> int:
        """Input bytes (compressed, for gzip) read so far."""
        return self._counting.consumed

    def stream(self) -> io.BufferedReader[_Prefixed]:
        """The decompressed content as a binary stream, from the start.

        Read it with ``read1``: a failure inside a ``read(n)`` drops what that call had
        gathered.
        """
        return self._stream

    def lines(self, limit: int) -> Iterator[tuple[int, str | Rejected]]:
        """``(line number, text)`` for every line, line endings kept, strict UTF-8.

        A line longer than ``limit`` bytes comes as a :class:`Rejected` in place of its
        text, and is skipped without holding it in memory.
        """
        number = offset = 0
        while True:
            try:
                raw = self._stream.readline(limit + 1)
                if len(raw) > limit and not raw.endswith(b"\n"):
                    size = len(raw) + self._skip_line()
                    yield number + 1, self._too_long(number + 1, size, limit)
                    number, offset = number + 1, offset + size
                    continue
            except STREAM_ERRORS as err:
                raise self.error(err, number + 1) from None
            if not raw:
                return
            number += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise self.not_utf8(raw[err.start], number, offset + err.start) from None
            offset += len(raw)
            yield number, line

    def _skip_line(self) -> int:
        """Read past the rest of the current line; how many bytes that was."""
        skipped = 0
        while True:
            chunk = self._stream.readline(_BUFFER)
            skipped += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return skipped

    def _too_long(self, line: int, size: int, limit: int) -> Rejected:
        return Rejected(
            self.name,
            line,
            f"the line is {size:,} bytes long, over the limit of {limit:,} "
            "(Limits.line_bytes); split or shorten the record",
        )

    def text(self, limit: int) -> tuple[str, SourceError | None]:
        """The whole decompressed content as UTF-8 text, at most ``limit`` bytes.

        When reading fails part way, returns the complete lines before the failure and the
        :class:`SourceError` to raise once they are used; more than ``limit`` bytes is an
        error at once (the formats read whole hold far less).
        """
        chunks: list[bytes] = []
        size = 0
        failure: BaseException | None = None
        while True:
            try:
                chunk = self._stream.read1(_BUFFER)
            except STREAM_ERRORS as err:
                failure = err
                break
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise SourceError(
                    f"{self.name}: this format is read whole, and the file holds more than "
                    f"{limit:,} bytes (Limits.document_bytes); split it into smaller files"
                )
            chunks.append(chunk)
        data = b"".join(chunks)
        if failure is not None:  # only whole lines: the last may be cut, even mid-character
            data = data[: _last_line_end(data, len(data))]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            error = self.not_utf8(data[err.start], line, err.start)
            return data[: _last_line_end(data, err.start)].decode("utf-8"), error
        if failure is None:
            return text, None
        return text, self.error(failure, text.count("\n") + 1)

    def not_utf8(self, byte: int, line: int, offset: int) -> SourceError:
        """The error for a byte that is not UTF-8."""
        return SourceError(
            f"{self.name}:{line}: not UTF-8 text: byte 0x{byte:02x} at line {line} (byte "
            f"offset {offset}); convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        )

    def error(self, err: BaseException, line: int | None = None) -> SourceError:
        """Turn a low-level read failure into a one-line :class:`SourceError`.

        ``line`` is the line reading stopped in, when the caller knows it.
        """
        where = f"{self.name}:{line}" if line else self.name
        if isinstance(err, EOFError):
            at = f": it ends at line {line}" if line else ""
            what = f"truncated gzip stream{at} (the file is incomplete; download it again)"
        elif isinstance(err, gzip.BadGzipFile | zlib.error):
            what = f"corrupt gzip data ({err}); download the file again"
        elif isinstance(err, OSError) and err.strerror:
            what = f"cannot read the file: {err.strerror}"
        else:
            what = f"cannot read the file: {err}"
        return SourceError(f"{where}: {what}")

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
