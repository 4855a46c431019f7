"""The filesystem walk: :func:`iter_items`, the public entry point of :mod:`verisight.sources`.

Roots (files or folders) are walked depth-first, names sorted, so two scans of the same
collection yield the same items in the same order. The walk streams: it holds one
folder's listing at a time and, for an ordinary file, reads only its first
:data:`~verisight.media.sniff.SNIFF_BYTES` to recognise containers by content. Containers
(zip, tar.*, 7z, gzip/bzip2/xz, WARC) are opened by :mod:`verisight.sources.containers`.

What the walk does with each kind of entry:

========================================  ===================================================
regular file                              ``Item(path=..., size, mtime_ns, depth=0)``
                                          (zero-byte files too: analysis marks them)
container                                 its members, then the container (``is_container``)
symlink to a file inside the root         yielded at the link's path
symlink leading outside the root          skipped ``SYMLINK_OUTSIDE_ROOT``, never followed
symlink to a folder inside the root       skipped ``SPECIAL_FILE``, never followed
FIFO, socket, device                      skipped ``SPECIAL_FILE``, never opened
permission denied, vanished, broken link  ``UNREADABLE``, no content
unreadable folder                         one ``UNREADABLE`` item for the folder
========================================  ===================================================

A root given as a symlink is followed (the user named it); links found below it are not.
``chain[0]`` is always :func:`os.path.abspath` of the path, never its resolved target.
Nothing raises out of :func:`iter_items` for bad input.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from verisight.errors import ItemError, Reason
from verisight.limits import Limits
from verisight.media.sniff import SNIFF_BYTES
from verisight.sources._common import Context
from verisight.sources.base import Item, Provenance
from verisight.sources.containers import container_kind, open_container

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC


def iter_items(roots: Sequence[Path], limits: Limits) -> Iterator[Item]:
    """Yield every item under ``roots``: files, archive members, WARC payloads, containers.

    Roots are taken in sorted order of their absolute paths (duplicates once); within a
    folder, entries are sorted by name; within a container, members come in archive order
    and the container follows its members.
    """
    for root in sorted({os.path.abspath(r) for r in roots}):
        yield from _walk_root(root, limits)


def _walk_root(root: str, limits: Limits) -> Iterator[Item]:
    try:
        st = os.stat(root)  # follows a symlinked root: the user named it
    except OSError as exc:
        yield _unreadable(root, exc)
        return
    boundary = os.path.realpath(root)
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_dir(root, boundary, limits)
    else:
        yield from _entry_items(root, boundary, limits, lst=st, follow_root=True)


def _walk_dir(top: str, boundary: str, limits: Limits) -> Iterator[Item]:
    """Depth-first over ``top`` with an explicit stack (no recursion limit on deep trees)."""
    try:
        stack: list[tuple[str, Iterator[str]]] = [(top, iter(_sorted_names(top)))]
    except OSError as exc:
        yield _unreadable(top, exc)
        return
    while stack:
        folder, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
        except OSError as exc:
            yield _unreadable(path, exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                stack.append((path, iter(_sorted_names(path))))
            except OSError as exc:
                yield _unreadable(path, exc, st)
            continue
        yield from _entry_items(path, boundary, limits, lst=st)


def _sorted_names(folder: str) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries)


def _entry_items(
    path: str,
    boundary: str,
    limits: Limits,
    *,
    lst: os.stat_result | None = None,
    follow_root: bool = False,
) -> Iterator[Item]:
    """Items for one non-folder entry.

    ``lst`` is its lstat if already known (its stat for a root, which is followed).
    """
    try:
        st = lst if lst is not None else os.lstat(path)
    except OSError as exc:
        yield _unreadable(path, exc)
        return
    follow = follow_root
    if stat.S_ISLNK(st.st_mode) and not follow_root:
        target = os.path.realpath(path)
        if not _inside(target, boundary):
            yield _skipped(
                path,
                Reason.SYMLINK_OUTSIDE_ROOT,
                f"symbolic link to {target}, outside the root {boundary}; not followed",
            )
            return
        try:
            st = os.stat(path)
        except OSError as exc:
            yield _unreadable(path, exc, detail=f"broken symbolic link: {exc.strerror or exc}")
            return
        if stat.S_ISDIR(st.st_mode):
            yield _skipped(path, Reason.SPECIAL_FILE, "symbolic link to a folder; not followed")
            return
        follow = True
    if not stat.S_ISREG(st.st_mode):
        yield _skipped(path, Reason.SPECIAL_FILE, f"{_file_kind(st.st_mode)}; never opened")
        return
    yield from _regular_file(path, limits, follow=follow)


def _regular_file(path: str, limits: Limits, *, follow: bool) -> Iterator[Item]:
    flags = _OPEN_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        yield _unreadable(path, exc)
        return
    with os.fdopen(fd, "rb") as fp:
        try:
            st = os.fstat(fd)
            head = fp.read(SNIFF_BYTES) if stat.S_ISREG(st.st_mode) else b""
        except OSError as exc:
            yield _unreadable(path, exc)
            return
        if not stat.S_ISREG(st.st_mode):  # replaced by something else since it was listed
            yield _skipped(path, Reason.SPECIAL_FILE, f"{_file_kind(st.st_mode)}; never read")
            return
        prov = Provenance(chain=(path,))
        kind = container_kind(head)
        if kind is not None and limits.max_archive_depth > 0:
            yield from open_container(
                fp,
                kind,
                prov,
                0,
                Context.for_top_level(limits),
                path=Path(path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
            )
            return
    error = None
    if kind is not None:
        error = ItemError(
            Reason.DEPTH_EXCEEDED, f"{kind} container not opened (archive depth limit 0)"
        )
    yield Item(
        prov,
        path=Path(path),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        skipped=error is not None,
        error=error,
    )


def _inside(target: str, boundary: str) -> bool:
    return target == boundary or target.startswith(boundary.rstrip(os.sep) + os.sep)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _skipped(path: str, reason: Reason, detail: str) -> Item:
    return Item(Provenance(chain=(path,)), skipped=True, error=ItemError(reason, detail))


def _unreadable(
    path: str, exc: OSError, st: os.stat_result | None = None, *, detail: str | None = None
) -> Item:
    return Item(
        Provenance(chain=(path,)),
        error=ItemError(Reason.UNREADABLE, detail or f"{exc.strerror or exc}"),
        size=st.st_size if st is not None else None,
        mtime_ns=st.st_mtime_ns if st is not None else None,
    )
