"""The local executor of a scan: in-process with one worker, else a process pool.

The pool (forkserver, analysis modules preloaded) holds a bounded window of items in
flight. Its workers die with the scan (:func:`verisight.derived.die_with_parent`).

When a worker process dies (a decoder crashing the interpreter, the OOM killer), Python
breaks the whole pool and fails every item in flight, without saying which one killed it.
Those items become suspects: each is retried alone in a fresh pool, so the others are
recorded normally and only an item that kills its worker :data:`CRASH_TRIES` times alone
is recorded as failed, ``worker-crash``.

An item past its time (``Limits.max_item_seconds``) is interrupted in its worker and recorded
``decode-timeout``; that worker then retires (:data:`verisight.scan_tasks.RETIRED_EXIT`), which
breaks and replaces the pool like a crash. A worker that does not come back from it (stuck in
native code, signals blocked) is killed by the scan once
:func:`verisight.scan_tasks.hard_deadline` has passed (the workers publish what they are on in
a :class:`verisight.scan_tasks.Busy` table): its item is recorded ``decode-timeout``, the pool
is replaced, and the other items that were in flight are retried alone like a crash's suspects.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from verisight.errors import ItemError, Reason
from verisight.scan_tasks import (
    CRASH_MARKER_ENV,
    HANG_MARKER_ENV,
    Busy,
    Result,
    Task,
    analyse_task,
    hard_deadline,
    init_pool_worker,
    timeout_result,
)
from verisight.scanning import ScanState
from verisight.sources import Item, iter_items

#: Times a suspect is retried alone before it is recorded as ``worker-crash``.
CRASH_TRIES = 2
#: Items in flight per worker process.
WINDOW_PER_WORKER = 4
#: In-memory content (an archive member, a WARC payload) larger than this goes to a worker
#: process through a file in the case (deleted once analysed), not through a pipe: pickling
#: would hold it twice in the scan and twice in the worker (a 1 GiB member cost 2+ GiB a
#: process). It also bounds what the scan holds for queued work: at most this per task.
SPILL_BYTES = 16 << 20
#: Seconds between checks for a worker past its hard deadline while waiting for results.
WATCH_SECONDS = 0.5


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, state: ScanState) -> None:
        thumbs = str(state.thumbs)
        spill = state.thumbs.parent / "spill"
        for stale in spill.glob("*.bin"):  # left by a scan or worker that was killed
            stale.unlink(missing_ok=True)
        items = iter_items([Path(r) for r in state.roots], state.limits)
        pool = _Pool(self.workers, state) if self.workers > 1 else None
        try:
            seq = -1
            # Not enumerate(): it keeps its last (seq, item) tuple, and so the previous
            # item's content, alive while the next item is read.
            for item in items:
                seq += 1
                task = state.task_for(seq, item, thumbs_dir=thumbs)
                if task is not None and pool is None:
                    state.accept(seq, item, analyse_task(task))
                elif task is not None and pool is not None:
                    if item.data is not None and len(item.data) > SPILL_BYTES:
                        task = _spill(task, item.data, spill)
                        item = dataclasses.replace(item, data=None)
                    pool.submit(item, task)
                del task, item  # its content (up to max_member_bytes) goes before the next
                state.tick(pool.oldest() if pool is not None else None)
            if pool is not None:
                pool.drain()
        finally:
            if pool is not None:
                pool.close()


class _Pool:
    def __init__(self, workers: int, state: ScanState) -> None:
        self.workers = workers
        self.state = state
        self.seconds = state.limits.max_item_seconds
        self.pool, self.busy = self._make()
        self.inflight: dict[int, tuple[Item, Task, Future[Result]]] = {}

    def oldest(self) -> int | None:
        return min(self.inflight) if self.inflight else None

    def submit(self, item: Item, task: Task) -> None:
        while len(self.inflight) >= self.workers * WINDOW_PER_WORKER:
            self._harvest(block=True)
        self.inflight[task.seq] = (item, task, self.pool.submit(analyse_task, task))
        self._harvest(block=False)

    def drain(self) -> None:
        while self.inflight:
            self._harvest(block=True)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)

    def _make(self) -> tuple[ProcessPoolExecutor, Busy | None]:
        busy = Busy(self.workers) if self.seconds > 0 else None
        return _make_pool(self.workers, busy), busy

    def _renew(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.pool, self.busy = self._make()

    def _kill_overdue(self) -> set[int]:
        """Kill every worker past its hard deadline; the ``seq`` of the items they were on."""
        if self.busy is None:
            return set()
        killed: set[int] = set()
        for pid, seq in self.busy.overdue(hard_deadline(self.state.limits)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.add(seq)
        return killed

    def _wait(
        self, futures: list[Future[Result]], block: bool
    ) -> tuple[set[Future[Result]], set[int]]:
        """Wait for one of ``futures`` (not at all unless ``block``), killing overdue workers
        meanwhile; the finished futures and the ``seq`` of the items whose worker was killed."""
        while True:
            done, _ = wait(
                futures,
                timeout=(WATCH_SECONDS if self.busy is not None else None) if block else 0,
                return_when=FIRST_COMPLETED,
            )
            killed = self._kill_overdue()
            if done or killed or not block:
                if killed:  # the pool breaks: wait for every future to say so
                    wait(futures)
                    done = set(futures)
                return done, killed

    def _harvest(self, block: bool) -> None:
        if not self.inflight:
            return
        futures = [f for _, _, f in self.inflight.values()]
        done, killed = self._wait(futures, block)
        broken = bool(killed) or any(isinstance(f.exception(), BrokenProcessPool) for f in done)
        if broken:  # every item in flight is finished or failed with the pool
            self.pool.shutdown(cancel_futures=True)
            wait(futures)
            done = set(futures)
        suspects: list[tuple[Item, Task]] = []
        for seq in sorted(s for s, (_, _, f) in self.inflight.items() if f in done):
            item, task, fut = self.inflight.pop(seq)
            if seq in killed:
                self.state.accept(seq, item, self._timed_out(task))
            elif isinstance(fut.exception(), BrokenProcessPool) or fut.cancelled():
                suspects.append((item, task))
            else:
                self.state.accept(seq, item, fut.result())
        if broken:
            self.pool, self.busy = self._make()
            for item, task in suspects:
                self.state.accept(task.seq, item, self._alone(task))

    def _timed_out(self, task: Task) -> Result:
        if task.spilled and task.path is not None:
            Path(task.path).unlink(missing_ok=True)
        return timeout_result(task.seq, self.seconds, "worker killed")

    def _alone(self, task: Task) -> Result:
        """``task`` run with nothing else in the pool, up to :data:`CRASH_TRIES` times."""
        for _ in range(CRASH_TRIES):
            fut = self.pool.submit(analyse_task, task)
            _, killed = self._wait([fut], block=True)
            if killed:
                self._renew()
                return self._timed_out(task)
            try:
                return fut.result()
            except BrokenProcessPool:
                self._renew()
        detail = f"the analysis worker process died on this item {CRASH_TRIES + 1} times"
        return Result(task.seq, None, False, ItemError(Reason.WORKER_CRASH, detail))


def _make_pool(workers: int, busy: Busy | None) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["verisight._forkserver_guard", "verisight.analysis.analyse", "verisight.scan_tasks"]
    )
    markers = {env: os.environ.get(env) for env in (CRASH_MARKER_ENV, HANG_MARKER_ENV)}
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=init_pool_worker,
        initargs=(markers, busy),
    )


def _spill(task: Task, data: bytes, folder: Path) -> Task:
    """The task with its content moved to a file in ``folder`` (see :data:`SPILL_BYTES`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{os.getpid()}-{task.seq}.bin"
    target.write_bytes(data)
    return dataclasses.replace(task, path=str(target), data=None, spilled=True)
