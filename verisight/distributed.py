"""Analysis on a Dask cluster: ``verisight scan --dask ADDRESS`` (see docs/distributed.md).

The scan's own process stays the coordinator (:func:`verisight.scanning.run_scan`): it
walks the roots, hands out work units, and records the outcomes exactly as a local scan
does, through :meth:`ScanState.accept`; only where the analysis runs differs, so the rows
are those of ``--workers N``.

Work units:

* a **loose file**: its path (:func:`analyse_item`, i.e. :func:`scan_tasks.analyse_task`);
* a **container** on disk (archive, WARC file): its path; the worker opens it and analyses
  every member (:func:`analyse_container`), returning one result per item, members first.

So workers read originals themselves: every worker must see the collection at the same
path as the coordinator (checked when connecting). Workers that all see the case's
thumbnail folder (a probe file, each scan) write thumbnails and contact sheets there, as the
local pool does; otherwise these come back inside the records and the coordinator stores
them. Luma grids always come back in the records.

Failures: a worker that dies mid-task has its task rescheduled by Dask; a task that killed
``distributed.scheduler.allowed-failures`` + 1 workers errs with ``KilledWorker``. A loose
file is then recorded as failed, ``worker-crash``; a container is taken apart by the
coordinator and its members sent one by one, so only the member at fault fails.

Time limits: a task runs on a worker thread, where no timer can interrupt it, so the
coordinator asks the workers every :data:`WATCH_SECONDS` which items of the scan they have
been on for longer than :func:`~verisight.scan_tasks.hard_deadline`; such a worker is stopped
(its nanny starts a fresh one), the item recorded ``decode-timeout`` and the other items of its
task sent again (a container's members one by one), as the local pool does.

Workers whose Verisight version differs from the coordinator's, or that cannot see the
roots, are refused (no task is sent to them) and the reason is reported.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import verisight
from verisight.errors import ItemError, Reason, UsageError
from verisight.limits import Limits
from verisight.scan_tasks import Result, Task, analyse_task, hard_deadline, timeout_result
from verisight.scanning import ScanState
from verisight.sources import Item, iter_items

log = logging.getLogger(__name__)
R = TypeVar("R")

#: Test-only: a worker reports this version instead of its own.
FAKE_VERSION_ENV = "VERISIGHT_TEST_FAKE_VERSION"
#: Loose files per task.
FILES_PER_TASK = 8
#: Units in flight per worker thread.
WINDOW_PER_THREAD = 4
#: Tries of a task on workers that die before it is ``worker-crash``, on a ``local:N`` cluster.
LOCAL_ALLOWED_FAILURES = 2
#: Scheduler settings of a ``local:N`` cluster (recommended for any cluster, see
#: docs/distributed.md): one task at a time per worker thread, so that a worker's death
#: counts against the task that killed it, not against tasks queued behind it.
#: Workers also keep glibc's adaptive allocator (Dask's default MALLOC_TRIM_THRESHOLD_ makes
#: every decoded image an mmap/munmap: ~20 % more CPU per image, measured).
LOCAL_SCHEDULER_CONFIG: dict[str, Any] = {
    "distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1,
        "MKL_NUM_THREADS": 1,
        "OPENBLAS_NUM_THREADS": 1,
    },
}
#: Seconds a scan waits with no usable worker before it stops (resumable).
NO_WORKER_TIMEOUT = 120.0
#: Seconds to wait for the scheduler, and then for a first worker.
CONNECT_TIMEOUT = 10.0
#: Seconds between asking the workers what they are on (items past their time limit).
WATCH_SECONDS = 2.0


class DaskUnavailable(UsageError):
    """The Dask cluster cannot be used (unreachable, no usable worker)."""


class VersionMismatch(Exception):
    """Raised on a worker whose Verisight version is not the coordinator's."""


def worker_version() -> str:
    return os.environ.get(FAKE_VERSION_ENV) or verisight.__version__


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except ValueError:  # not on a worker
        return "?"


def _check_version(version: str) -> None:
    mine = worker_version()
    if mine != version:
        raise VersionMismatch(
            _worker_address(), f"runs Verisight {mine}, the coordinator {version}"
        )


def _missing_roots(roots: list[str]) -> list[str]:
    return [r for r in roots if not os.path.exists(r)]


def _sees_file(path: str) -> bool:
    return os.path.isfile(path)


