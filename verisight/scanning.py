"""The scan pipeline: sources → analysis (an executor) → store, with counts that reconcile.

``run_scan`` opens the scan and hands a :class:`ScanState` to an executor, which walks the
roots and sends every item with content to :mod:`verisight.analysis` (worker side:
:mod:`verisight.scan_tasks`): the local process pool (:mod:`verisight.local_pool`, or
in-process with one worker) or a Dask cluster (:mod:`verisight.distributed`). Whichever ran
the analysis, outcomes come back to :meth:`ScanState.accept` and are recorded the same way,
media and sightings in batches. Invariants it keeps:

* every item a source yields is counted once and recorded once as analysed, failed or
  skipped: ``seen == analysed + failed + skipped``;
* a container's sighting is written only after all of its members' sightings (so a recorded
  container marks a fully recorded archive);
* re-running the same scan adds nothing twice; a scan that was killed is resumed by the next
  run with the same roots and ends with the same content as an uninterrupted one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import multiprocessing
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from verisight.analysis import ItemRecord
from verisight.derived import die_with_parent, write_all
from verisight.errors import ItemError, Reason, UsageError
from verisight.limits import Limits
from verisight.scan_tasks import (
    Result,
    Task,
    contact_sheet_path,
    load_detector,
    thumbnail_path,
)
from verisight.sources import Item
from verisight.store import KnownSighting, NewSighting, Status, Store
from verisight.store.known import KnownPlaces

if TYPE_CHECKING:
    from verisight.banking import MatchSummary
    from verisight.clustering.update import UpdateSummary

__all__ = [
    "Executor",
    "ScanState",
    "ScanSummary",
    "contact_sheet_path",
    "run_scan",
    "thumbnail_path",
]

#: Failures worth retrying on a re-scan (they may be transient).
_RETRY_REASONS = {Reason.UNREADABLE.value, Reason.INTERNAL.value}


class DistinctShas:
    """The SHA-256 of every media a scan saw, in bounded memory: a set while it is small,
    then a temporary SQLite file (deleted when closed or collected) that :meth:`add`
    spills into in chunks, as 32-byte keys. Exact either way; iterates in order."""

    #: Digests kept in memory before spilling (about 150 bytes each).
    LIMIT = 200_000
    #: Digests collected between two spills.
    CHUNK = 20_000

    def __init__(self) -> None:
        self._mem: set[str] = set()
        self._db: sqlite3.Connection | None = None
        self._spilled = 0

    def add(self, sha256: str) -> None:
        self._mem.add(sha256)
        if len(self._mem) >= (self.CHUNK if self._db is not None else self.LIMIT):
            self._spill()

    def _spill(self) -> None:
        if self._db is None:
            self._db = sqlite3.connect("", check_same_thread=False)  # "": a temporary file
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("CREATE TABLE sha (d BLOB PRIMARY KEY) WITHOUT ROWID")
        before = self._db.total_changes
        self._db.executemany(
            "INSERT OR IGNORE INTO sha VALUES (?)", ((bytes.fromhex(h),) for h in self._mem)
        )
        self._spilled += self._db.total_changes - before
        self._mem.clear()

    def __len__(self) -> int:
        if self._db is not None and self._mem:
            self._spill()
        return self._spilled + len(self._mem)

    def __bool__(self) -> bool:
        return bool(self._mem) or self._spilled > 0

    def __iter__(self) -> Iterator[str]:
        if self._db is None:
            yield from sorted(self._mem)
            return
        self._spill()
        for (d,) in self._db.execute("SELECT d FROM sha ORDER BY d"):
            yield bytes(d).hex()

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str):
            return False
        if sha256 in self._mem:
            return True
        return self._db is not None and (
            self._db.execute("SELECT 1 FROM sha WHERE d = ?", (bytes.fromhex(sha256),)).fetchone()
            is not None
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._mem.clear()
            self._spilled = 0


@dataclass
class ScanSummary:
    """Counts of one scan run. ``seen == analysed + failed + skipped`` always holds."""

    scan: int
    case: str
    resumed: bool = False
    seen: int = 0
    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    #: Items this run found already recorded (unchanged since an earlier or interrupted run).
    already_recorded: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    errors_by_reason: Counter[str] = field(default_factory=Counter)
    elapsed_seconds: float = 0.0
    #: Bank matching of this scan's media (see verisight.banking), when the case has banks.
    matching: MatchSummary | None = None
    #: The incremental clustering that followed (None with ``--no-cluster``).
    clustering: UpdateSummary | None = None
    _shas: DistinctShas = field(default_factory=lambda: DistinctShas(), repr=False)
    _with_media: int = field(default=0, repr=False)

    def count(
        self, status: Status, reason: str | None, sha256: str | None, kind: str | None
    ) -> None:
        """Count one item's outcome."""
        self.seen += 1
        if status is Status.ANALYSED:
            self.analysed += 1
        elif status is Status.FAILED:
            self.failed += 1
        else:
            self.skipped += 1
        if reason and status is not Status.ANALYSED:
            self.errors_by_reason[reason] += 1
        if sha256 is not None:
            self._with_media += 1
            self._shas.add(sha256)
            if kind:
                self.by_type[kind] += 1

    @property
    def distinct_media(self) -> int:
        return len(self._shas)

    @property
    def duplicate_sightings(self) -> int:
        return self._with_media - len(self._shas)

    @property
    def media_shas(self) -> DistinctShas:
        """SHA-256 of every media this scan saw (iterate: in order)."""
        return self._shas

    @property
    def reconciles(self) -> bool:
        return self.seen == self.analysed + self.failed + self.skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "scan": self.scan,
            "resumed": self.resumed,
            "seen": self.seen,
            "analysed": self.analysed,
            "failed": self.failed,
            "skipped": self.skipped,
            "already_recorded": self.already_recorded,
            "distinct_media": self.distinct_media,
            "duplicate_sightings": self.duplicate_sightings,
            "by_type": dict(sorted(self.by_type.items())),
            "errors_by_reason": dict(sorted(self.errors_by_reason.items())),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "matching": self.matching.to_json() if self.matching else None,
            "clustering": self.clustering.to_json() if self.clustering else None,
            "case": self.case,
        }


