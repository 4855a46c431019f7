"""JSON bytes with every string cut to :data:`MAX_STRING_BYTES`, in one linear pass.

Why: the JSON lexer (yajl, under ``ijson``) re-reads a string token from its start each time
more input arrives, so one huge string costs time quadratic in its length (80 MB took 27 s,
300 MB did not finish in two minutes) and is held whole in memory. No VICS field needs more
than a few KiB, so :class:`CappedStrings` cuts every JSON string (keys too) whose raw text is
longer than :data:`MAX_STRING_BYTES`: it keeps the first bytes up to a whole character and a
whole escape, appends :data:`~verisight.matching.formats._fields.TRUNCATED` and drops the rest
up to the closing quote. A number longer than the limit (the lexer re-reads it the same way)
is cut to the limit, unmarked: no VICS number is that long, so it is then reported as invalid
(an integer overflow, a bad Category). All other bytes pass through unchanged, so invalid JSON
stays invalid and is reported by the lexer as before.

The stored text is then capped by :func:`~verisight.matching.formats._fields.text` to
:data:`~verisight.matching.formats._fields.MAX_TEXT_CHARS` characters (a cut string always
still exceeds that, so it is marked there too).

How, per block of input: escapes are masked (``\\X`` → ``\\x01\\x00``, ``\\uXXXX`` →
``\\x01`` and five ``\\x00``) with fixed-width regular-expression substitutions, so the
quotes left are exactly the string delimiters and quote counting is done in C. Only a block in
which a string crosses the limit is walked string by string. A block never ends inside an
escape or a UTF-8 character (nor after a ``\\u`` escape): such a tail waits for the next
block.
"""

from __future__ import annotations

import io
import re
from typing import BinaryIO

MAX_STRING_BYTES = 64 * 1024
"""The most raw bytes kept of one JSON string (12 bytes, a surrogate-pair escape, make the
shortest character, so a cut string still has more than 5,000 characters)."""
_BLOCK = 32 * 1024
"""Bytes read at a time: with a carried tail, always under :data:`MAX_STRING_BYTES`."""
_ESCAPED_BACKSLASH = re.compile(rb"\\\\")
_UNICODE_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")
_OTHER_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_UTF8_LEAD_AT_END = re.compile(rb"[\xc0-\xff][\x80-\xbf]{0,2}\Z")
_NUMBER = b"0123456789+-.eE"
_HIGH_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")


def _leading_number(data: bytes) -> int:
    return len(data) - len(data.lstrip(_NUMBER))


def _mask(block: bytes) -> bytes:
    """``block`` with each escape replaced by ``\\x01`` then ``\\x00``s, same length."""
    masked = _ESCAPED_BACKSLASH.sub(b"\x01\x00", block)
    masked = _UNICODE_ESCAPE.sub(b"\x01\x00\x00\x00\x00\x00", masked)
    return _OTHER_ESCAPE.sub(b"\x01\x00", masked)


def _complete(block: bytes, masked: bytes) -> int:
    """Where ``block`` stops being certainly whole: before a trailing escape or character."""
    end = len(block)
    start = max(0, end - 6)
    cut = end
    raw = masked.rfind(b"\\", start)
    escape = masked.rfind(b"\x01", start)
    if raw != -1:
        cut = raw  # a backslash whose escaped character is still to come
    elif escape != -1 and block[escape + 1 : escape + 2] == b"u":
        cut = escape  # ``\u`` with its four digits (maybe) still to come
    lead = _UTF8_LEAD_AT_END.search(block, max(0, end - 3))
    if lead is not None:
        cut = min(cut, lead.start())
    pair = cut - 6
    if pair >= 0 and masked[pair] == 1 and _HIGH_SURROGATE.match(block, pair):
        cut = pair  # keep the two halves of a surrogate pair together
    return cut


