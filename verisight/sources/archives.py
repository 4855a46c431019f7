"""Zip and tar readers: members in archive order, read in chunks under the limits.

Zip
    Read through its central directory. Per member: unsafe names → ``UNSAFE_PATH``,
    symbolic links and other special entries → skipped ``SPECIAL_FILE``, the encryption
    flag → ``ENCRYPTED``, a declared or *actual* compression ratio above the limit (beyond
    1 MiB) → ``ZIP_BOMB``, more than ``max_member_bytes`` → ``TOO_LARGE``, a CRC or data
    error → ``CORRUPT_ARCHIVE``; none of these has content and the next member is read.
    When the central directory cannot be read (a zip cut short) the members are recovered
    from their local headers (:mod:`verisight.sources.zipscan`) and the container is marked
    ``CORRUPT_ARCHIVE``. Names are kept losslessly (:mod:`verisight.names`): without the
    UTF-8 flag they are cp437 (as ``zipfile`` reads them); a name that carries the flag but
    is not valid UTF-8 keeps its bytes (``bad\\xff.png``) and its member is read like any
    other (``zipfile`` alone refuses the whole archive).

Tar
    Read strictly as a stream (``tarfile`` mode ``r|``), so a huge tar, or a tar inside a
    compressed stream, is never seeked or held whole. Directory entries are not items;
    links, devices and FIFOs are skipped ``SPECIAL_FILE``. A truncated tar yields the
    members before the cut, then the container is marked ``CORRUPT_ARCHIVE``. Member names
    that are not UTF-8 (a latin-1 ``caf\\xe9.png``) keep their bytes (surrogateescape).
"""

from __future__ import annotations

import stat
import struct
import tarfile
import zipfile
from collections.abc import Generator, Iterator
from typing import IO, Any, BinaryIO, cast

from verisight.errors import ItemError, Reason
from verisight.names import from_bytes
from verisight.sources._common import (
    ContainerStop,
    Context,
    Member,
    MemberCounter,
    MemberFailure,
    Readable,
    failed,
    is_bomb,
    read_capped,
    unsafe_name,
)
from verisight.sources.streams import DECOMPRESSION_ERRORS
from verisight.sources.zipscan import salvage_zip

#: What zipfile raises for a member it cannot read (bad CRC, bad local header, unknown
#: compression method...).
_ZIP_MEMBER_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    NotImplementedError,
    ValueError,
    *DECOMPRESSION_ERRORS,
)
_ZIP_OPEN_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, *DECOMPRESSION_ERRORS)
_TAR_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, *DECOMPRESSION_ERRORS)


def read_zip(fp: BinaryIO, ctx: Context) -> Generator[Member, None, None]:
    """Yield the members of the zip archive in ``fp`` (seekable), in central-directory order."""
    fp.seek(0)
    lying: set[int] = set()
    try:
        try:
            archive = zipfile.ZipFile(fp)
        except UnicodeDecodeError:
            # A name flagged UTF-8 that is not: read those names as bytes (see below).
            patches, lying = _lying_utf8_flags(fp)
            fp.seek(0)
            archive = zipfile.ZipFile(cast(IO[bytes], _Patched(fp, patches)))
            infos = archive.infolist()
            for index in lying:  # their local headers too (offsets as zipfile resolved them)
                patches.update(_local_flag_patch(fp, infos[index].header_offset))
    except _ZIP_OPEN_ERRORS as exc:
        yield from salvage_zip(fp, ctx, str(exc))
        return
    with archive:
        counter = MemberCounter(ctx.limits)
        for index, info in enumerate(archive.infolist()):
            counter.next()
            if info.is_dir():
                continue
            # orig_filename: zipfile cuts ``filename`` at a NUL byte.
            name = info.orig_filename
            if index in lying:  # read as cp437 with the flag cleared: recover the bytes
                name = from_bytes(name.encode("cp437"))
            try:
                yield _zip_member(archive, info, name, ctx)
            except ContainerStop as exc:
                # The budget ran out while this member was read: record it, then stop.
                yield Member(name, error=exc.error)
                raise


