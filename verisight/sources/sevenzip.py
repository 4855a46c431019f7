"""7z reader: members streamed one at a time from py7zr, entirely in memory.

py7zr 1.x has no ``read()``: it *pushes* each decompressed member into a writer object
(:class:`py7zr.io.Py7zIO`, created by a :class:`py7zr.io.WriterFactory`). To hand members
out one at a time without ever holding the whole archive in memory, the extraction runs in
a helper thread that passes each finished member over a :class:`_Channel` and waits until
the consumer asks for the next one; the two threads never run at the same time.

The thread drives py7zr's worker directly (``SevenZipFile.worker.register_filelike`` +
``Worker.extract``, exactly what ``SevenZipFile.extract(factory=...)`` does) because the
public path refuses the *whole* archive as soon as one member name is unsafe, and leaves
members it does not target to be decompressed unseen. Here every non-directory entry is
registered, so every decompressed byte passes through :class:`_Sink`, which enforces:

* the per-member limit (``TOO_LARGE``; the rest of the member is discarded),
* the top-level byte budget, and
* the compression ratio of the archive as a whole (bytes produced so far against the
  archive's size): a 7z is usually solid, so per-member compressed sizes are unknown.

Unsafe names (``UNSAFE_PATH``) and links (``SPECIAL_FILE``) are decompressed (so solid
blocks stay consistent) but their bytes are dropped. An archive whose content is encrypted
yields each member as ``ENCRYPTED`` and the container gets ``ENCRYPTED``; one whose header
is encrypted cannot even be listed and only the container is reported.

Names are UTF-16 in a 7z; py7zr decodes them strictly, so one name holding a lone surrogate
made the whole archive unreadable. Its name reader is replaced (below) by one that keeps such
a code unit (as the bytes of its UTF-8 form, ``\\xed\\xa0\\x80`` for U+D800): the member is
read, its name kept losslessly (:mod:`verisight.names`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import py7zr
import py7zr.archiveinfo
import py7zr.exceptions
from py7zr.io import MemIO, Py7zIO, WriterFactory

from verisight.errors import ItemError, ItemFailure, Reason
from verisight.names import from_bytes
from verisight.sources._common import (
    ContainerStop,
    Context,
    Member,
    failed,
    is_bomb,
    unsafe_name,
)


def _read_utf16_lossless(file: BinaryIO) -> str:
    """``py7zr.archiveinfo.read_utf16`` (same reading), keeping lone surrogates."""
    size, nul = 0, False
    for _ in range(py7zr.archiveinfo.MAX_LENGTH):
        ch = file.read(2)
        if len(ch) < 2:
            raise py7zr.exceptions.Bad7zFile("truncated archive: unterminated utf-16 string")
        size += 2
        if ch == b"\x00\x00":
            nul = True
            break
    file.seek(-size, 1)
    value = file.read(size)
    text = (value[:-2] if nul else value).decode("utf-16-le", "surrogatepass")
    # A lone surrogate becomes its UTF-8 form's bytes, kept as undecodable bytes: the one
    # internal form of names (verisight.names), where a name and its bytes correspond 1:1.
    return from_bytes(text.encode("utf-8", "surrogatepass"))


if callable(getattr(py7zr.archiveinfo, "read_utf16", None)):
    py7zr.archiveinfo.read_utf16 = _read_utf16_lossless


class _Cancelled(Exception):
    """The consumer went away: abandon the extraction."""


@dataclass(slots=True)
class _Delivery:
    member: Member


@dataclass(slots=True)
class _End:
    error: BaseException | None


class _Channel:
    """Hands members from the extraction thread to the consumer, one at a time."""

    def __init__(self) -> None:
        self._items: queue.Queue[_Delivery | _End] = queue.Queue()
        self._acks: queue.Queue[bool] = queue.Queue()
        self.cancelled = threading.Event()

    # extraction thread
    def send(self, member: Member) -> None:
        self._items.put(_Delivery(member))
        if not self._acks.get():
            raise _Cancelled

    def finish(self, error: BaseException | None) -> None:
        self._items.put(_End(error))

    # consumer
    def receive(self) -> _Delivery | _End:
        return self._items.get()

    def resume(self) -> None:
        self._acks.put(True)

    def cancel(self) -> None:
        self.cancelled.set()
        self._acks.put(False)


@dataclass(slots=True)
class _Job:
    """The state shared by the writers of one extraction."""

    ctx: Context
    channel: _Channel
    packed_size: int
    entries: dict[int, Any]
    verdicts: dict[int, ItemError | None]
    produced: int = 0
    #: Name of the member being decompressed and not yet delivered.
    current: str | None = None

    def account(self, n: int) -> None:
        if self.channel.cancelled.is_set():
            raise _Cancelled
        self.produced += n
        self.ctx.budget.charge(n)
        if is_bomb(self.produced, self.packed_size, self.ctx.limits):
            raise ContainerStop(
                Reason.ZIP_BOMB,
                f"7z archive of {self.packed_size} bytes expands to more than {self.produced} "
                f"(ratio above {self.ctx.limits.max_compression_ratio:g})",
            )


class _Sink(Py7zIO):
    """Receives one member's bytes from py7zr and delivers the member when it is complete."""

    def __init__(self, job: _Job, entry_id: int) -> None:
        self._job = job
        self._id = entry_id
        self._buf = bytearray()
        self._keep = job.verdicts[entry_id] is None
        self._too_large = False

    def write(self, s: bytes | bytearray) -> int:
        self._job.account(len(s))
        if self._keep:
            if len(self._buf) + len(s) > self._job.ctx.limits.max_member_bytes:
                self._keep, self._too_large = False, True
                self._buf = bytearray()
            else:
                self._buf += s
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return len(self._buf)

    def close(self) -> None:
        job = self._job
        name = job.entries[self._id].filename
        verdict = job.verdicts[self._id]
        if verdict is not None:
            member = Member(name, error=verdict, skipped=verdict.reason is Reason.SPECIAL_FILE)
        elif self._too_large:
            cap = job.ctx.limits.max_member_bytes
            member = failed(name, Reason.TOO_LARGE, f"member larger than {cap} bytes")
        else:
            member = Member(name, data=bytes(self._buf), size=len(self._buf))
        self._buf = bytearray()
        job.current = None
        job.channel.send(member)