# -- the coordinator side --------------------------------------------------------------


def _outcome(item: Item, record: ItemRecord | None) -> tuple[Status, ItemError | None]:
    if item.skipped:
        return Status.SKIPPED, item.error
    if item.error is not None:
        return Status.FAILED, item.error
    if record is not None and record.error is not None:
        return Status.FAILED, record.error
    return Status.ANALYSED, None


def parse_payload_digest(digest: str) -> tuple[str, str] | None:
    """``"sha1:BASE32"`` (or hex) → ("sha1", hex). None when unrecognised."""
    algo, _, value = digest.strip().partition(":")
    algo = algo.lower().replace("-", "")
    sizes = {"sha1": 20, "sha256": 32, "md5": 16}
    if algo not in sizes or not value:
        return None
    if len(value) == sizes[algo] * 2:
        try:
            return algo, bytes.fromhex(value).hex()
        except ValueError:
            return None
    try:
        raw = base64.b32decode(value.upper() + "=" * (-len(value) % 8))
    except (binascii.Error, ValueError):
        return None
    return (algo, raw.hex()) if len(raw) == sizes[algo] else None


class _DerivedWriter:
    """Writes the thumbnails and contact sheets that come back inside results (from Dask
    workers) in a process of its own, off the coordinator's path (in a thread, each of a
    file's system calls would wait for the GIL behind the coordinator's busy threads: see
    :mod:`verisight.derived`). :meth:`cut` hands over the jobs writing every file queued so
    far; they are waited for before their rows are written, so a committed row never names a
    derived file that is not on disk. (A file without a row — the scan killed in between — is
    what a killed pool worker leaves too: ``verisight case check`` notes it, the next run's
    row uses it.)"""

    #: Files per job handed to the writer process.
    CHUNK = 256

    def __init__(self, thumbs: Path, processes: int = 1) -> None:
        self.thumbs = thumbs
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._todo: list[tuple[Path, bytes]] = []
        self._jobs: list[Future[None]] = []

    def take(self, record: ItemRecord) -> tuple[ItemRecord, bool]:
        """Queue ``record``'s derived files; the record without them, and whether it has a
        thumbnail."""
        if record.thumbnail is not None:
            self._todo.append((thumbnail_path(self.thumbs, record.sha256), record.thumbnail))
        if record.contact_sheet is not None:
            sheet = contact_sheet_path(self.thumbs, record.sha256)
            self._todo.append((sheet, record.contact_sheet))
        if len(self._todo) >= self.CHUNK:
            self._submit()
        has_thumb = record.thumbnail is not None
        return dataclasses.replace(record, thumbnail=None, contact_sheet=None), has_thumb

    def _submit(self) -> None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
            )
        todo, self._todo = self._todo, []
        self._jobs.append(self._pool.submit(write_all, todo))

    def cut(self) -> list[Future[None]]:
        """The jobs writing every file queued so far (wait for them with :func:`_wait`)."""
        if self._todo:
            self._submit()
        jobs, self._jobs = self._jobs, []
        return jobs

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _wait(jobs: list[Future[None]]) -> None:
    for job in jobs:
        job.result()