#: zipfile's central-directory entry layout (``zipfile.structCentralDir``).
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_UTF8_FLAG = 0x800


def _lying_utf8_flags(fp: BinaryIO) -> tuple[dict[int, int], set[int]]:
    """Find the entries whose name is flagged UTF-8 but is not valid UTF-8.

    Returns byte patches (offset → new byte) that clear the flag in their central-directory
    entry, so that ``zipfile`` reads those names as cp437 (one character per byte,
    lossless), and the entries' indexes in the central directory. Their local headers are
    patched once ``zipfile`` has resolved where they are (:func:`_local_flag_patch`).
    """
    endrec = zipfile._EndRecData(fp)  # type: ignore[attr-defined]
    if not endrec:
        return {}, set()
    size_cd, offset_cd, location = endrec[5], endrec[6], endrec[9]
    concat = location - size_cd - offset_cd  # bytes prepended to the archive, as zipfile
    if endrec[0] == b"PK\x06\x06":
        concat -= 56 + 20  # zip64 end record and its locator
    start = offset_cd + concat
    fp.seek(start)
    data = fp.read(size_cd)
    patches: dict[int, int] = {}
    lying: set[int] = set()
    pos = index = 0
    while pos + _CENTRAL.size <= len(data):
        fields = _CENTRAL.unpack_from(data, pos)
        if fields[0] != b"PK\x01\x02":
            break
        flags, nlen, xlen, clen = fields[5], fields[12], fields[13], fields[14]
        name = data[pos + _CENTRAL.size : pos + _CENTRAL.size + nlen]
        if flags & _UTF8_FLAG and not _is_utf8(name):
            lying.add(index)
            patches[start + pos + 9] = (flags >> 8) & ~(_UTF8_FLAG >> 8)  # flags' high byte
        pos += _CENTRAL.size + nlen + xlen + clen
        index += 1
    return patches, lying


def _local_flag_patch(fp: BinaryIO, header_offset: int) -> dict[int, int]:
    """The patch that clears the UTF-8 flag in the local header at ``header_offset``."""
    fp.seek(header_offset + 6)
    raw = fp.read(2)
    if len(raw) < 2:
        return {}  # no such header: zipfile reports the member as unreadable
    return {header_offset + 7: raw[1] & ~(_UTF8_FLAG >> 8)}


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Patched:
    """A seekable read-only view of ``fp`` with a few bytes replaced."""

    def __init__(self, fp: BinaryIO, patches: dict[int, int]) -> None:
        self._fp = fp
        self._patches = patches

    def read(self, size: int = -1, /) -> bytes:
        start = self._fp.tell()
        data = self._fp.read(size)
        hits = [o for o in self._patches if start <= o < start + len(data)]
        if not hits:
            return data
        buf = bytearray(data)
        for offset in hits:
            buf[offset - start] = self._patches[offset]
        return bytes(buf)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self._fp.seek(offset, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def seekable(self) -> bool:
        return True


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, ctx: Context) -> Member:
    limits = ctx.limits
    why = unsafe_name(name)
    if why is not None:
        return failed(name, Reason.UNSAFE_PATH, why)
    # Unix file type in the high bits of external_attr; 0 (no type) is a plain file.
    file_type = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "symbolic link" if file_type == stat.S_IFLNK else "special file"
        return failed(name, Reason.SPECIAL_FILE, f"zip entry is a {kind}", skipped=True)
    if info.flag_bits & 0x1:
        return failed(name, Reason.ENCRYPTED, "zip member is encrypted")
    if info.file_size > limits.max_member_bytes:
        return failed(
            name,
            Reason.TOO_LARGE,
            f"declared size {info.file_size} exceeds {limits.max_member_bytes} bytes",
        )
    if is_bomb(info.file_size, info.compress_size, limits):
        return failed(
            name,
            Reason.ZIP_BOMB,
            f"declared {info.file_size} bytes from {info.compress_size} compressed "
            f"(ratio above {limits.max_compression_ratio:g})",
        )
    try:
        with archive.open(info) as src:
            data = read_capped(src, ctx, compressed_size=info.compress_size)
    except MemberFailure as exc:
        return Member(name, error=exc.error)
    except _ZIP_MEMBER_ERRORS as exc:
        return failed(name, Reason.CORRUPT_ARCHIVE, f"zip member unreadable: {exc}")
    return Member(name, data=data, size=len(data))


