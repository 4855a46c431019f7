"""The worker side of a scan: analyse one item (or one container, member by member).

The same functions run in-process, in the local process pool (:mod:`verisight.scanning`)
and on Dask workers (:mod:`verisight.distributed`), so a scan's rows do not depend on where
its analysis ran. Two ways of handing back derived files:

* the local pool writes thumbnails and contact sheets into the case itself
  (``Task.thumbs_dir`` set): the case directory is on the same machine;
* a Dask worker writes them there too when it sees the case's folder; on another host it
  returns them inside the record (``thumbs_dir`` ``None``) and the coordinator stores them.

Also here: :func:`die_with_parent`, so that pool workers never outlive a scan killed with
SIGKILL, and the test-only crash hook (:data:`CRASH_MARKER_ENV`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from verisight.analysis import ItemRecord, analyse_bytes, analyse_path
from verisight.analysis.detector import Detector
from verisight.errors import ItemError, Reason
from verisight.limits import Limits

#: Test-only: a worker analysing content that contains these bytes (UTF-8) kills its own
#: process with SIGKILL, standing in for a decoder that crashes the interpreter.
CRASH_MARKER_ENV = "VERISIGHT_TEST_CRASH_MARKER"

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Task:
    """One item's content to analyse: a file (``path``) or bytes in memory (``data``)."""

    seq: int
    path: str | None
    data: bytes | None
    limits: Limits
    #: Where to write derived files; ``None``: return them in the record instead.
    thumbs_dir: str | None
    detector: str | None = None
    #: ``path`` is a temporary copy of in-memory content: delete it once analysed.
    spilled: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    seq: int
    record: ItemRecord | None
    has_thumbnail: bool
    error: ItemError | None


def thumbnail_path(thumbs_dir: Path, sha256: str) -> Path:
    return thumbs_dir / sha256[:2] / f"{sha256}.jpg"


def contact_sheet_path(thumbs_dir: Path, sha256: str) -> Path:
    """Where a video's contact sheet (JPEG grid of sampled frames) lives in the case."""
    return thumbs_dir / sha256[:2] / f"{sha256}.sheet.jpg"


_DETECTORS: dict[str, Detector] = {}


def load_detector(path: str | None) -> Detector | None:
    """The detector at ``path``, loaded once per process."""
    if path is None:
        return None
    if path not in _DETECTORS:
        _DETECTORS[path] = Detector.load(Path(path))
    return _DETECTORS[path]


def _crash_hook(task: Task) -> None:
    marker = os.environ.get(CRASH_MARKER_ENV)
    if not marker:
        return
    try:
        content = task.data if task.data is not None else Path(task.path or "").read_bytes()
    except OSError:
        return
    if marker.encode() in content:
        os.kill(os.getpid(), signal.SIGKILL)


def analyse_task(task: Task) -> Result:
    """Analyse one item; bad input becomes an error in the result, never an exception."""
    _crash_hook(task)
    try:
        detector = load_detector(task.detector)
        if task.path is not None:
            try:
                record = analyse_path(Path(task.path), task.limits, detector)
            finally:
                if task.spilled:
                    Path(task.path).unlink(missing_ok=True)
        else:
            assert task.data is not None
            record = analyse_bytes(task.data, task.limits, detector)
    except OSError as exc:
        return Result(task.seq, None, False, ItemError(Reason.UNREADABLE, str(exc)))
    except Exception as exc:  # a bug, not bad input: record it and go on
        detail = f"{exc.__class__.__name__}: {exc}"
        return Result(task.seq, None, False, ItemError(Reason.INTERNAL, detail))
    if task.thumbs_dir is None:  # derived files travel with the record
        return Result(task.seq, record, record.thumbnail is not None, None)
    return Result(task.seq, *store_derived(Path(task.thumbs_dir), record), None)


def store_derived(thumbs_dir: Path, record: ItemRecord) -> tuple[ItemRecord, bool]:
    """Write a record's thumbnail and contact sheet into the case; the record without them,
    and whether it has a thumbnail."""
    has_thumb = False
    if record.thumbnail is not None:
        write_derived(thumbnail_path(thumbs_dir, record.sha256), record.thumbnail)
        has_thumb = True
    if record.contact_sheet is not None:
        write_derived(contact_sheet_path(thumbs_dir, record.sha256), record.contact_sheet)
    if record.thumbnail is None and record.contact_sheet is None:
        return record, has_thumb
    return dataclasses.replace(record, thumbnail=None, contact_sheet=None), has_thumb


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


def init_pool_worker(crash_marker: str | None) -> None:
    """Initializer of the local pool's workers."""
    die_with_parent()
    if crash_marker:
        os.environ[CRASH_MARKER_ENV] = crash_marker
    else:
        os.environ.pop(CRASH_MARKER_ENV, None)
