"""Reading bank files as streams: a head for sniffing, then lines or bytes, never the whole file.

A source is a path or a binary file object. :func:`open_source` reads its first
:data:`HEAD_BYTES` (for :func:`~verisight.matching.formats.detect.sniff`) and hands back a buffered
stream that replays them. :func:`text_lines` decodes that stream line by line (UTF-8, with
or without a BOM; UTF-16 with a BOM), refusing lines over :data:`MAX_LINE_BYTES`, so that a
2 GB file without a newline is an error, not a 2 GB string.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from verisight.matching.errors import InvalidFieldError, Location

HEAD_BYTES = 64 * 1024
"""Bytes read ahead to recognise a format."""
MAX_LINE_BYTES = 1024 * 1024
"""The longest line a text bank may have."""

Source = str | os.PathLike[str] | BinaryIO


class _Replay(io.RawIOBase):
    """``head`` then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head.nbytes:
            n = min(len(view), self._head.nbytes)
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


class _Utf8(io.RawIOBase):
    """A text stream re-encoded as UTF-8 bytes, a chunk at a time (for UTF-16 JSON)."""

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._pending:
            chunk = self._text.read(16 * 1024)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def source_name(source: Source) -> str:
    """A name for messages: the path, or the file object's name, or ``<stream>``."""
    if isinstance(source, str | os.PathLike):
        return str(source)
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str) else "<stream>"


@contextmanager
def open_source(source: Source) -> Iterator[tuple[bytes, io.BufferedReader]]:
    """``(head, stream)``: the first bytes, and a stream that starts from the beginning.

    A path is opened and closed here; a file object is read from its current position and
    left open.
    """
    if isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            yield head, io.BufferedReader(_Replay(head, handle), buffer_size=HEAD_BYTES)
    else:
        head = source.read(HEAD_BYTES)
        yield head, io.BufferedReader(_Replay(head, source), buffer_size=HEAD_BYTES)


def utf16_bom(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def json_bytes(head: bytes, stream: io.BufferedReader) -> io.BufferedReader:
    """UTF-8 JSON bytes from ``stream``: a UTF-8 BOM skipped, UTF-16 re-encoded."""
    if utf16_bom(head):
        text = io.TextIOWrapper(stream, encoding="utf-16", newline="")
        return io.BufferedReader(_Utf8(text), buffer_size=HEAD_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        stream.read(len(codecs.BOM_UTF8))
    return stream


def text_lines(head: bytes, stream: io.BufferedReader, source: str) -> Iterator[str]:
    """The stream's lines as text, line endings kept (the CSV reader wants them)."""
    if utf16_bom(head):
        text = io.TextIOWrapper(stream, encoding="utf-16", newline="")
        lineno = 0
        while True:
            lineno += 1
            try:
                line = text.readline(MAX_LINE_BYTES + 1)
            except UnicodeDecodeError as exc:
                raise _not_text(source, lineno, exc) from None
            if not line:
                return
            _check_length(len(line.encode("utf-8")), source, lineno)
            yield line
    lineno = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        _check_length(len(raw), source, lineno)
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_text(source, lineno, exc) from None


def _check_length(size: int, source: str, lineno: int) -> None:
    if size > MAX_LINE_BYTES:
        raise InvalidFieldError(
            f"line is longer than {MAX_LINE_BYTES // 1024} KiB: not a hash list",
            Location(source, lineno),
        )


def _not_text(source: str, lineno: int, exc: UnicodeDecodeError) -> InvalidFieldError:
    return InvalidFieldError(
        f"not {exc.encoding.upper()} text (invalid byte {exc.object[exc.start]:#04x}); "
        "save the list as UTF-8",
        Location(source, lineno),
    )
