"""The service layer: :class:`Case`, one case directory plus its database.

The CLI and the web app are thin shells over this class (cf. Datasette's ``Datasette``).
A case is a directory holding the SQLite database (unless a PostgreSQL URL is given) and
derived files such as thumbnails. Originals are never copied into it or altered.

``Case`` is the only way in: a shell imports this module, :mod:`verisight.errors` and result
types, never :mod:`verisight.store` (``tests/test_layers.py`` checks). The services it exposes:

=====================  ======================================================================
``case.scan(...)``     scan collections (then match the new media against the banks and
                       cluster them)
``case.media(...)``    the distinct media, one media, the sightings
``case.banking``       hash banks: import, export, delete, match, look up (:mod:`.banking`)
``case.clusters``      near-duplicate clusters: update, grids, list, show
``case.assessment``    the analyst's room: queue, items, decisions, reviews, accounts
``case.reports``       reports and exports, each audited with the ``actor`` given
``case.intel``         generator models in use, term-list hits, model names
``case.audit``         verify and read the audit log
=====================  ======================================================================

Services own permissions and transactions: each unit of work (a decision and its audit entry)
runs in one :meth:`Case.transaction`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from verisight.errors import CaseError
from verisight.store import MediaView, SightingView, Status, Store
from verisight.store.audit import AuditLog
from verisight.store.db import begin, sqlite_url

if TYPE_CHECKING:  # imported when first used: a command loads only what it needs
    from verisight.analysis.record import VideoInfo
    from verisight.apikeys import ApiKeys
    from verisight.assessment import AssessmentService
    from verisight.banking import Banking
    from verisight.curation import Curation
    from verisight.limits import Limits
    from verisight.scanning import Executor, ScanSummary
    from verisight.services import AuditService, ClusterService, IntelService, ReportService
    from verisight.services.backups import BackupManifest, CheckReport

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_CASE_DIR",
    "Case",
    "MediaView",
    "SightingView",
    "Status",
    "media_json",
    "sighting_json",
    "video_json",
]

DEFAULT_CASE_DIR = Path("verisight-case")
DATABASE_URL_ENV = "VERISIGHT_DATABASE_URL"


class Case:
    """Open (``create=False``) or create a case.

    ``database_url`` defaults to ``$VERISIGHT_DATABASE_URL`` and then to the SQLite file
    ``<directory>/verisight.db``.
    """

    def __init__(
        self,
        directory: Path = DEFAULT_CASE_DIR,
        database_url: str | None = None,
        *,
        create: bool = False,
    ) -> None:
        self.directory = Path(directory)
        url = database_url or os.environ.get(DATABASE_URL_ENV) or None
        if not self.directory.is_dir():
            if not create:
                raise CaseError(
                    f"no case at {self.directory} "
                    f"(run `verisight scan PATH --case {self.directory}`)"
                )
            try:
                self.directory.mkdir(parents=True)
            except OSError as exc:
                raise CaseError(
                    f"cannot create the case directory {self.directory}: {exc}"
                ) from exc
        self.database_url = url or sqlite_url(self.directory)
        self.store = Store.open(self.database_url)

    def close(self) -> None:
        self.store.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        """One unit of work: a transaction that every write of one decision shares.

        Services bind their stores to the connection (``audit.bind(conn).append(...)``), so
        that a decision and its audit entry commit together, or neither does (cf. Datasette's
        ``execute_write_fn``). Committed when the block ends; rolled back if it raises.
        """
        return begin(self.store.engine)

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def thumbs_dir(self) -> Path:
        return self.directory / "thumbs"

    def thumbnail(self, sha256: str) -> Path | None:
        from verisight.scanning import thumbnail_path  # the scan pipeline loads on use

        path = thumbnail_path(self.thumbs_dir, sha256)
        return path if path.is_file() else None

    def contact_sheet(self, sha256: str) -> Path | None:
        """A video's contact sheet (JPEG grid of sampled frames), if one was stored."""
        from verisight.scanning import contact_sheet_path

        path = contact_sheet_path(self.thumbs_dir, sha256)
        return path if path.is_file() else None

    def scan(
        self,
        roots: Sequence[Path],
        *,
        workers: int | None = None,
        limits: Limits | None = None,
        batch_size: int = 500,
        on_progress: Callable[[ScanSummary], None] | None = None,
        detector: Path | None = None,
        dask: str | Executor | None = None,
        cluster: bool = True,
    ) -> ScanSummary:
        """Scan ``roots``, match the new media against the banks and (unless ``cluster`` is
        false: ``--no-cluster``) cluster them incrementally: new media join the existing
        clusters or form new ones, so the queue lists decisions without a separate command.

        ``dask``: analyse on a Dask cluster, given by its scheduler's address
        (``tcp://host:8786``, ``local:N``) or as a connected
        :class:`verisight.distributed.DaskExecutor` (which the caller then closes)."""
        if isinstance(dask, str):
            from verisight.distributed import DaskExecutor

            with DaskExecutor(dask) as executor:
                return self.scan(
                    roots,
                    workers=workers,
                    limits=limits,
                    batch_size=batch_size,
                    on_progress=on_progress,
                    detector=detector,
                    dask=executor,
                    cluster=cluster,
                )
        from verisight.scanning import run_scan

        summary = run_scan(
            self.store,
            self.directory,
            roots,
            workers=workers,
            limits=limits,
            batch_size=batch_size,
            on_progress=on_progress,
            detector=detector,
            executor=dask,
        )
        if summary.media_shas and self.banking.banks():
            summary.matching = self.banking.match(media=summary.media_shas)  # sorted, streamed
        if cluster and summary.media_shas:
            summary.clustering = self.clusters.update()
            self.store.finish_scan(summary.scan, summary.to_json())  # the summary records it
        return summary

    @cached_property
    def banking(self) -> Banking:
        """Hash banks and matching for this case (see :mod:`verisight.banking`)."""
        from verisight.banking import Banking
        from verisight.store.banks import BankStore

        return Banking(BankStore(self.store.engine), self.directory)

    @cached_property
    def clusters(self) -> ClusterService:
        """Near-duplicate clusters and series (see :mod:`verisight.services.clusters`)."""
        from verisight.services.clusters import ClusterService, RepresentativeRule
        from verisight.store.clusters import ClusterStore
        from verisight.store.users import Users

        users = Users(self.store.engine)
        return ClusterService(
            ClusterStore(self.store.engine),
            lambda: RepresentativeRule.from_setting(users.org_setting("representative")),
        )

    @cached_property
    def reports(self) -> ReportService:
        """Reports and exports, each audited (see :mod:`verisight.services.reports`)."""
        from verisight.services.reports import ReportService
        from verisight.store.reporting import ReportingStore

        return ReportService(
            ReportingStore(self.store.engine), AuditLog(self.store.engine),
            lambda sha: self.media_show(sha).sha256,
        )  # fmt: skip

    @cached_property
    def intel(self) -> IntelService:
        """Generator intelligence (see :mod:`verisight.services.intel`)."""
        from verisight.services.intel import IntelService
        from verisight.store.intel import IntelStore

        return IntelService(IntelStore(self.store.engine))

    @cached_property
    def audit(self) -> AuditService:
        """The audit log: verify and read (see :mod:`verisight.services.audit`)."""
        from verisight.services.audit import AuditService

        return AuditService(AuditLog(self.store.engine))

    @cached_property
    def assessment(self) -> AssessmentService:
        """The assessment service with default accounts settings (the web app's service)."""
        from verisight.assessment import AssessmentService

        return AssessmentService(self)

    @cached_property
    def curation(self) -> Curation:
        """HMA-style curation and signal matching for the platform API."""
        engine = self.store.engine
        from verisight.curation import Curation
        from verisight.store.banks import BankStore
        from verisight.store.content import ContentStore

        return Curation(self.banking, BankStore(engine), ContentStore(engine), AuditLog(engine))

    def for_lookups(self, connections: int) -> tuple[Curation, ApiKeys]:
        """The platform API's :attr:`curation` and :attr:`api_keys`, whose look-up reads (a
        key, the banks' rules, the matched entries with their states) go through a pool of
        ``connections`` kept for them on PostgreSQL (:func:`~verisight.store.db.make_read_engine`:
        one round trip a read). Writes go through the case's engine, as everywhere else. On SQLite
        the case's engine serves both. The pool closes with the case."""
        from verisight.apikeys import ApiKeys
        from verisight.curation import Curation
        from verisight.store.apikeys import ApiKeyStore
        from verisight.store.banks import BankStore
        from verisight.store.content import ContentStore

        engine = self.store.engine
        reads = self.store.read_engine(connections)
        content = ContentStore(engine, reads=reads)
        curation = Curation(self.banking, BankStore(engine), content, AuditLog(engine))
        return curation, ApiKeys(ApiKeyStore(engine, reads=reads), AuditLog(engine))

    @cached_property
    def api_keys(self) -> ApiKeys:
        """The platform API's keys (see :mod:`verisight.apikeys`)."""
        engine = self.store.engine
        from verisight.apikeys import ApiKeys
        from verisight.store.apikeys import ApiKeyStore

        return ApiKeys(ApiKeyStore(engine), AuditLog(engine))

    def media(self, kind: str | None = None) -> Iterator[MediaView]:
        return self.store.iter_media(kind=kind)

    def media_show(self, sha256: str) -> MediaView:
        return self.store.get_media(sha256)

    def sightings(self, status: Status | None = None) -> Iterator[SightingView]:
        return self.store.iter_sightings(status)

    # -- backups (see :mod:`verisight.services.backups`) ---------------------------

    def backup(self, dest: Path) -> BackupManifest:
        """A consistent copy of this case in the new folder ``dest``, taken while in use."""
        from verisight.services import backups

        return backups.backup(self.store.engine, self.database_url, self.directory, dest)

    def check(self, *, audit_head: str | None = None) -> CheckReport:
        """Every disagreement between rows, derived files and the audit chain (and, given the
        head a backup or a ticket recorded, whether the chain still contains it)."""
        from verisight.services import backups

        return backups.check(self.store.engine, self.directory, audit_head=audit_head)

    @staticmethod
    def read_backup(source: Path) -> BackupManifest:
        """The manifest of the backup in ``source`` (what it holds, its audit head)."""
        from verisight.services.backups import BackupManifest

        return BackupManifest.read(source)

    @classmethod
    def restore(
        cls, source: Path, directory: Path, database_url: str | None = None, *, force: bool = False
    ) -> Case:
        """Restore the backup in ``source`` as the case ``directory`` and open it."""
        from verisight.services import backups

        url = backups.restore(source, Path(directory), database_url, force=force)
        return cls(directory, url)


