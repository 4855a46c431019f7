"""Derived files on disk (thumbnails, contact sheets): the one atomic write that analysis
workers and the scan's coordinator share, and :func:`die_with_parent` for the processes
that write them.

Kept free of heavy imports: the coordinator writes the derived files that come back inside
Dask results in a process of its own (:class:`verisight.scanning._DerivedWriter`), which
starts by importing only this module. A thread would do the same work, but file creation is
a handful of short system calls per file, each releasing and re-taking the GIL: next to the
coordinator's busy threads every one of them waits for a switch interval (the profile of a
20,000-item replay showed 29 ``futex`` calls per item and the scan 2.2 times slower than
without thumbnails).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from pathlib import Path

__all__ = ["die_with_parent", "write_all", "write_derived"]

_PR_SET_PDEATHSIG = 1


def write_derived(target: Path, data: bytes) -> None:
    """Write a derived file (thumbnail, contact sheet) into the case, atomically, once.
    Safe from several threads and processes at once."""
    name = os.fspath(target)
    if os.path.exists(name):
        return
    folder, base = os.path.split(name)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        f = open(tmp, "wb")  # noqa: SIM115
    except FileNotFoundError:  # the folder's first file
        os.makedirs(folder, exist_ok=True)
        f = open(tmp, "wb")  # noqa: SIM115
    with f:
        f.write(data)
    os.replace(tmp, name)


def write_all(files: list[tuple[Path, bytes]]) -> None:
    """:func:`write_derived` each ``(target, data)``, in order."""
    for target, data in files:
        write_derived(target, data)


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies (a scan killed with
    SIGKILL must not leave analysis workers behind). Elsewhere: nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() == 1:  # the parent died before the call: the signal will never come
        os._exit(1)