class _Factory(WriterFactory):
    def __init__(self, job: _Job) -> None:
        self._job = job

    def create(self, filename: str) -> Py7zIO:
        entry_id = int(filename)
        self._job.current = self._job.entries[entry_id].filename
        return _Sink(self._job, entry_id)


def read_7z(fp: BinaryIO, ctx: Context) -> Generator[Member, None, None]:
    """Yield the members of the 7z archive in ``fp`` (seekable), in extraction order."""
    packed_size = fp.seek(0, 2)
    fp.seek(0)
    try:
        archive = py7zr.SevenZipFile(fp, "r")
    except py7zr.exceptions.PasswordRequired as exc:
        detail = "7z archive with encrypted headers: its members cannot be listed"
        raise ContainerStop(Reason.ENCRYPTED, detail) from exc
    except Exception as exc:
        raise ContainerStop(Reason.CORRUPT_ARCHIVE, f"7z header unreadable: {exc}") from exc
    try:
        yield from _read_open(archive, packed_size, ctx)
    finally:
        archive.close()


def _read_open(archive: py7zr.SevenZipFile, packed_size: int, ctx: Context) -> Iterator[Member]:
    files = list(getattr(archive, "files", None) or [])
    limit = ctx.limits.max_members  # counts every entry, folders included, as for zip/tar
    too_many = len(files) > limit
    entries = [f for f in files[:limit] if not f.is_directory]
    if archive.needs_password():
        for entry in entries:
            yield failed(entry.filename, Reason.ENCRYPTED, "member of an encrypted 7z archive")
        raise ContainerStop(Reason.ENCRYPTED, "7z archive content is encrypted")
    verdicts: dict[int, ItemError | None] = {e.id: _verdict(e, ctx) for e in entries}
    job = _Job(ctx, _Channel(), packed_size, {e.id: e for e in entries}, verdicts)
    factory = _Factory(job)
    for entry in entries:
        archive.worker.register_filelike(entry.id, MemIO(str(entry.id), factory))
    yield from _run(archive, job)
    if too_many:
        raise ContainerStop(
            Reason.TOO_MANY_MEMBERS, f"more than {limit} entries; the rest were not read"
        )


def _verdict(entry: Any, ctx: Context) -> ItemError | None:
    """Why a member's content will not be kept, decided from the header alone."""
    name: str = entry.filename
    why = unsafe_name(name)
    if why is not None:
        return ItemError(Reason.UNSAFE_PATH, why)
    if entry.is_symlink or entry.is_junction or entry.is_socket:
        return ItemError(Reason.SPECIAL_FILE, "7z entry is a link or special file")
    size = entry.uncompressed
    if isinstance(size, int) and size > ctx.limits.max_member_bytes:
        return ItemError(
            Reason.TOO_LARGE, f"declared size {size} exceeds {ctx.limits.max_member_bytes} bytes"
        )
    compressed = entry.compressed
    if (
        isinstance(size, int)
        and isinstance(compressed, int)
        and is_bomb(size, compressed, ctx.limits)
    ):
        return ItemError(
            Reason.ZIP_BOMB,
            f"declared {size} bytes from {compressed} compressed "
            f"(ratio above {ctx.limits.max_compression_ratio:g})",
        )
    return None


def _run(archive: py7zr.SevenZipFile, job: _Job) -> Iterator[Member]:
    channel = job.channel

    def extract() -> None:
        try:
            archive.worker.extract(archive.fp, None, parallel=False)
        except _Cancelled:
            return
        except Exception as exc:
            channel.finish(exc)
            return
        channel.finish(None)

    thread = threading.Thread(target=extract, name="verisight-7z", daemon=True)
    thread.start()
    end: _End | None = None
    try:
        while True:
            message = channel.receive()
            if isinstance(message, _End):
                end = message
                break
            yield message.member
            channel.resume()
    finally:
        if end is None:
            channel.cancel()
        thread.join(timeout=30)
    if end.error is None:
        return
    error = end.error
    if isinstance(error, ItemFailure):
        item_error = error.error
    else:
        detail = f"7z extraction failed: {type(error).__name__}: {error}"
        item_error = ItemError(Reason.CORRUPT_ARCHIVE, detail)
    if job.current is not None:
        yield Member(job.current, error=item_error)
    if isinstance(error, ContainerStop):
        raise error
    raise ContainerStop(item_error.reason, item_error.detail) from error