class _Recorder:
    """Collects outcomes, writes them in batches, keeps containers behind their members.

    Batches are written on a thread of their own, one after the other, while the next batch
    is collected: at most one batch is being written (a write that fails raises at the next
    :meth:`flush`). A batch's derived files are on disk before its rows are written.
    """

    def __init__(
        self,
        store: Store,
        scan_id: int,
        summary: ScanSummary,
        batch_size: int,
        derived: _DerivedWriter,
    ) -> None:
        self.store = store
        self.scan_id = scan_id
        self.summary = summary
        self.batch_size = batch_size
        self.derived = derived
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None
        self.media: list[tuple[ItemRecord, bool]] = []
        self.sightings: list[NewSighting] = []
        self.containers: list[tuple[int, NewSighting]] = []
        self.last_flush = time.monotonic()

    def add(
        self,
        seq: int,
        item: Item,
        record: ItemRecord | None,
        has_thumb: bool = False,
        *,
        new_media: bool = True,
    ) -> None:
        """Count and queue one item's outcome; ``new_media=False`` when ``record`` describes
        media already in the case (only the sighting is new)."""
        status, error = _outcome(item, record)
        if record is not None and new_media:
            self.media.append((record, has_thumb))
        sighting = NewSighting(
            provenance=item.provenance,
            media_sha256=record.sha256 if record else None,
            status=status,
            reason=error.reason.value if error else None,
            detail=error.detail if error else None,
            depth=item.depth,
            is_container=item.is_container,
            size=item.size,
            mtime_ns=item.mtime_ns,
        )
        self.summary.count(
            status, sighting.reason, sighting.media_sha256, record.kind if record else None
        )
        if item.is_container:
            self.containers.append((seq, sighting))
        else:
            self.sightings.append(sighting)

    def maybe_flush(self, oldest_inflight: int | None) -> None:
        if (
            len(self.sightings) + len(self.containers) >= self.batch_size
            or time.monotonic() - self.last_flush > 2.0
        ):
            self.flush(oldest_inflight)

    def flush(self, oldest_inflight: int | None) -> None:
        ready = [
            s for seq, s in self.containers if oldest_inflight is None or seq < oldest_inflight
        ]
        self.containers = [
            (seq, s)
            for seq, s in self.containers
            if not (oldest_inflight is None or seq < oldest_inflight)
        ]
        if self.media or self.sightings or ready:
            self.wait()
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="verisight-writer")
            self._writing = self._writer.submit(
                self._write, self.derived.cut(), self.media, [*self.sightings, *ready]
            )
        self.media, self.sightings = [], []
        self.last_flush = time.monotonic()

    def _write(
        self,
        derived: list[Future[None]],
        media: list[tuple[ItemRecord, bool]],
        sightings: list[NewSighting],
    ) -> None:
        _wait(derived)  # the rows name thumbnails: these must be on disk first
        self.store.write(self.scan_id, media, sightings)

    def wait(self) -> None:
        """Wait for the batch being written (raises what its write raised)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def close(self) -> None:
        """Wait for the last batch, then stop the writer threads."""
        try:
            self.wait()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
            self.derived.close()


def _is_known(item: Item, known: KnownSighting | None) -> bool:
    return (
        known is not None
        and known.reason not in _RETRY_REASONS
        and known.size == item.size
        and known.mtime_ns == item.mtime_ns
    )


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ScanState:
    """One scan in progress, as the executors see it: they hand items (and, for those with
    content, their analysis results) to :meth:`accept`, in any order, and call
    :meth:`tick` now and then. Recording, counting and resuming are done here, the same way
    whichever executor ran the analysis."""

    def __init__(
        self,
        store: Store,
        scan_id: int,
        summary: ScanSummary,
        *,
        roots: list[str],
        known: KnownPlaces,
        limits: Limits,
        thumbs: Path,
        detector: str | None,
        batch_size: int,
        on_progress: Callable[[ScanSummary], None] | None,
    ) -> None:
        self.store = store
        self.summary = summary
        self.roots = roots
        self.known = known
        self.limits = limits
        self.thumbs = thumbs
        self.detector = detector
        self.derived = _DerivedWriter(thumbs)
        self.rec = _Recorder(store, scan_id, summary, batch_size, self.derived)
        self.revisits: list[Item] = []
        self.on_progress = on_progress

    def is_known(self, item: Item) -> bool:
        """Whether ``item`` was recorded, unchanged, by an earlier or interrupted run."""
        return _is_known(item, self.known.get(item.provenance.locator))

    def settle(self, seq: int, item: Item, *, has_content: bool | None = None) -> bool:
        """Deal with ``item`` here if it needs no analysis (already recorded, a WARC revisit
        resolved at the end, or nothing to analyse); ``True`` when it needs analysis.
        ``has_content`` defaults to whether the item carries a path or bytes."""
        if has_content is None:
            has_content = item.path is not None or item.data is not None
        k = self.known.get(item.provenance.locator)
        if k is not None and _is_known(item, k):
            self.summary.already_recorded += 1
            self.summary.count(k.status, k.reason, k.media_sha256, k.kind)
        elif item.revisit_digest is not None:
            self.revisits.append(item)
        elif not has_content:
            self.rec.add(seq, item, None)
        else:
            return True
        return False

    def task_for(self, seq: int, item: Item, *, thumbs_dir: str | None) -> Task | None:
        """The analysis ``item`` needs, or ``None`` when :meth:`settle` dealt with it."""
        if not self.settle(seq, item):
            return None
        path = str(item.path) if item.path else None
        return Task(seq, path, item.data, self.limits, thumbs_dir, self.detector)

    def accept(self, seq: int, item: Item, res: Result) -> None:
        """Record an analysed item (``item`` may have lost its ``data`` by now)."""
        record = res.record
        if record is not None and (record.thumbnail is not None or record.contact_sheet):
            record, _ = self.derived.take(record)  # it came back from a remote worker
        if res.error is not None and record is None:
            item = dataclasses.replace(item, error=item.error or res.error)
        self.rec.add(seq, item, record, res.has_thumbnail)

    def tick(self, oldest_inflight: int | None) -> None:
        """Report progress; write a batch when one is due. ``oldest_inflight``: the lowest
        ``seq`` still being analysed (containers with a higher one wait)."""
        if self.on_progress:
            self.on_progress(self.summary)
        self.rec.maybe_flush(oldest_inflight)


class Executor(Protocol):
    """Runs a scan's analysis: walks ``state.roots`` and feeds :meth:`ScanState.accept`."""

    def run(self, state: ScanState) -> None: ...


