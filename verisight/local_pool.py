"""The local executor of a scan: in-process with one worker, else a process pool.

The pool (forkserver, analysis modules preloaded) holds a bounded window of items in
flight. Its workers die with the scan (:func:`verisight.scan_tasks.die_with_parent`).

When a worker process dies (a decoder crashing the interpreter, the OOM killer), Python
breaks the whole pool and fails every item in flight, without saying which one killed it.
Those items become suspects: each is retried alone in a fresh pool, so the others are
recorded normally and only an item that kills its worker :data:`CRASH_TRIES` times alone
is recorded as failed, ``worker-crash``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from verisight.errors import ItemError, Reason
from verisight.scan_tasks import CRASH_MARKER_ENV, Result, Task, analyse_task, init_pool_worker
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
        self.pool = _make_pool(workers)
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

    def _harvest(self, block: bool) -> None:
        if not self.inflight:
            return
        done, _ = wait(
            [f for _, _, f in self.inflight.values()],
            timeout=None if block else 0,
            return_when=FIRST_COMPLETED,
        )
        broken = any(isinstance(f.exception(), BrokenProcessPool) for f in done)
        if broken:  # every item in flight is finished or failed with the pool
            self.pool.shutdown(cancel_futures=True)
            wait([f for _, _, f in self.inflight.values()])
            done = {f for _, _, f in self.inflight.values()}
        suspects: list[tuple[Item, Task]] = []
        for seq in sorted(s for s, (_, _, f) in self.inflight.items() if f in done):
            item, task, fut = self.inflight.pop(seq)
            if isinstance(fut.exception(), BrokenProcessPool) or fut.cancelled():
                suspects.append((item, task))
            else:
                self.state.accept(seq, item, fut.result())
        if broken:
            self.pool = _make_pool(self.workers)
            for item, task in suspects:
                self.state.accept(task.seq, item, self._alone(task))

    def _alone(self, task: Task) -> Result:
        """``task`` run with nothing else in the pool, up to :data:`CRASH_TRIES` times."""
        for _ in range(CRASH_TRIES):
            try:
                return self.pool.submit(analyse_task, task).result()
            except BrokenProcessPool:
                self.pool.shutdown(cancel_futures=True)
                self.pool = _make_pool(self.workers)
        detail = f"the analysis worker process died on this item {CRASH_TRIES + 1} times"
        return Result(task.seq, None, False, ItemError(Reason.WORKER_CRASH, detail))


def _make_pool(workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["verisight._forkserver_guard", "verisight.analysis.analyse", "verisight.scan_tasks"]
    )
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=init_pool_worker,
        initargs=(os.environ.get(CRASH_MARKER_ENV),),
    )


def _spill(task: Task, data: bytes, folder: Path) -> Task:
    """The task with its content moved to a file in ``folder`` (see :data:`SPILL_BYTES`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{os.getpid()}-{task.seq}.bin"
    target.write_bytes(data)
    return dataclasses.replace(task, path=str(target), data=None, spilled=True)
