"""Compressed streams (gzip, bzip2, xz): guarded decompression and single-file containers.

A compressed stream is classified by what its first decompressed bytes hold (never by its
name): a tar archive, a WARC capture, or anything else — a *single-member container* whose
one member is named after the stream minus its compression suffix (``photo.jpg.gz`` →
``photo.jpg``), or ``data`` when the name has no such suffix.

All decompression goes through :class:`GuardedStream`, which applies the compression-ratio
limit and the top-level byte budget to the stream as a whole, so a tar.gz or WARC.gz bomb
stops early however its members are laid out.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Generator
from typing import IO, BinaryIO, cast
from urllib.parse import urlsplit

from verisight.errors import ItemError, ItemFailure, Reason
from verisight.media.sniff import SNIFF_BYTES, sniff_gzip_inner
from verisight.sources._common import (
    CHUNK,
    ContainerStop,
    Context,
    Member,
    is_bomb,
    read_capped,
)

#: Compression formats handled here, by their sniffed MIME type.
COMPRESSED_MIMES: dict[str, str] = {
    "application/gzip": "gz",
    "application/x-bzip2": "bz2",
    "application/x-xz": "xz",
}

#: Exceptions the decompressors raise for corrupt or truncated input.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # gzip.BadGzipFile, bz2 "Invalid data stream"
    EOFError,  # "Compressed file ended before the end-of-stream marker was reached"
    zlib.error,
    lzma.LZMAError,
)

_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".z")


class CountingReader(io.RawIOBase):
    """A read-only view of ``raw`` that counts the bytes read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def _decompressor(fmt: str, raw: io.RawIOBase | BinaryIO) -> io.BufferedIOBase:
    source = cast(IO[bytes], raw)
    if fmt == "gz":
        return gzip.GzipFile(fileobj=source, mode="rb")
    if fmt == "bz2":
        return bz2.BZ2File(source, "rb")
    if fmt == "xz":
        return lzma.LZMAFile(source, "rb")
    raise ValueError(f"unknown compression {fmt!r}")


class GuardedStream:
    """The decompressed content of a gzip/bz2/xz stream, read under the limits.

    Raises :class:`~verisight.sources._common.ContainerStop`:

    * ``ZIP_BOMB`` as soon as the bytes produced exceed ``max_compression_ratio`` times the
      compressed bytes consumed (beyond 1 MiB); with ``charge`` every produced byte is also
      charged to the top-level budget (a WARC charges only the payloads it keeps);
    * ``corrupt_reason`` when the stream is corrupt or cut short. Reads return what is
      available (like ``read1``), so everything before the damage is delivered first, and
      the damage is never mistaken for a clean end (warcio, for one, treats ``EOFError``
      as "no more records").
    """

    def __init__(
        self,
        raw: BinaryIO,
        fmt: str,
        ctx: Context,
        *,
        corrupt_reason: Reason = Reason.CORRUPT_ARCHIVE,
        charge: bool = True,
    ) -> None:
        raw.seek(0)
        self._counter = CountingReader(raw)
        self._stream = _decompressor(fmt, self._counter)
        self._ctx = ctx
        self._corrupt_reason = corrupt_reason
        self._charge = charge
        self._ended = False
        self.produced = 0
        #: Set when junk follows the last complete gzip member: the content before it was
        #: delivered whole, the junk was not read (bzip2/xz readers skip such junk silently).
        self.trailing: ItemError | None = None

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if size == 0 or self._ended:
            return b""
        try:
            data = self._stream.read1(size)
        except gzip.BadGzipFile as exc:
            if not str(exc).startswith("Not a gzipped file"):
                raise ContainerStop(
                    self._corrupt_reason,
                    f"compressed stream corrupt after {self.produced} bytes: {exc}",
                ) from exc
            # Raised only where a new member should start: all earlier members were whole.
            self._ended = True
            self.trailing = ItemError(
                self._corrupt_reason,
                f"unreadable data after the end of the gzip stream was ignored ({exc})",
            )
            return b""
        except DECOMPRESSION_ERRORS as exc:
            raise ContainerStop(
                self._corrupt_reason,
                f"compressed stream corrupt or truncated after {self.produced} bytes: {exc}",
            ) from exc
        self.produced += len(data)
        if self._charge:
            self._ctx.budget.charge(len(data))
        if is_bomb(self.produced, self._counter.count, self._ctx.limits):
            raise ContainerStop(
                Reason.ZIP_BOMB,
                f"compressed stream expands {self.produced} bytes from "
                f"{self._counter.count} (ratio above {self._ctx.limits.max_compression_ratio:g})",
            )
        return data

    def tell(self) -> int:
        return self.produced


def peek_inner(raw: BinaryIO, fmt: str) -> str:
    """What a compressed stream holds: ``"tar"``, ``"warc"`` or ``"raw"``.

    A stream whose start does not even decompress is ``"raw"``: the single-member reader
    then reports it as corrupt.
    """
    raw.seek(0)
    try:
        head = _decompressor(fmt, raw).read(SNIFF_BYTES)
    except DECOMPRESSION_ERRORS:
        return "raw"
    finally:
        raw.seek(0)
    return sniff_gzip_inner(head)


def single_member_name(container_name: str) -> str:
    """The member name of a single-file stream: its own name minus the compression suffix.

    >>> single_member_name("/evidence/photo.jpg.gz")
    'photo.jpg'
    >>> single_member_name("https://host/blob?x=1")
    'data'
    """
    path = urlsplit(container_name).path if "://" in container_name else container_name
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    lower = base.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return "data"


def read_single(raw: BinaryIO, fmt: str, name: str, ctx: Context) -> Generator[Member, None, None]:
    """Yield the one member of a compressed stream that is neither tar nor WARC."""
    member_name = single_member_name(name)
    stream = GuardedStream(raw, fmt, ctx)
    try:
        # The stream already charges the budget and checks the ratio.
        data = read_capped(stream, ctx, charge=False)
    except ItemFailure as exc:
        # TOO_LARGE for the member alone; a bomb or a corrupt stream stops the container.
        yield Member(member_name, error=exc.error)
        if isinstance(exc, ContainerStop):
            raise
        return
    yield Member(member_name, data=data, size=len(data))
    if stream.trailing is not None:
        raise ContainerStop(stream.trailing.reason, stream.trailing.detail)
