"""Zip and tar readers: members in archive order, read in chunks under the limits.

Zip
    Read through its central directory. Per member: unsafe names → ``UNSAFE_PATH``,
    symbolic links and other special entries → skipped ``SPECIAL_FILE``, the encryption
    flag → ``ENCRYPTED``, a declared or *actual* compression ratio above the limit (beyond
    1 MiB) → ``ZIP_BOMB``, more than ``max_member_bytes`` → ``TOO_LARGE``, a CRC or data
    error → ``CORRUPT_ARCHIVE``; none of these has content and the next member is read.
    When the central directory cannot be read (a zip cut short) the members are recovered
    from their local headers (:mod:`verisight.sources.zipscan`) and the container is marked
    ``CORRUPT_ARCHIVE``.

Tar
    Read strictly as a stream (``tarfile`` mode ``r|``), so a huge tar, or a tar inside a
    compressed stream, is never seeked or held whole. Directory entries are not items;
    links, devices and FIFOs are skipped ``SPECIAL_FILE``. A truncated tar yields the
    members before the cut, then the container is marked ``CORRUPT_ARCHIVE``.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Generator, Iterator
from typing import IO, BinaryIO, cast

from verisight.errors import ItemError, Reason
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
    try:
        archive = zipfile.ZipFile(fp)
    except _ZIP_OPEN_ERRORS as exc:
        yield from salvage_zip(fp, ctx, str(exc))
        return
    with archive:
        counter = MemberCounter(ctx.limits)
        for info in archive.infolist():
            counter.next()
            if info.is_dir():
                continue
            try:
                yield _zip_member(archive, info, ctx)
            except ContainerStop as exc:
                # The budget ran out while this member was read: record it, then stop.
                yield Member(info.filename, error=exc.error)
                raise


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: Context) -> Member:
    name = info.filename
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
        archive = tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|")  # noqa: SIM115
    except _TAR_ERRORS as exc:
        raise ContainerStop(Reason.CORRUPT_ARCHIVE, f"not a readable tar: {exc}") from exc
    counter = MemberCounter(ctx.limits)
    while True:
        try:
            info = archive.next()
        except _TAR_ERRORS as exc:
            raise ContainerStop(Reason.CORRUPT_ARCHIVE, f"tar truncated or corrupt: {exc}") from exc
        if info is None:
            return
        counter.next()
        if info.isdir():
            continue
        yield from _tar_member(archive, info, ctx, charge)


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