def _kill_worker(dask_worker: Any) -> int:
    """Runs on a nanny: SIGKILL its worker process (the nanny then starts a fresh one)."""
    pid = int(dask_worker.process.process.pid)
    os.kill(pid, signal.SIGKILL)
    return pid


def _exit_now() -> None:
    """Runs on a worker without a nanny: end its process."""
    os._exit(1)


# -- the worker side -------------------------------------------------------------------

#: What this worker's threads are analysing: thread id → (scan token, seq, start). A Dask
#: task runs on a worker thread, where no ``SIGALRM`` can interrupt it: the coordinator reads
#: this (:func:`_overdue`) and has a worker stuck past an item's time limit stopped.
_ON: dict[int, tuple[str, int, float]] = {}


@contextmanager
def _working_on(token: str, seq: int) -> Iterator[None]:
    me = threading.get_ident()
    _ON[me] = (token, seq, time.monotonic())
    try:
        yield
    finally:
        _ON.pop(me, None)


def _analyse(token: str, task: Task) -> Result:
    with _working_on(token, task.seq):
        return analyse_task(task)


def _overdue(token: str, seconds: float) -> list[int]:
    """Runs on a worker: the ``seq`` of each item of scan ``token`` it has been on for over
    ``seconds``."""
    now = time.monotonic()
    return [seq for tok, seq, since in list(_ON.values()) if tok == token and now - since > seconds]


@dataclass(frozen=True, slots=True)
class ContainerUnit:
    seq: int
    path: str
    limits: Limits
    detector: str | None
    version: str
    #: The container was recorded already (so were its members): list, do not analyse.
    list_only: bool = False
    #: The case's thumbnail folder, when the worker writes derived files there itself.
    thumbs_dir: str | None = None
    #: The scan's token (see :func:`_overdue`).
    token: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One item of a container unit: the item without its bytes, whether it had content,
    and its analysis (``None`` when it had none, or for ``list_only``)."""

    item: Item
    has_content: bool
    result: Result | None


def _checked(version: str, fn: Callable[..., R], *args: Any) -> R:
    """Runs on a worker: ``fn(*args)`` if this worker runs the coordinator's version."""
    _check_version(version)
    return fn(*args)


@dataclass(frozen=True, slots=True)
class FileBatch:
    """Consecutive loose files in one task (a task's round trip costs more than a small
    image's analysis)."""

    seq: int  # the first task's
    tasks: tuple[Task, ...]
    version: str
    token: str = ""


def analyse_items(batch: FileBatch) -> list[Result]:
    """Runs on a worker: a batch of loose files."""
    _check_version(batch.version)
    return [_analyse(batch.token, t) for t in batch.tasks]


def analyse_item(task: Task, version: str, token: str = "") -> Result:
    """Runs on a worker: one loose file (or, after a crash, one member)."""
    _check_version(version)
    return _analyse(token, task)


def analyse_container(unit: ContainerUnit) -> list[Outcome]:
    """Runs on a worker: open the container at ``unit.path`` and analyse every item in it,
    in the order of :func:`verisight.sources.iter_items` (members first)."""
    _check_version(unit.version)
    out: list[Outcome] = []
    for item in iter_items([Path(unit.path)], unit.limits):
        content = item.revisit_digest is None and (item.path is not None or item.data is not None)
        result = None
        if content and not unit.list_only:
            path = str(item.path) if item.path is not None else None
            task = Task(unit.seq, path, item.data, unit.limits, unit.thumbs_dir, unit.detector)
            result = _analyse(unit.token, task)
        if item.data is not None:
            item = dataclasses.replace(item, data=None)
        out.append(Outcome(item, content, result))
    return out


# -- the coordinator side --------------------------------------------------------------


def _unopened_container(item: Item) -> bool:
    """A container file the depth-0 walk found and did not open."""
    return (
        item.depth == 0
        and item.path is not None
        and item.skipped
        and item.error is not None
        and item.error.reason is Reason.DEPTH_EXCEEDED
    )


@dataclass(slots=True)
class _Flight:
    item: Item
    payload: Task | ContainerUnit | FileBatch
    future: Any  # distributed.Future (which is not fully typed)
    #: A FileBatch's items, one per task.
    items: tuple[Item, ...] = ()


