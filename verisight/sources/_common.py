"""Shared pieces of the container readers: limits accounting, member records, safe reads.

Every format reader (zip, tar, 7z, compressed streams, WARC) is a generator of
:class:`Member` records. It knows nothing of nesting, depth or :class:`~verisight.sources.Item`:
:mod:`verisight.sources.containers` turns members into items and opens nested containers.

Readers signal trouble with three exceptions, all :class:`~verisight.errors.ItemFailure`:

* :class:`MemberFailure` — one member is bad (too large, a bomb, a CRC error); the reader
  catches it itself, yields the member with the error and goes on with the next one;
* :class:`ContainerStop` — this container cannot be read further (truncated, too many
  members, a compressed stream that is a bomb); members already yielded stand, the container
  item gets the error;
* :class:`BudgetExceeded` — the bytes extracted from one top-level container, all nesting
  levels together, passed ``Limits.max_total_bytes``: every enclosing container stops too.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from verisight.errors import ItemError, ItemFailure, Reason
from verisight.limits import Limits

#: Bytes read at a time from a member or a decompressor.
CHUNK = 1 << 20
#: Compression ratios are only judged once this much has been decompressed: tiny members
#: (an empty file, a blank PNG) legitimately compress far better than any sane limit.
RATIO_FLOOR = 1 << 20


class MemberFailure(ItemFailure):
    """One member cannot be read; the container goes on with the next member."""


class ContainerStop(ItemFailure):
    """The container cannot be read further; what was read before stands."""


class BudgetExceeded(ContainerStop):
    """The top-level container's total extraction budget is spent: stop every level."""


class Budget:
    """Bytes extracted from one top-level container, all nesting levels together.

    Thread-safe: the 7z reader decompresses in a helper thread.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def charge(self, n: int) -> None:
        """Count ``n`` more extracted bytes; raise :class:`BudgetExceeded` past the limit."""
        with self._lock:
            self.used += n
            used = self.used
        if used > self.limit:
            raise BudgetExceeded(
                Reason.ZIP_BOMB,
                f"more than {self.limit} bytes extracted from one top-level container",
            )


@dataclass(slots=True)
class Context:
    """What every reader needs: the limits and the budget of the current top-level file."""

    limits: Limits
    budget: Budget

    @classmethod
    def for_top_level(cls, limits: Limits) -> Context:
        return cls(limits, Budget(limits.max_total_bytes))


@dataclass(frozen=True, slots=True)
class Member:
    """One thing a reader found inside a container (not yet an :class:`Item`).

    ``data`` is the full content, or ``None`` when it was not (or could not be) read; then
    ``error`` says why (or the member is a revisit record, see ``revisit_digest``).
    """

    #: The link this member adds to the provenance chain (member name or WARC target URI).
    name: str
    data: bytes | None = None
    error: ItemError | None = None
    skipped: bool = False
    size: int | None = None
    #: True for a WARC payload: if it is neither media nor a container it is skipped.
    web: bool = False
    url: str | None = None
    captured_at: datetime | None = field(default=None)
    record_id: str | None = None
    declared_mime: str | None = None
    revisit_digest: str | None = None


class Readable(Protocol):
    """The one method the readers need from a stream."""

    def read(self, size: int = -1, /) -> bytes: ...


def failed(name: str, reason: Reason, detail: str, *, skipped: bool = False) -> Member:
    """A member without content that failed (or was skipped) for ``reason``."""
    return Member(name=name, error=ItemError(reason, detail), skipped=skipped)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str) -> str | None:
    """Why a member name would escape an extraction folder, or ``None`` if it is safe.

    Verisight never extracts to disk, but such a name is itself a sign of a hostile archive and
    is reported (``UNSAFE_PATH``) instead of being passed on.
    """
    if not name:
        return "empty member name"
    if "\x00" in name:
        return "member name contains a NUL byte"
    if name.startswith(("/", "\\")):
        return f"absolute member name {name!r}"
    if _DRIVE.match(name):
        return f"member name with a drive letter {name!r}"
    if ".." in re.split(r"[\\/]", name):
        return f"member name with a '..' segment {name!r}"
    return None


def read_capped(
    stream: Readable | BinaryIO,
    ctx: Context,
    *,
    compressed_size: int | None = None,
    charge: bool = True,
) -> bytes:
    """Read a whole member in chunks, enforcing the per-member limits as it goes.

    Never trusts a declared size: stops with ``TOO_LARGE`` as soon as more than
    ``max_member_bytes`` arrive, and (when ``compressed_size`` is known) with ``ZIP_BOMB``
    as soon as the actual ratio passes ``max_compression_ratio`` beyond :data:`RATIO_FLOOR`.
    With ``charge`` every byte counts against the top-level budget.
    """
    limits = ctx.limits
    cap = limits.max_member_bytes
    buf = MemberBuffer()
    while True:
        chunk = stream.read(min(CHUNK, cap + 1 - buf.size))
        if not chunk:
            break
        buf.add(chunk)
        if charge:
            ctx.budget.charge(len(chunk))
        if buf.size > cap:
            raise MemberFailure(Reason.TOO_LARGE, f"member larger than {cap} bytes")
        if compressed_size is not None and is_bomb(buf.size, compressed_size, limits):
            raise MemberFailure(
                Reason.ZIP_BOMB,
                f"{buf.size} bytes from {compressed_size} compressed "
                f"(ratio above {limits.max_compression_ratio:g})",
            )
    return buf.take()


class MemberBuffer:
    """Collects a member's content in memory once: :meth:`take` hands over the bytes
    without copying them (``io.BytesIO.getvalue`` shares its buffer), so a member of N
    bytes costs N (plus growth slack), not the 2 N of ``bytes(bytearray)``."""

    def __init__(self) -> None:
        self._io = io.BytesIO()
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self._io.write(chunk)
        self.size += len(chunk)

    def take(self) -> bytes:
        data = self._io.getvalue()
        self._io = io.BytesIO()
        return data


def is_bomb(uncompressed: int, compressed: int, limits: Limits) -> bool:
    """Whether ``uncompressed`` bytes out of ``compressed`` exceed the ratio limit."""
    if uncompressed <= RATIO_FLOOR:
        return False
    return uncompressed / max(compressed, 1) > limits.max_compression_ratio


class MemberCounter:
    """Counts the entries of one container and stops it past ``max_members``."""

    def __init__(self, limits: Limits) -> None:
        self.limit = limits.max_members
        self.seen = 0

    def next(self) -> None:
        """Count one more entry; raise :class:`ContainerStop` if there are too many."""
        self.seen += 1
        if self.seen > self.limit:
            raise ContainerStop(
                Reason.TOO_MANY_MEMBERS, f"more than {self.limit} entries; the rest were not read"
            )
