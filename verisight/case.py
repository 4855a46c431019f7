"""The service layer: :class:`Case`, one case directory plus its database.

The CLI and the web app are thin shells over this class (cf. Datasette's ``Datasette``).
A case is a directory holding the SQLite database (unless a PostgreSQL URL is given) and
derived files such as thumbnails. Originals are never copied into it or altered.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from verisight.analysis.record import VideoInfo
from verisight.banking import Banking
from verisight.errors import CaseError
from verisight.limits import Limits
from verisight.scanning import (
    Executor,
    ScanSummary,
    contact_sheet_path,
    run_scan,
    thumbnail_path,
)
from verisight.store import MediaView, SightingView, Status, Store
from verisight.store.banks import BankStore
from verisight.store.db import sqlite_url

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

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def thumbs_dir(self) -> Path:
        return self.directory / "thumbs"

    def thumbnail(self, sha256: str) -> Path | None:
        path = thumbnail_path(self.thumbs_dir, sha256)
        return path if path.is_file() else None

    def contact_sheet(self, sha256: str) -> Path | None:
        """A video's contact sheet (JPEG grid of sampled frames), if one was stored."""
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
    ) -> ScanSummary:
        """Scan ``roots`` into the case. ``dask``: analyse on a Dask cluster, given by its
        scheduler's address (``tcp://host:8786``, ``local:N``) or as a connected
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
                )
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
        if summary.media_shas and self.banking.store.all():
            summary.matching = self.banking.match(media=sorted(summary.media_shas)).to_json()
        return summary

    @cached_property
    def banking(self) -> Banking:
        """Hash banks and matching for this case (see :mod:`verisight.banking`)."""
        return Banking(BankStore(self.store.engine), self.directory)

    def media(self, kind: str | None = None) -> Iterator[MediaView]:
        return self.store.iter_media(kind=kind)

    def media_show(self, sha256: str) -> MediaView:
        return self.store.get_media(sha256)

    def sightings(self, status: Status | None = None) -> Iterator[SightingView]:
        return self.store.iter_sightings(status)


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
        "evidence": (m.provenance_report or {}).get("evidence", []),
        "generator": (m.provenance_report or {}).get("generator"),
        "c2pa": (m.provenance_report or {}).get("c2pa"),
        "detector_score": m.detector_score,
        "video": video_json(m.video) if m.video is not None else None,
        "sightings": [
            {"path": s.path, "url": s.url, "captured_at": sighting_json(s)["captured_at"]}
            for s in m.sightings
        ],
    }
