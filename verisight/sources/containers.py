"""Opening containers, recursively: members become items, nested containers are opened.

This is where the format readers meet. :func:`container_kind` recognises a container from
its first bytes only; :func:`open_container` runs the right reader and turns each
:class:`~verisight.sources._common.Member` into :class:`~verisight.sources.Item` objects — opening
members that are themselves containers, from memory, while their depth is below
``Limits.max_archive_depth`` — and yields the container itself **last**.

Depth rule: a container at depth ``d`` is opened iff ``d < max_archive_depth``. With the
default of 3, ``seized.zip`` (0) › ``inner.tar.gz`` (1) › ``deeper.zip`` (2) are all opened
and their members (depths 1, 2, 3) yielded, but a zip found at depth 3 is yielded with its
data, skipped, ``DEPTH_EXCEEDED``.

Errors: nothing raises out of :func:`open_container` for bad input. A reader that stops
part-way (truncated, too many members, a bomb) leaves its members yielded and its error on
the container item; any unexpected exception becomes ``CORRUPT_ARCHIVE`` (``CORRUPT_WARC``
for a WARC) with the exception text. When the top-level budget runs out, each enclosing
container is yielded with ``ZIP_BOMB`` and the whole top-level file stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import BinaryIO

from verisight.errors import ItemError, ItemFailure, Reason
from verisight.media.sniff import SNIFF_BYTES, sniff
from verisight.sources._common import BudgetExceeded, Context, Member
from verisight.sources.archives import read_tar, read_zip
from verisight.sources.base import Item, Provenance
from verisight.sources.sevenzip import read_7z
from verisight.sources.streams import COMPRESSED_MIMES, GuardedStream, peek_inner, read_single
from verisight.sources.warc import read_warc

_KINDS: dict[str, str] = {
    "application/zip": "zip",
    "application/x-7z-compressed": "7z",
    "application/x-tar": "tar",
    "application/warc": "warc",
    **COMPRESSED_MIMES,
}
_MEDIA_KINDS = ("image", "video")


def container_kind(head: bytes) -> str | None:
    """The container format of content starting with ``head``, or ``None``.

    One of ``zip``, ``7z``, ``tar``, ``warc``, ``gz``, ``bz2``, ``xz``. Formats Verisight
    cannot open (e.g. RAR) are not containers: they are hashed as plain files.
    """
    return _KINDS.get(sniff(head[:SNIFF_BYTES]).mime)


def open_container(
    fp: BinaryIO,
    kind: str,
    prov: Provenance,
    depth: int,
    ctx: Context,
    *,
    path: Path | None = None,
    data: bytes | None = None,
    size: int | None = None,
    mtime_ns: int | None = None,
    declared_mime: str | None = None,
    own_error: ItemError | None = None,
) -> Iterator[Item]:
    """Yield every member of the container in ``fp`` (recursively), then the container.

    ``fp`` must be seekable. ``path`` / ``data`` is the container's own content, carried
    on its item; ``own_error`` is an error the container had before it was opened (e.g. a
    WARC record marked truncated), kept unless reading it finds a worse one.
    """
    name = prov.chain[-1]
    error: ItemError | None = None
    stop: BudgetExceeded | None = None
    is_warc = kind == "warc"
    members: Generator[Member, None, None] | None = None
    stream: GuardedStream | None = None
    try:
        if kind in ("gz", "bz2", "xz"):
            inner = peek_inner(fp, kind)
            is_warc = inner == "warc"
            if inner == "warc":
                # Only the payloads a WARC keeps count against the budget, not its HTML.
                stream = GuardedStream(
                    fp, kind, ctx, corrupt_reason=Reason.CORRUPT_WARC, charge=False
                )
                members = read_warc(stream, ctx)
            elif inner == "tar":
                stream = GuardedStream(fp, kind, ctx)
                members = read_tar(stream, ctx, charge=False)
            else:
                members = read_single(fp, kind, name, ctx)
        else:
            fp.seek(0)
            members = _plain_reader(fp, kind, ctx)
        seen_names: dict[str, int] = {}
        for member in members:
            yield from member_items(_distinct(member, seen_names), prov.chain, depth + 1, ctx)
            del member  # let its content go before the next member is read
        if stream is not None and stream.trailing is not None:
            error = stream.trailing
    except BudgetExceeded as exc:
        error, stop = exc.error, exc
    except ItemFailure as exc:
        error = exc.error
    except Exception as exc:
        reason = Reason.CORRUPT_WARC if is_warc else Reason.CORRUPT_ARCHIVE
        error = ItemError(reason, f"{type(exc).__name__}: {exc}")
    finally:
        if members is not None:
            _close_quietly(members)
    yield Item(
        provenance=prov,
        depth=depth,
        path=path,
        data=data,
        error=error or own_error,
        is_container=True,
        size=size,
        mtime_ns=mtime_ns,
        declared_mime=declared_mime,
    )
    if stop is not None and depth > 0:
        raise stop


def _distinct(member: Member, seen: dict[str, int]) -> Member:
    """Archives may hold several entries with one name: the second and later get an entry
    number in their locator (``record_id``), so every entry stays a distinct sighting."""
    n = seen.get(member.name, 0) + 1
    seen[member.name] = n
    if n == 1 or member.record_id is not None:
        return member
    return dataclasses.replace(member, record_id=f"entry {n}")


def _close_quietly(members: Generator[Member, None, None]) -> None:
    """Release a reader (its file handles, its 7z thread) without masking the outcome."""
    with contextlib.suppress(Exception):  # the container's error is already decided
        members.close()


def _plain_reader(fp: BinaryIO, kind: str, ctx: Context) -> Generator[Member, None, None]:
    if kind == "zip":
        return read_zip(fp, ctx)
    if kind == "tar":
        return read_tar(fp, ctx)
    if kind == "7z":
        return read_7z(fp, ctx)
    if kind == "warc":
        return read_warc(fp, ctx)
    raise ValueError(f"unknown container kind {kind!r}")


def member_items(
    member: Member, parent_chain: tuple[str, ...], depth: int, ctx: Context
) -> Iterator[Item]:
    """Turn one member into items: itself, or (for a container) its members then itself."""
    prov = Provenance(
        chain=(*parent_chain, member.name),
        url=member.url,
        captured_at=member.captured_at,
        record_id=member.record_id,
    )
    data = member.data
    if data is None:
        yield Item(
            provenance=prov,
            depth=depth,
            revisit_digest=member.revisit_digest,
            error=member.error,
            skipped=member.skipped,
            size=member.size,
            declared_mime=member.declared_mime,
        )
        return
    kind = container_kind(data[:SNIFF_BYTES])
    if kind is not None:
        if depth >= ctx.limits.max_archive_depth:
            yield Item(
                provenance=prov,
                depth=depth,
                data=data,
                skipped=True,
                error=ItemError(
                    Reason.DEPTH_EXCEEDED,
                    f"{kind} container at nesting depth {depth} not opened "
                    f"(limit {ctx.limits.max_archive_depth})",
                ),
                size=len(data),
                declared_mime=member.declared_mime,
            )
        else:
            yield from open_container(
                io.BytesIO(data),
                kind,
                prov,
                depth,
                ctx,
                data=data,
                size=len(data),
                declared_mime=member.declared_mime,
                own_error=member.error,
            )
        return
    if member.web and not _is_media(data, member.declared_mime):
        yield Item(
            provenance=prov,
            depth=depth,
            skipped=True,
            error=ItemError(
                Reason.NOT_MEDIA,
                f"web payload is {member.declared_mime or sniff(data[:SNIFF_BYTES]).mime}, "
                "not an image or video",
            ),
            size=len(data),
            declared_mime=member.declared_mime,
        )
        return
    yield Item(
        provenance=prov,
        depth=depth,
        data=data,
        error=member.error,
        skipped=member.skipped,
        size=len(data),
        declared_mime=member.declared_mime,
    )


def _is_media(data: bytes, declared_mime: str | None) -> bool:
    if sniff(data[:SNIFF_BYTES]).kind in _MEDIA_KINDS:
        return True
    return declared_mime is not None and declared_mime.startswith(("image/", "video/"))
