"""The scan pipeline: sources → analysis (process pool) → store, with counts that reconcile.

``run_scan`` walks the roots, sends every item with content to :mod:`verisight.analysis` (in a
process pool, or in-process with one worker), writes thumbnails into the case and records
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
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verisight.analysis import ItemRecord, analyse_bytes, analyse_path
from verisight.analysis.detector import Detector
from verisight.errors import ItemError, Reason, UsageError
from verisight.limits import Limits
from verisight.sources import Item, iter_items
from verisight.store import KnownSighting, NewSighting, Status, Store

if TYPE_CHECKING:
    from verisight.banking import MatchSummary
    from verisight.clustering.update import UpdateSummary

#: Failures worth retrying on a re-scan (they may be transient).
_RETRY_REASONS = {Reason.UNREADABLE.value, Reason.INTERNAL.value}
#: In-memory content (an archive member, a WARC payload) larger than this goes to a worker
#: process through a file in the case (deleted once analysed), not through a pipe: pickling
#: would hold it twice in the scan and twice in the worker (a 1 GiB member cost 2+ GiB a
#: process). It also bounds what the scan holds for queued work: at most this per task.
SPILL_BYTES = 16 << 20


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
    distinct_media: int = 0
    duplicate_sightings: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    errors_by_reason: Counter[str] = field(default_factory=Counter)
    elapsed_seconds: float = 0.0
    #: Bank matching of this scan's media (see verisight.banking), when the case has banks.
    matching: MatchSummary | None = None
    #: The incremental clustering that followed (None with ``--no-cluster``).
    clustering: UpdateSummary | None = None
    _shas: set[str] = field(default_factory=set, repr=False)
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
            self.distinct_media = len(self._shas)
            self.duplicate_sightings = self._with_media - self.distinct_media
            if kind:
                self.by_type[kind] += 1

    @property
    def media_shas(self) -> set[str]:
        """SHA-256 of every media this scan saw."""
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


# -- the worker side -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    seq: int
    path: str | None
    data: bytes | None
    limits: Limits
    thumbs_dir: str
    detector: str | None = None
    #: ``path`` is a temporary copy of in-memory content: delete it once analysed.
    spilled: bool = False


@dataclass(frozen=True, slots=True)
class _Result:
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


def _detector(path: str | None) -> Detector | None:
    """The detector at ``path``, loaded once per process."""
    if path is None:
        return None
    if path not in _DETECTORS:
        _DETECTORS[path] = Detector.load(Path(path))
    return _DETECTORS[path]


def _analyse_task(task: _Task) -> _Result:
    """Runs in a worker: analyse one item and store its thumbnail in the case."""
    try:
        detector = _detector(task.detector)
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
        return _Result(task.seq, None, False, ItemError(Reason.UNREADABLE, str(exc)))
    except Exception as exc:  # a bug, not bad input: record it and go on
        detail = f"{exc.__class__.__name__}: {exc}"
        return _Result(task.seq, None, False, ItemError(Reason.INTERNAL, detail))
    has_thumb = False
    if record.thumbnail is not None:
        _write_derived(thumbnail_path(Path(task.thumbs_dir), record.sha256), record.thumbnail)
        has_thumb = True
    if record.contact_sheet is not None:
        sheet = contact_sheet_path(Path(task.thumbs_dir), record.sha256)
        _write_derived(sheet, record.contact_sheet)
    slim = dataclasses.replace(record, thumbnail=None, contact_sheet=None)
    return _Result(task.seq, slim, has_thumb, None)


def _write_derived(target: Path, data: bytes) -> None:
    """Write a derived file (thumbnail, contact sheet) into the case, atomically, once."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


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


class _Recorder:
    """Collects outcomes, writes them in batches, keeps containers behind their members."""

    def __init__(self, store: Store, scan_id: int, summary: ScanSummary, batch_size: int) -> None:
        self.store = store
        self.scan_id = scan_id
        self.summary = summary
        self.batch_size = batch_size
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
            self.store.write(self.scan_id, self.media, [*self.sightings, *ready])
        self.media, self.sightings = [], []
        self.last_flush = time.monotonic()


