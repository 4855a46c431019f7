"""Recover the members of a zip whose central directory is missing or unreadable.

A zip cut short (a partial download, a damaged disk image) loses its central directory,
which lives at the end, but every member before the cut is still preceded by a *local file
header*. :func:`salvage_zip` walks those headers from the start of the file and yields
what it can read, under the same limits as the normal reader; the container is then
reported ``CORRUPT_ARCHIVE`` with the number of members recovered.

Stored and deflated members are recovered (including deflated members written with a
trailing data descriptor); other methods are reported as unsupported. A member cut by the
end of the file is reported ``CORRUPT_ARCHIVE`` without content.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import BinaryIO

from verisight.errors import Reason
from verisight.names import from_bytes
from verisight.sources._common import (
    CHUNK,
    ContainerStop,
    Context,
    Member,
    MemberBuffer,
    MemberCounter,
    MemberFailure,
    failed,
    is_bomb,
    unsafe_name,
)

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_STORED, _DEFLATED = 0, 8
_FLAG_ENCRYPTED, _FLAG_DESCRIPTOR, _FLAG_UTF8 = 0x1, 0x8, 0x800


@dataclass(frozen=True, slots=True)
class _Header:
    name: str
    flags: int
    method: int
    crc: int
    compressed: int
    uncompressed: int
    data_start: int

    @property
    def sizes_known(self) -> bool:
        return not self.flags & _FLAG_DESCRIPTOR


class _Truncated(Exception):
    """The member's data ends before its compressed stream does."""


def salvage_zip(fp: BinaryIO, ctx: Context, why: str) -> Generator[Member, None, None]:
    """Yield the members found by walking local headers, then stop the container."""
    counter = MemberCounter(ctx.limits)
    found = 0
    pos = 0
    stop_note = ""
    while True:
        header = _read_header(fp, pos)
        if header is None:
            break
        counter.next()
        member, next_pos, stop_note = _salvage_member(fp, header, ctx)
        if member is not None:
            found += 1
            yield member
        if next_pos is None:
            break
        pos = next_pos
    raise ContainerStop(
        Reason.CORRUPT_ARCHIVE,
        f"zip central directory unreadable ({why}); {found} member(s) found from local "
        f"headers{stop_note}",
    )