class DaskExecutor:
    """Connects to ``address`` (``tcp://host:8786``, or ``local:N`` for a
    :class:`distributed.LocalCluster` of N worker processes) and checks its workers; use
    as :func:`verisight.scanning.run_scan`'s ``executor``. Raises :class:`DaskUnavailable`
    with the reason when the cluster cannot be used. Close it (or use ``with``)."""

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.address = address
        self.cluster: Any = None
        self.client: Any = self._connect(address, timeout)  # distributed.Client
        #: Worker address → why no task goes there.
        self.refused: dict[str, str] = {}
        self._usable: list[str] | None = None
        #: Workers checked (version, roots) for this scan, and the scan's roots.
        self._checked: set[str] = set()
        self._roots: list[str] = []
        self._inflight: dict[int, _Flight] = {}
        self._seq_of: dict[Any, int] = {}  # future key → seq
        self._completed: Any = None  # distributed.as_completed, per scan
        self._window = WINDOW_PER_THREAD
        self._window_checked = 0.0
        self._fallbacks: deque[Iterator[Item]] = deque()
        self._pending: list[tuple[Item, Task]] = []  # loose files for the next FileBatch
        self._seq = itertools.count()
        #: This scan's token: workers report the items of this scan they are on.
        self._token = ""
        self._watched = 0.0
        #: Where workers write thumbnails themselves (they see the case's folder), or None:
        #: thumbnails then come back inside the results.
        self._thumbs_dir: str | None = None
        #: Told of each worker refused after connecting (see :attr:`refused`).
        self.on_notice: Callable[[str], None] = log.info
        try:
            self._check_workers([])
        except BaseException:
            self.close()
            raise

    # -- connection

    def _connect(self, address: str, timeout: float) -> Any:
        import dask
        from distributed import Client, LocalCluster

        if address.startswith("local:"):
            try:
                n = int(address.removeprefix("local:"))
            except ValueError:
                n = 0
            if n < 1:
                raise UsageError(f"--dask local:N needs a number of workers, not {address!r}")
            with dask.config.set(LOCAL_SCHEDULER_CONFIG):
                self.cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            return Client(self.cluster, set_as_default=False)
        try:
            return Client(address, timeout=timeout, set_as_default=False)
        except Exception as exc:
            raise DaskUnavailable(
                f"cannot reach the Dask scheduler at {address}: {exc.__class__.__name__}: {exc}"
            ) from None

    def _check_workers(self, roots: list[str]) -> None:
        """Refuse workers with another Verisight version or that cannot see ``roots``."""
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            raise DaskUnavailable(f"the Dask cluster at {self.address} has no worker") from None
        self._roots = roots
        self._checked.clear()
        self._vet(None)
        if not any(a not in self.refused for a in self._checked):
            reasons = "; ".join(f"{a} {why}" for a, why in sorted(self.refused.items()))
            raise DaskUnavailable(f"no usable Dask worker at {self.address}: {reasons}")

    def _admit_new(self) -> None:
        """Check the workers that joined since (a worker restarted by its nanny comes back
        at a new address): once a worker is refused, tasks go only to checked ones."""
        new = [a for a in self.client.nthreads() if a not in self._checked]
        if new:
            self._vet(new)

    def _vet(self, workers: list[str] | None) -> None:
        """Check ``workers`` (``None``: all), refusing those that cannot serve this scan."""
        versions = self.client.run(worker_version, workers=workers, on_error="return")
        mine = worker_version_here()
        for addr, v in versions.items():
            if isinstance(v, BaseException):  # e.g. Verisight not installed there
                self._refuse(addr, f"cannot run Verisight: {v.__class__.__name__}: {v}")
            elif v != mine:
                self._refuse(addr, f"runs Verisight {v}, the coordinator {mine}")
        if self._roots and versions:
            seen = self.client.run(
                _missing_roots, self._roots, workers=list(versions), on_error="return"
            )
            for addr, missing in seen.items():
                if isinstance(missing, BaseException):
                    self._refuse(addr, f"cannot run Verisight: {missing}")
                elif missing and addr not in self.refused:
                    self._refuse(
                        addr,
                        f"cannot see {missing[0]} (every worker needs the collection at the "
                        "same path as the coordinator)",
                    )
        self._checked.update(versions)
        usable = [a for a in self._checked if a not in self.refused]
        self._usable = usable if self.refused else None

    def _refuse(self, addr: str, why: str) -> None:
        if addr not in self.refused:
            self.refused[addr] = why
            self.on_notice(f"Dask worker {addr} refused: {why}")

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address."""
        link = self.client.dashboard_link
        return str(link) if link else None

    @property
    def workers(self) -> int:
        return len(self.client.nthreads()) - len(self.refused)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the crop pass (verisight.clustering.crops.Runner)

    def share(self, value: Any) -> Any:
        """Send ``value`` to every worker once; pass the result to :meth:`map_ordered`."""
        return self.client.scatter(value, broadcast=True, hash=False)

    def map_ordered(self, fn: Callable[..., R], calls: Iterable[tuple[Any, ...]]) -> Iterator[R]:
        """``fn(*args)`` on the workers for each ``args``, a bounded number in flight,
        results in order. A task that fails raises here."""
        options: dict[str, Any] = {"pure": False}
        if self._usable is not None:
            options.update(workers=self._usable, allow_other_workers=False)
        pending: deque[Any] = deque()
        for args in calls:
            if len(pending) >= self._window_size():
                yield pending.popleft().result()
            pending.append(
                self.client.submit(_checked, worker_version_here(), fn, *args, **options)
            )
        while pending:
            yield pending.popleft().result()

    # -- the scan

    def _shared_folder(self, folder: Path) -> str | None:
        """``folder`` if every usable worker sees it (the same file system at the same
        path, e.g. a ``local:N`` cluster), else None."""
        probe = folder / f".probe-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"")
            seen = self.client.run(_sees_file, str(probe), on_error="return")
        except OSError:
            return None
        finally:
            probe.unlink(missing_ok=True)
        usable = [v for a, v in seen.items() if a not in self.refused]
        return str(folder) if usable and all(v is True for v in usable) else None

    def run(self, state: ScanState) -> None:
        self._check_workers(state.roots)
        self._token = uuid.uuid4().hex
        self._watched = time.monotonic()
        self._thumbs_dir = self._shared_folder(state.thumbs)
        opens = state.limits.max_archive_depth > 0
        walk_limits = dataclasses.replace(state.limits, max_archive_depth=0)
        walk = iter_items([Path(r) for r in state.roots], walk_limits if opens else state.limits)
        from distributed import as_completed

        # results are fetched on the client's thread as tasks finish, not one by one here
        self._completed = as_completed(with_results=True, loop=self.client.loop)
        try:
            self._loop(state, walk, opens)
        finally:
            for flight in self._inflight.values():
                flight.future.cancel()
            self._inflight.clear()
            self._pending.clear()
            self._seq_of.clear()
            self._completed.clear()

    def _loop(self, state: ScanState, walk: Iterator[Item], opens: bool) -> None:
        while True:
            if self._fallbacks:
                item = next(self._fallbacks[0], None)
                if item is None:
                    self._fallbacks.popleft()
                    continue
                units = False
            else:
                item = next(walk, None)
                if item is None:
                    if self._pending:
                        self._submit_pending(state)
                        continue
                    if not self._inflight:
                        return
                    self._harvest(state, block=True)
                    state.tick(min(self._inflight) if self._inflight else None)
                    continue
                units = opens
            seq = next(self._seq)
            if units and _unopened_container(item):
                assert item.path is not None
                unit = ContainerUnit(
                    seq,
                    str(item.path),
                    state.limits,
                    state.detector,
                    worker_version_here(),
                    list_only=state.is_known(item),
                    thumbs_dir=self._thumbs_dir,
                    token=self._token,
                )
                self._submit(state, item, unit)
            else:
                task = state.task_for(seq, item, thumbs_dir=self._thumbs_dir)
                if task is not None and units is opens and item.data is None:  # from the walk
                    self._pending.append((item, task))
                    if len(self._pending) >= FILES_PER_TASK or not self._inflight:
                        self._submit_pending(state)
                elif task is not None:
                    self._submit(state, dataclasses.replace(item, data=None), task)
            self._harvest(state, block=False)
            state.tick(min(self._inflight) if self._inflight else None)

    def _submit_pending(self, state: ScanState) -> None:
        pending, self._pending = self._pending, []
        tasks = tuple(t for _, t in pending)
        batch = FileBatch(tasks[0].seq, tasks, worker_version_here(), self._token)
        self._submit(state, pending[0][0], batch, tuple(i for i, _ in pending))

    def _submit(
        self,
        state: ScanState,
        item: Item,
        payload: Task | ContainerUnit | FileBatch,
        items: tuple[Item, ...] = (),
    ) -> None:
        while len(self._inflight) >= self._window_size():
            self._harvest(state, block=True)
        options: dict[str, Any] = {"pure": False}
        if self._usable is not None:
            options.update(workers=self._usable, allow_other_workers=False)
        if isinstance(payload, ContainerUnit):
            fut = self.client.submit(analyse_container, payload, **options)
        elif isinstance(payload, FileBatch):
            fut = self.client.submit(analyse_items, payload, **options)
        else:
            fut = self.client.submit(
                analyse_item, payload, worker_version_here(), self._token, **options
            )
        self._inflight[payload.seq] = _Flight(item, payload, fut, items)
        self._seq_of[fut.key] = payload.seq
        self._completed.add(fut)

    def _window_size(self) -> int:
        now = time.monotonic()
        if now - self._window_checked > 5.0:
            self._admit_new()
            threads = sum(n for a, n in self.client.nthreads().items() if a not in self.refused)
            self._window = max(WINDOW_PER_THREAD, threads * WINDOW_PER_THREAD)
            self._window_checked = now
        return self._window

    def _harvest(self, state: ScanState, *, block: bool) -> None:
        if not self._inflight:
            return
        self._watch(state)
        done = self._completed.next_batch(block=False)
        if block and not done:
            done = self._wait_for_one(state)
        results: dict[int, Any] = {}
        for f, value in done:
            seq = self._seq_of.pop(f.key, None)
            if seq is not None:  # else cancelled here (see _stalled)
                results[seq] = value
        for seq in sorted(results):
            self._finish(state, seq, self._inflight.pop(seq), results[seq])

    def _wait_for_one(self, state: ScanState) -> list[Any]:
        """Completed futures, at least one; gives up when no usable worker was left for
        :data:`NO_WORKER_TIMEOUT` seconds (else a scan would wait for ever)."""
        checked, workerless_since = time.monotonic(), None
        cond = self._completed.thread_condition
        while True:
            done: list[Any] = self._completed.next_batch(block=False)
            if done:
                return done
            with cond:
                cond.wait(timeout=0.1)
            self._watch(state)
            if not self._inflight:  # all that was in flight stalled, and is dealt with
                return []
            now = time.monotonic()
            if now - checked > 5.0:
                checked = now
                self._admit_new()
                if any(a not in self.refused for a in self.client.nthreads()):
                    workerless_since = None
                elif workerless_since is None:
                    workerless_since = now
                elif now - workerless_since > NO_WORKER_TIMEOUT:
                    raise DaskUnavailable(
                        f"the Dask cluster at {self.address} has had no usable worker for "
                        f"{NO_WORKER_TIMEOUT:.0f} s; run the scan again to resume it"
                    )

    # -- items past their time limit

    def _watch(self, state: ScanState) -> None:
        """Every :data:`WATCH_SECONDS`, ask the workers which items of this scan they have
        been on for longer than :func:`~verisight.scan_tasks.hard_deadline` (a worker thread
        has no timer to interrupt them: see :func:`_overdue`), and deal with them."""
        now = time.monotonic()
        if (
            state.limits.max_item_seconds <= 0
            or not self._inflight
            or now - self._watched < WATCH_SECONDS
        ):
            return
        self._watched = now
        try:
            overdue = self.client.run(
                _overdue, self._token, hard_deadline(state.limits), on_error="return"
            )
        except Exception as exc:  # a worker leaving mid-call: ask again next time
            log.debug("asking the workers what they are on failed: %r", exc)
            return
        for addr, seqs in overdue.items():
            if isinstance(seqs, list) and seqs and addr not in self.refused:
                self._stalled(state, addr, set(seqs))

    def _stalled(self, state: ScanState, addr: str, stuck: set[int]) -> None:
        """Worker ``addr`` is stuck on the items ``stuck``: cancel their tasks, restart the
        worker (its other tasks go elsewhere, as after a crash), record each stuck item
        ``decode-timeout`` and send the other items of their tasks again, one by one. A
        container's task is taken apart, so that only the stuck member times out."""
        flights = [
            (seq, f) for seq, f in self._inflight.items() if stuck.intersection(_seqs(f.payload))
        ]
        for seq, f in flights:
            del self._inflight[seq]
            self._seq_of.pop(f.future.key, None)
            f.future.cancel()
        log.warning("Dask worker %s is stuck on an item past its time limit: stopping it", addr)
        # its nanny starts a fresh worker (at a new address: see _admit_new); its other
        # tasks are rescheduled, as after a crash
        killed = self.client.run(_kill_worker, workers=[addr], nanny=True, on_error="return")
        if not isinstance(killed.get(addr), int):  # no nanny: the worker ends itself
            self.client.run(_exit_now, workers=[addr], on_error="ignore")
        seconds = state.limits.max_item_seconds
        for _, f in flights:
            payload = f.payload
            if isinstance(payload, Task):
                state.accept(
                    payload.seq, f.item, timeout_result(payload.seq, seconds, "worker restarted")
                )
            elif isinstance(payload, FileBatch):
                for it, task in zip(f.items, payload.tasks, strict=True):
                    if task.seq in stuck:
                        res = timeout_result(task.seq, seconds, "worker restarted")
                        state.accept(task.seq, it, res)
                    else:
                        self._submit(state, it, task)
            else:
                log.warning("container %s stalled as one unit: taken apart", payload.path)
                self._fallbacks.appendleft(iter_items([Path(payload.path)], state.limits))

    def _finish(self, state: ScanState, seq: int, flight: _Flight, value: Any) -> None:
        """Record a finished task; ``value`` is its result, or its exception."""
        from distributed import KilledWorker

        fut, payload = flight.future, flight.payload
        if fut.status == "error":
            exc = value[1] if isinstance(value, tuple) else value  # (type, exception, tb)
            if isinstance(exc, VersionMismatch):  # a worker that joined late
                self._refuse(str(exc.args[0]), str(exc.args[1]))
                self._checked.add(str(exc.args[0]))
                self._admit_new()
                self._usable = [a for a in self._checked if a not in self.refused]
                if not any(a in self._usable for a in self.client.nthreads()):
                    raise DaskUnavailable(f"no usable Dask worker left at {self.address}")
                self._submit(state, flight.item, payload, flight.items)
                return
            if isinstance(payload, FileBatch):  # again, one by one: only the culprit fails
                for it, task in zip(flight.items, payload.tasks, strict=True):
                    self._submit(state, it, task)
                return
            if isinstance(payload, ContainerUnit):  # take it apart here, member by member
                why = "a worker died" if isinstance(exc, KilledWorker) else repr(exc)
                log.warning("container %s failed as one unit (%s)", payload.path, why)
                self._fallbacks.appendleft(iter_items([Path(payload.path)], state.limits))
                return
            reason = Reason.WORKER_CRASH if isinstance(exc, KilledWorker) else Reason.INTERNAL
            detail = (
                f"the analysis worker process died on this item every time it was tried ({exc})"
                if reason is Reason.WORKER_CRASH
                else f"{exc.__class__.__name__}: {exc}"
            )
            state.accept(seq, flight.item, Result(seq, None, False, ItemError(reason, detail)))
            return
        if fut.status == "cancelled":
            raise DaskUnavailable(f"the Dask cluster at {self.address} cancelled a task")
        if isinstance(payload, Task):
            state.accept(seq, flight.item, value)
            return
        if isinstance(payload, FileBatch):
            for it, task, res in zip(flight.items, payload.tasks, value, strict=True):
                state.accept(task.seq, it, res)
            return
        outcomes: list[Outcome] = value
        if payload.list_only and any(
            o.has_content and o.result is None and not state.is_known(o.item)
            for o in outcomes
            if o.item.revisit_digest is None
        ):  # recorded once, but not all of it now: analyse it after all
            self._submit(state, flight.item, dataclasses.replace(payload, list_only=False))
            return
        for o in outcomes:
            if state.settle(seq, o.item, has_content=o.has_content):
                assert o.result is not None
                state.accept(seq, o.item, o.result)


def _seqs(payload: Task | ContainerUnit | FileBatch) -> list[int]:
    """The ``seq`` each item of a task is analysed under (a container's members: its own)."""
    if isinstance(payload, FileBatch):
        return [t.seq for t in payload.tasks]
    return [payload.seq]


def worker_version_here() -> str:
    """The coordinator's Verisight version."""
    return verisight.__version__