def _is_known(item: Item, known: KnownSighting | None) -> bool:
    return (
        known is not None
        and known.reason not in _RETRY_REASONS
        and known.size == item.size
        and known.mtime_ns == item.mtime_ns
    )


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
) -> ScanSummary:
    """Scan ``roots`` into the case. Bad items are recorded, never raised.

    ``detector`` is an ONNX model file (see :mod:`verisight.analysis.detector`); it is loaded
    here first so that an unusable model stops the scan before it starts.
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
    _detector(detector_path)  # raises DetectorError with the reason when unusable
    started = time.monotonic()
    scan = store.begin_scan(abs_roots)
    summary = ScanSummary(scan=scan.id, case=str(case_dir), resumed=scan.resumed)
    known = store.known_sightings(abs_roots)
    thumbs = case_dir / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    for stale in thumbs.glob("*/.*.tmp"):  # left by a worker killed mid-write
        stale.unlink(missing_ok=True)
    spill = case_dir / "spill"
    for stale in spill.glob("*.bin"):  # left by a scan or worker that was killed
        stale.unlink(missing_ok=True)
    rec = _Recorder(store, scan.id, summary, batch_size)
    revisits: list[Item] = []
    inflight: dict[int, tuple[Item, Future[_Result]]] = {}
    pool = _make_pool(workers) if workers > 1 else None

    def harvest(block: bool) -> None:
        nonlocal pool
        if not inflight:
            return
        done, _ = wait(
            [f for _, f in inflight.values()],
            timeout=None if block else 0,
            return_when=FIRST_COMPLETED,
        )
        for seq in [s for s, (_, f) in inflight.items() if f in done]:
            item, fut = inflight.pop(seq)
            try:
                res = fut.result()
            except BrokenProcessPool:
                res = _Result(
                    seq,
                    None,
                    False,
                    ItemError(Reason.INTERNAL, "the analysis worker crashed on this item"),
                )
            _finish(seq, item, res)
        if pool is not None and any(
            isinstance(f.exception(), BrokenProcessPool) for f in done if f.done()
        ):
            pool.shutdown(cancel_futures=True)
            pool = _make_pool(workers)

    def _finish(seq: int, item: Item, res: _Result) -> None:
        if res.error is not None and res.record is None:
            item = dataclasses.replace(item, error=item.error or res.error)
        rec.add(seq, item, res.record, res.has_thumbnail)

    try:
        seq = -1
        # Not enumerate(): it keeps its last (seq, item) tuple, and so the previous item's
        # content, alive while the next item is read.
        for item in iter_items([Path(r) for r in abs_roots], limits):
            seq += 1
            k = known.get(item.provenance.locator)
            if _is_known(item, k):
                assert k is not None
                summary.already_recorded += 1
                summary.count(k.status, k.reason, k.media_sha256, k.kind)
            elif item.revisit_digest is not None:
                revisits.append(item)
            elif item.path is None and item.data is None:
                rec.add(seq, item, None)
            else:
                task = _Task(
                    seq,
                    str(item.path) if item.path else None,
                    item.data,
                    limits,
                    str(thumbs),
                    detector_path,
                )
                if pool is None:
                    _finish(seq, item, _analyse_task(task))
                else:
                    if item.data is not None and len(item.data) > SPILL_BYTES:
                        task = _spill(task, item.data, spill)
                        item = dataclasses.replace(item, data=None)
                    while len(inflight) >= workers * 4:
                        harvest(block=True)
                    inflight[seq] = (item, pool.submit(_analyse_task, task))
                    harvest(block=False)
                del task
            del item  # its content (up to max_member_bytes) goes before the next is read
            if on_progress:
                on_progress(summary)
            rec.maybe_flush(min(inflight) if inflight else None)
        while inflight:
            harvest(block=True)
        rec.flush(None)
        for item in revisits:
            _record_revisit(store, rec, item)
        rec.flush(None)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    summary.elapsed_seconds = time.monotonic() - started
    store.finish_scan(scan.id, summary.to_json())
    return summary


def _spill(task: _Task, data: bytes, folder: Path) -> _Task:
    """The task with its content moved to a file in ``folder`` (see :data:`SPILL_BYTES`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{os.getpid()}-{task.seq}.bin"
    target.write_bytes(data)
    return dataclasses.replace(task, path=str(target), data=None, spilled=True)


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


def _make_pool(workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["verisight.analysis", "verisight.scanning"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