def _read_header(fp: BinaryIO, pos: int) -> _Header | None:
    fp.seek(pos)
    raw = fp.read(_LOCAL.size)
    if len(raw) < _LOCAL.size:
        return None
    sig, _ver, flags, method, _time, _date, crc, csize, usize, nlen, xlen = _LOCAL.unpack(raw)
    if sig != _LOCAL_SIG:
        return None
    name_bytes = fp.read(nlen)
    extra = fp.read(xlen)
    if len(name_bytes) < nlen or len(extra) < xlen:
        return None
    # Lossless either way: cp437 maps every byte, undecodable UTF-8 bytes are kept.
    name = from_bytes(name_bytes) if flags & _FLAG_UTF8 else name_bytes.decode("cp437")
    if 0xFFFFFFFF in (csize, usize):
        usize, csize = _zip64_sizes(extra, usize, csize)
    return _Header(name, flags, method, crc, csize, usize, pos + _LOCAL.size + nlen + xlen)


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if tag == 0x0001:
            values = [struct.unpack_from("<Q", body, j)[0] for j in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            break
        i += 4 + size
    return usize, csize


def _salvage_member(
    fp: BinaryIO, h: _Header, ctx: Context
) -> tuple[Member | None, int | None, str]:
    """Read one member; return it, where the next header starts (None: stop), and a note."""
    skip_to = h.data_start + h.compressed if h.sizes_known else None
    if h.name.endswith("/") and h.uncompressed == 0:
        return None, skip_to, ""
    why = unsafe_name(h.name)
    if why is not None:
        return failed(h.name, Reason.UNSAFE_PATH, why), skip_to, _lost(skip_to)
    if h.flags & _FLAG_ENCRYPTED:
        member = failed(h.name, Reason.ENCRYPTED, "zip member is encrypted")
        return member, skip_to, _lost(skip_to)
    if h.method not in (_STORED, _DEFLATED) or (h.method == _STORED and not h.sizes_known):
        detail = f"compression method {h.method} cannot be recovered without the directory"
        member = failed(h.name, Reason.CORRUPT_ARCHIVE, detail)
        return member, skip_to, _lost(skip_to)
    fp.seek(h.data_start)
    try:
        data, used = _read_data(fp, h, ctx)
    except MemberFailure as exc:
        return Member(h.name, error=exc.error), skip_to, _lost(skip_to)
    except _Truncated:
        member = failed(h.name, Reason.CORRUPT_ARCHIVE, "member data cut short")
        return member, None, f"; the file ends inside member {h.name!r}"
    except ContainerStop as exc:
        return Member(h.name, error=exc.error), None, ""
    except zlib.error as exc:
        member = failed(h.name, Reason.CORRUPT_ARCHIVE, f"member data corrupt: {exc}")
        return member, skip_to, _lost(skip_to)
    next_pos = skip_to if skip_to is not None else _after_descriptor(fp, h.data_start + used)
    expected_crc = h.crc if h.sizes_known else None
    if expected_crc is None and next_pos is not None:
        expected_crc = _descriptor_crc(fp, h.data_start + used)
    if expected_crc is not None and zlib.crc32(data) != expected_crc:
        member = failed(h.name, Reason.CORRUPT_ARCHIVE, "CRC-32 mismatch")
        return member, next_pos, ""
    return Member(h.name, data=data, size=len(data)), next_pos, ""


def _lost(skip_to: int | None) -> str:
    return "" if skip_to is not None else "; later members unreachable (unknown member length)"


def _read_data(fp: BinaryIO, h: _Header, ctx: Context) -> tuple[bytes, int]:
    """Return the member's content and the number of compressed bytes it used."""
    limits = ctx.limits
    cap = limits.max_member_bytes
    inflater = zlib.decompressobj(-15) if h.method == _DEFLATED else None
    remaining: int | None = h.compressed if h.sizes_known else None
    out = MemberBuffer()
    used = 0
    while remaining is None or remaining > 0:
        chunk = fp.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            break
        used += len(chunk)
        if remaining is not None:
            remaining -= len(chunk)
        pending = chunk
        while pending:
            if inflater is None:
                piece, pending = pending, b""
            else:
                piece = inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
            out.add(piece)
            ctx.budget.charge(len(piece))
            if out.size > cap:
                raise MemberFailure(Reason.TOO_LARGE, f"member larger than {cap} bytes")
            if is_bomb(out.size, used, limits):
                raise MemberFailure(
                    Reason.ZIP_BOMB,
                    f"{out.size} bytes from {used} compressed "
                    f"(ratio above {limits.max_compression_ratio:g})",
                )
            if inflater is not None and inflater.eof:
                return out.take(), used - len(inflater.unused_data)
    if inflater is not None or (remaining is not None and remaining > 0):
        raise _Truncated
    return out.take(), used


def _after_descriptor(fp: BinaryIO, pos: int) -> int | None:
    """Where the next header starts after a data descriptor at ``pos``."""
    fp.seek(pos)
    head = fp.read(4)
    if len(head) < 4:
        return None
    start = pos + 4 if head == _DESCRIPTOR_SIG else pos
    # crc(4) + sizes: 4+4, or 8+8 for zip64; the next signature tells which.
    for size in (8, 16):
        fp.seek(start + 4 + size)
        if fp.read(4) in (_LOCAL_SIG, b"PK\x01\x02", b"PK\x05\x06"):
            return start + 4 + size
    return None


def _descriptor_crc(fp: BinaryIO, pos: int) -> int | None:
    fp.seek(pos)
    head = fp.read(8)
    if len(head) < 8:
        return None
    offset = 4 if head[:4] == _DESCRIPTOR_SIG else 0
    value: int = struct.unpack_from("<I", head, offset)[0]
    return value