def run_scan(
    store: Store,
    case_dir: Path,
    roots: Sequence[Path],
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    batch_size: int = 500,
    on_progress: Callable[[ScanSummary], None] | None = None,
    detector: Path | None = None,
    executor: Executor | None = None,
) -> ScanSummary:
    """Scan ``roots`` into the case. Bad items are recorded, never raised.

    ``detector`` is an ONNX model file (see :mod:`verisight.analysis.detector`); it is loaded
    here first so that an unusable model stops the scan before it starts. ``executor`` runs
    the analysis elsewhere (e.g. :class:`verisight.distributed.DaskExecutor`); by default it
    runs in a local pool of ``workers`` processes (in-process with one).
    """
    limits = limits or Limits()
    workers = workers or default_workers()
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    missing = [str(r) for r in roots if not os.path.lexists(r)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    abs_roots = [os.path.abspath(r) for r in roots]
    detector_path = str(Path(detector).resolve()) if detector is not None else None
    load_detector(detector_path)  # raises DetectorError with the reason when unusable
    started = time.monotonic()
    scan = store.begin_scan(abs_roots)
    summary = ScanSummary(scan=scan.id, case=str(case_dir), resumed=scan.resumed)
    thumbs = case_dir / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    for stale in thumbs.glob("*/.*.tmp"):  # left by a worker killed mid-write
        stale.unlink(missing_ok=True)
    state = ScanState(
        store,
        scan.id,
        summary,
        roots=abs_roots,
        known=store.known_sightings(abs_roots),
        limits=limits,
        thumbs=thumbs,
        detector=detector_path,
        batch_size=batch_size,
        on_progress=on_progress,
    )
    if executor is None:
        from verisight.local_pool import LocalExecutor

        executor = LocalExecutor(workers)
    try:
        executor.run(state)
        state.rec.flush(None)
        state.rec.wait()  # revisits look up media recorded above
        for item in state.revisits:
            _record_revisit(store, state.rec, item)
        state.rec.flush(None)
    finally:
        state.rec.close()
        state.known.close()
    summary.elapsed_seconds = time.monotonic() - started
    store.finish_scan(scan.id, summary.to_json())
    return summary


def _record_revisit(store: Store, rec: _Recorder, item: Item) -> None:
    """A WARC revisit record: a new sighting of content recorded earlier."""
    assert item.revisit_digest is not None
    parsed = parse_payload_digest(item.revisit_digest)
    sha = store.media_for_digest(*parsed) if parsed else None
    if sha is None:
        err = ItemError(
            Reason.REVISIT_UNRESOLVED,
            f"no media in the case has payload digest {item.revisit_digest}",
        )
        rec.add(-1, dataclasses.replace(item, error=err), None)
        return
    view = store.get_media(sha)
    stub = ItemRecord(
        sha256=view.sha256,
        md5=view.md5,
        sha1=view.sha1,
        size=view.size,
        mime=view.mime,
        kind=view.kind,
    )
    rec.add(-1, item, stub, view.has_thumbnail, new_media=False)