def read_tar(
    stream: Readable | BinaryIO, ctx: Context, *, charge: bool = True
) -> Generator[Member, None, None]:
    """Yield the members of the tar archive read sequentially from ``stream``.

    ``charge`` says whether member bytes count against the budget; it is false when the
    stream is a :class:`~verisight.sources.streams.GuardedStream`, which charges them already.
    """
    try:
        archive = tarfile.open(  # noqa: SIM115
            fileobj=cast(IO[bytes], stream), mode="r|", encoding="utf-8", errors="surrogateescape"
        )
    except _TAR_ERRORS as exc:
        raise ContainerStop(Reason.CORRUPT_ARCHIVE, f"not a readable tar: {exc}") from exc
    counter = MemberCounter(ctx.limits)
    first = True  # tarfile.open read the first header already; later ones lie past the data
    while True:
        try:
            if not first:
                _skip_to(archive, archive.offset)
            first = False
            info = archive.next()
        except _TAR_ERRORS as exc:
            raise ContainerStop(Reason.CORRUPT_ARCHIVE, f"tar truncated or corrupt: {exc}") from exc
        if info is None:
            return
        counter.next()
        if info.isdir():
            continue
        yield from _tar_member(archive, info, ctx, charge)


def _skip_to(archive: tarfile.TarFile, offset: int) -> None:
    """Read the stream up to the next header at ``offset``, stopping at its end.

    tarfile's own stream seek reads one block per loop turn and never looks for the end, so a
    header that declares an absurd size (base-256 sizes reach 2**95 bytes) in a member we skip
    kept ``next()`` spinning for ever on a 900-byte file (found by fuzzing).
    """
    stream = cast(Any, archive.fileobj)
    while (gap := offset - stream.tell()) > 0:
        if not stream.read(min(gap, 1 << 20)):
            raise ContainerStop(Reason.CORRUPT_ARCHIVE, "tar truncated inside a member's data")


def _tar_member(
    archive: tarfile.TarFile, info: tarfile.TarInfo, ctx: Context, charge: bool
) -> Iterator[Member]:
    name = info.name
    cap = ctx.limits.max_member_bytes
    why = unsafe_name(name)
    if why is not None:
        yield failed(name, Reason.UNSAFE_PATH, why)
        return
    if not info.isreg():
        yield failed(name, Reason.SPECIAL_FILE, f"tar entry is a {_tar_kind(info)}", skipped=True)
        return
    if info.size > cap:
        yield failed(name, Reason.TOO_LARGE, f"declared size {info.size} exceeds {cap} bytes")
        return
    src = archive.extractfile(info)
    if src is None:  # pragma: no cover - isreg() members always have a file object
        yield failed(name, Reason.CORRUPT_ARCHIVE, "tar member has no data")
        return
    try:
        data = read_capped(src, ctx, charge=charge)
    except MemberFailure as exc:
        yield Member(name, error=exc.error)
        return
    except ContainerStop as exc:
        yield Member(name, error=exc.error)
        raise
    except _TAR_ERRORS as exc:
        detail = f"tar truncated or corrupt inside this member: {exc}"
        yield Member(name, error=ItemError(Reason.CORRUPT_ARCHIVE, detail))
        raise ContainerStop(Reason.CORRUPT_ARCHIVE, detail) from exc
    yield Member(name, data=data, size=len(data))


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symbolic link"
    if info.islnk():
        return "hard link"
    if info.ischr() or info.isblk():
        return "device"
    if info.isfifo():
        return "FIFO"
    return f"special entry (type {info.type!r})"
