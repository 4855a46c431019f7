"""The worker side of a scan: analyse one item (or one container, member by member).

The same functions run in-process, in the local process pool (:mod:`verisight.scanning`)
and on Dask workers (:mod:`verisight.distributed`), so a scan's rows do not depend on where
its analysis ran. Two ways of handing back derived files:

* the local pool writes thumbnails and contact sheets into the case itself
  (``Task.thumbs_dir`` set): the case directory is on the same machine;
* a Dask worker writes them there too when it sees the case's folder; on another host it
  returns them inside the record (``thumbs_dir`` ``None``) and the coordinator stores them.

Also here: the per-item time limit (``Limits.max_item_seconds``): a ``SIGALRM`` timer
interrupts an item stuck in Python code and records it ``decode-timeout``, and each pool
worker publishes what it is working on (:class:`Busy`) so that the scan can kill a worker
stuck in native code; and the test-only crash and hang hooks (:data:`CRASH_MARKER_ENV`,
:data:`HANG_MARKER_ENV`). Pool workers die with a scan killed with SIGKILL
(:func:`verisight.derived.die_with_parent`); derived files are written by
:func:`verisight.derived.write_derived`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from verisight.analysis import ItemRecord, analyse_bytes, analyse_path
from verisight.analysis.detector import Detector
from verisight.derived import die_with_parent, write_derived
from verisight.errors import ItemError, Reason
from verisight.limits import Limits

#: Test-only: a worker analysing content that contains these bytes (UTF-8) kills its own
#: process with SIGKILL, standing in for a decoder that crashes the interpreter.
CRASH_MARKER_ENV = "VERISIGHT_TEST_CRASH_MARKER"

#: Test-only: content containing ``MARKER:python`` spins in a Python loop, ``MARKER:native``
#: blocks ``SIGALRM`` and sleeps (a decoder stuck in native code), MARKER being this
#: variable's value.
HANG_MARKER_ENV = "VERISIGHT_TEST_HANG_MARKER"


class ItemTimeout(BaseException):
    """Raised by the ``SIGALRM`` handler in an item past its time (a BaseException, so that a
    decoder's ``except Exception`` cannot swallow it)."""


def hard_deadline(limits: Limits) -> float:
    """Seconds after which the scan kills a worker still on one item: the item's time limit
    plus a grace (as long again, at most 10 s) for the ``SIGALRM`` to be handled."""
    return limits.max_item_seconds + min(10.0, limits.max_item_seconds)


class Busy:
    """What each pool worker is analysing, in memory shared with the scan: per worker slot its
    pid, the item's ``seq`` and when it started (``time.monotonic``, the same clock in every
    process); ``seq`` -1 when idle."""

    def __init__(self, slots: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        self.next_slot: Any = ctx.Value("i", 0)
        self.table: Any = ctx.Array("d", [0.0, -1.0, 0.0] * slots, lock=False)
        self.slots = slots

    def overdue(self, seconds: float) -> list[tuple[int, int]]:
        """``(pid, seq)`` of every worker that has been on one item for over ``seconds``."""
        now, t = time.monotonic(), self.table
        return [
            (int(t[3 * i]), int(t[3 * i + 1]))
            for i in range(self.slots)
            if t[3 * i + 1] >= 0 and now - t[3 * i + 2] > seconds
        ]


_busy: tuple[Any, int] | None = None  # this worker's table and slot


@contextmanager
def _working_on(seq: int) -> Iterator[None]:
    if _busy is None:
        yield
        return
    table, slot = _busy
    table[3 * slot + 2] = time.monotonic()
    table[3 * slot + 1] = float(seq)
    try:
        yield
    finally:
        table[3 * slot + 1] = -1.0


#: Exit status of a pool worker that retires after an interrupted item: a timer can interrupt
#: Python code anywhere (a lock held, a numba compile or an import half done), so the worker
#: hands back that item's ``decode-timeout`` and then exits instead of taking another item; the
#: pool is replaced and the items in flight are retried like a crash's suspects.
RETIRED_EXIT = 75
_retire = False


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise ItemTimeout


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ItemTimeout` in this block after ``seconds`` (main thread only: elsewhere,
    e.g. on a Dask worker thread, there is no timer and nothing changes)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_result(seq: int, seconds: float, how: str) -> Result:
    detail = f"analysis took over {seconds:g} s ({how})"
    return Result(seq, None, False, ItemError(Reason.DECODE_TIMEOUT, detail))


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


def _hook_content(task: Task, env: str) -> tuple[str, bytes] | None:
    """A test hook's marker and the task's content, when the hook is on (``env`` set)."""
    marker = os.environ.get(env)
    if not marker:
        return None
    try:
        content = task.data if task.data is not None else Path(task.path or "").read_bytes()
    except OSError:
        return None
    return marker, content


def _crash_hook(task: Task) -> None:
    hook = _hook_content(task, CRASH_MARKER_ENV)
    if hook is not None and hook[0].encode() in hook[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def _hang_hook(task: Task) -> None:
    hook = _hook_content(task, HANG_MARKER_ENV)
    if hook is None:
        return
    marker, content = hook
    if f"{marker}:python".encode() in content:
        while True:
            pass
    if f"{marker}:native".encode() in content:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        while True:
            time.sleep(3600)


def analyse_task(task: Task) -> Result:
    """Analyse one item; bad input becomes an error in the result, never an exception. An
    item past ``max_item_seconds`` is interrupted and becomes ``decode-timeout``."""
    global _retire
    if _retire:  # interrupted mid-item before: this interpreter may hold half-made state
        os._exit(RETIRED_EXIT)  # the pool breaks; this item is retried in a fresh worker
    _crash_hook(task)
    seconds = task.limits.max_item_seconds
    try:
        with _working_on(task.seq), _time_limit(seconds):
            _hang_hook(task)
            return _analyse(task)
    except ItemTimeout:
        if task.spilled and task.path is not None:
            Path(task.path).unlink(missing_ok=True)
        _retire = _busy is not None  # a pool worker is replaced, not reused
        return timeout_result(task.seq, seconds, "interrupted")


def _analyse(task: Task) -> Result:
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


def init_pool_worker(markers: dict[str, str | None], busy: Busy | None = None) -> None:
    """Initializer of the local pool's workers: die with the scan, take the test hooks'
    markers (``{env: value}``) and a slot in ``busy``."""
    global _busy
    die_with_parent()
    for env, value in markers.items():
        if value:
            os.environ[env] = value
        else:
            os.environ.pop(env, None)
    if busy is not None:
        with busy.next_slot.get_lock():
            slot = busy.next_slot.value
            busy.next_slot.value += 1
        if slot < busy.slots:
            busy.table[3 * slot] = float(os.getpid())
            _busy = (busy.table, slot)