class CappedStrings(io.RawIOBase):
    """``stream`` (UTF-8 JSON bytes) with long strings cut (see the module docstring)."""

    def __init__(
        self, stream: BinaryIO, mark: bytes, limit: int = MAX_STRING_BYTES, block: int = _BLOCK
    ) -> None:
        if limit <= block + 8:
            raise ValueError("limit must exceed the block size")
        self._stream = stream
        self._block = block
        self._mark = mark
        self._limit = limit
        self._carry = b""
        self._pending = memoryview(b"")
        self._in_string = False
        self._length = 0  # raw bytes of the open string seen so far
        self._dropping = False  # the open string has been cut
        self._run = 0  # bytes of the number (or other run of number characters) being read
        self._eof = False
        self.cut = 0
        """Strings cut so far."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._pending.nbytes:
            if self._eof:
                return 0
            self._pending = memoryview(self._next_block())
        n = min(len(view), self._pending.nbytes)
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _next_block(self) -> bytes:
        data = self._stream.read(self._block)
        block = self._carry + data
        if not data:
            self._eof = True
            self._carry = b""
            return self._filter(block, _mask(block))
        masked = _mask(block)
        whole = _complete(block, masked)
        self._carry = block[whole:]
        return self._filter(block[:whole], masked[:whole])

    def _filter(self, block: bytes, masked: bytes) -> bytes:
        if not block:
            return b""
        if not self._dropping and self._fits(masked):
            return block
        return self._walk(block, masked)

    def _fits(self, masked: bytes) -> bool:
        """Track the open string (or number) through ``masked``; ``False`` when it would pass
        the limit."""
        first = masked.find(b'"')
        if self._in_string:
            grown = self._length + (len(masked) if first == -1 else first)
            if grown > self._limit:
                return False
            if first == -1:
                self._length = grown
                return True
        elif self._run + _leading_number(masked) > self._limit:
            return False
        quotes = masked.count(b'"')
        if quotes % 2:
            self._in_string = not self._in_string
        if self._in_string:
            self._length = len(masked) - masked.rfind(b'"') - 1
            self._run = 0
        else:
            tail = len(masked) - len(masked.rstrip(_NUMBER))
            whole = first == -1 and tail == len(masked)
            self._run = self._run + tail if whole else tail
        return True

    def _outside(self, segment: bytes) -> bytes:
        """Bytes outside strings, a number run over the limit cut short."""
        lead = _leading_number(segment)
        whole = lead == len(segment)
        if self._run + lead > self._limit:
            keep = max(0, self._limit - self._run)
            if keep:
                self.cut += 1
            segment = segment[:keep] + segment[lead:]
        if whole:
            self._run += lead
        else:
            self._run = len(segment) - len(segment.rstrip(_NUMBER))
        return segment

    def _walk(self, block: bytes, masked: bytes) -> bytes:
        """The slow path, string by string, for a block where a string passes the limit."""
        out: list[bytes] = []
        pos = 0
        size = len(block)
        while pos < size:
            quote = masked.find(b'"', pos)
            if not self._in_string:
                if quote == -1:
                    out.append(self._outside(block[pos:]))
                    break
                out.append(self._outside(block[pos:quote]) + b'"')
                pos = quote + 1
                self._in_string, self._length, self._dropping, self._run = True, 0, False, 0
                continue
            end = size if quote == -1 else quote
            if not self._dropping:
                room = self._limit - self._length
                if end - pos <= room:
                    out.append(block[pos:end])
                    self._length += end - pos
                else:
                    out.append(block[pos : self._cut_at(block, masked, pos, pos + room)])
                    out.append(self._mark)
                    self._dropping = True
                    self.cut += 1
            if quote == -1:
                break
            out.append(b'"')
            pos = quote + 1
            self._in_string = self._dropping = False
        return b"".join(out)

    @staticmethod
    def _cut_at(block: bytes, masked: bytes, start: int, cut: int) -> int:
        """``cut`` moved back to the start of an escape (not between the two halves of a
        surrogate pair) or of a UTF-8 character."""
        if masked[cut] == 0:  # inside an escape: back to its ``\x01``
            cut = max(start, masked.rfind(b"\x01", start, cut))
        pair = cut - 6
        if pair >= start and masked[pair] == 1 and _HIGH_SURROGATE.match(block, pair):
            cut = pair
        while cut > start and 0x80 <= block[cut] < 0xC0:
            cut -= 1
        return cut