def sighting_json(s: SightingView) -> dict[str, Any]:
    return {
        "path": s.path,
        "url": s.url,
        "captured_at": s.captured_at.isoformat().replace("+00:00", "Z") if s.captured_at else None,
        "status": s.status.value,
        "reason": s.reason,
        "detail": s.detail,
        "chain": s.chain,
        "media": s.media_sha256,
    }


def video_json(v: VideoInfo) -> dict[str, Any]:
    """The JSON shape of a video: stream facts and its sampled frames' vPDQ features."""
    return {
        "duration": v.duration,
        "fps": v.fps,
        "width": v.width,
        "height": v.height,
        "codec": v.codec,
        "audio": v.audio,
        "frames": [{"t": round(f.t, 3), "pdq": f.pdq, "quality": f.quality} for f in v.frames],
    }


def media_json(m: MediaView) -> dict[str, Any]:
    """The stable JSON shape of a media (``verisight media list --json``): keys are only added."""
    report = m.provenance_report
    return {
        "sha256": m.sha256,
        "md5": m.md5,
        "sha1": m.sha1,
        "size": m.size,
        "mime": m.mime,
        "kind": m.kind,
        "format": m.format,
        "width": m.width,
        "height": m.height,
        "pdq": m.pdq,
        "pdq_quality": m.pdq_quality,
        "exif_orientation": m.exif_orientation,
        "camera": (
            {"make": m.camera.make, "model": m.camera.model, "taken": m.camera.taken}
            if m.camera
            else None
        ),
        "error": m.error,
        "error_reason": m.error_reason,
        "thumbnail": m.has_thumbnail,
        "pdq_variants": m.pdq_variants,
        "pdq_trimmed": m.pdq_trimmed,
        "provenance": m.provenance,
        "provenance_conflict": m.provenance_conflict,
        "evidence": [e.to_json() for e in report.evidence] if report else [],
        "generator": report.generator.to_json() if report and report.generator else None,
        "c2pa": report.c2pa.to_json() if report and report.c2pa else None,
        "detector_score": m.detector_score,
        "video": video_json(m.video) if m.video is not None else None,
        "sightings": [
            {"path": s.path, "url": s.url, "captured_at": sighting_json(s)["captured_at"]}
            for s in m.sightings
        ],
    }
