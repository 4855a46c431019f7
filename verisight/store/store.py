"""The case store: every SQL statement Verisight runs lives here.

:class:`Store` is a narrow role interface over a case database. It takes and returns
dataclasses (:mod:`verisight.store.records`), never ORM rows, and behaves identically on SQLite
(the embedded default) and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, Table, func, select, update

from verisight.analysis.luma import layout_keys_of
from verisight.analysis.provenance.model import ProvenanceReport
from verisight.analysis.record import Camera, ItemRecord, VideoInfo
from verisight.errors import MediaNotFound, UsageError
from verisight.names import escaped, is_exact_text, json_text, stored_locator, to_bytes
from verisight.store.db import (
    insert_ignoring_conflicts,
    make_engine,
    make_read_engine,
    migrate,
    prefer_fast_compression,
)
from verisight.store.known import KnownPlaces
from verisight.store.records import (
    KnownSighting,
    MediaView,
    NewSighting,
    ScanRecord,
    SightingView,
    Status,
)
from verisight.store.schema import Media, MediaLuma, Scan, Sighting
from verisight.store.video import videos_for, write_videos
from verisight.textnorm import normalise_text

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_LUMA: Table = MediaLuma.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_SCAN: Table = Scan.__table__  # type: ignore[assignment]
_PAGE = 500
#: Media kinds that can have video rows (videos, and animated GIF/WebP images).
_VIDEO_KINDS = ("video", "image")


def _report(text: str | None) -> ProvenanceReport | None:
    """The stored provenance report (its ``to_json()``) as the typed record."""
    return ProvenanceReport.from_json(json.loads(text)) if text else None


def sighting_key(locator: str, media_sha256: str | None) -> str:
    """Natural key of a sighting: the same place with the same content is one row.

    Computed from the locator's exact bytes (:func:`verisight.names.to_bytes`), so names
    that are not valid UTF-8 get keys too, and the keys of valid names are unchanged.
    """
    return hashlib.sha256(to_bytes(locator) + b"\0" + (media_sha256 or "").encode()).hexdigest()


def _text(value: str | None) -> str | None:
    """Readable text for a column that people read (any database accepts it)."""
    return escaped(value) if value is not None else None


def _media_row(record: ItemRecord, has_thumbnail: bool) -> dict[str, Any]:
    cam = record.camera
    prov = record.provenance
    gen = prov.generator if prov else None
    seed = gen.seed if gen and gen.seed is not None else None
    return {
        "sha256": record.sha256,
        "md5": record.md5,
        "sha1": record.sha1,
        "size": record.size,
        "mime": record.mime,
        "kind": record.kind,
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "pdq": record.pdq,
        "pdq_quality": record.pdq_quality,
        "exif_orientation": record.exif_orientation,
        "camera_make": cam.make if cam else None,
        "camera_model": cam.model if cam else None,
        "camera_taken": cam.taken if cam else None,
        "error_reason": record.error.reason.value if record.error else None,
        "error_detail": record.error.detail if record.error else None,
        "has_thumbnail": has_thumbnail,
        "pdq_variants": ",".join(record.pdq_variants) if record.pdq_variants else None,
        "pdq_trimmed": record.pdq_trimmed,
        "provenance": prov.provenance if prov else None,
        "provenance_conflict": prov.conflict if prov else None,
        "provenance_json": json.dumps(prov.to_json(), sort_keys=True) if prov else None,
        "generator_tool": gen.tool if gen else None,
        "generator_model": (gen.model_name or gen.model_hash) if gen else None,
        "generator_seed": str(seed) if seed is not None else None,
        "generator_prompt": normalise_text(gen.prompt) if gen and gen.prompt else None,
        "detector_score": record.detector_score,
    }


def _sighting_row(s: NewSighting, scan_id: int) -> dict[str, Any]:
    p = s.provenance
    return {
        "key": sighting_key(p.locator, s.media_sha256),
        "locator": escaped(p.locator),
        "locator_raw": None if is_exact_text(p.locator) else to_bytes(p.locator),
        "path": escaped(p.path),
        "chain": json_text(list(p.chain)),
        "url": _text(p.url),
        "captured_at": p.captured_at,
        "media_sha256": s.media_sha256,
        "status": s.status.value,
        "reason": s.reason,
        "detail": _text(s.detail),
        "depth": s.depth,
        "is_container": s.is_container,
        "size": s.size,
        "mtime_ns": s.mtime_ns,
        "scan_id": scan_id,
    }


def _sighting_view(r: Row[Any]) -> SightingView:
    return SightingView(
        path=r.path,
        chain=json.loads(r.chain),
        url=r.url,
        captured_at=r.captured_at,
        status=Status(r.status),
        reason=r.reason,
        detail=r.detail,
        media_sha256=r.media_sha256,
        depth=r.depth,
        is_container=bool(r.is_container),
        scan_id=r.scan_id,
    )


def _media_view(
    r: Row[Any], sightings: list[SightingView], video: VideoInfo | None = None
) -> MediaView:
    camera = None
    if r.camera_make or r.camera_model or r.camera_taken:
        camera = Camera(make=r.camera_make, model=r.camera_model, taken=r.camera_taken)
    return MediaView(
        sha256=r.sha256,
        md5=r.md5,
        sha1=r.sha1,
        size=r.size,
        mime=r.mime,
        kind=r.kind,
        format=r.format,
        width=r.width,
        height=r.height,
        pdq=r.pdq,
        pdq_quality=r.pdq_quality,
        exif_orientation=r.exif_orientation,
        camera=camera,
        error_reason=r.error_reason,
        error_detail=r.error_detail,
        has_thumbnail=bool(r.has_thumbnail),
        sightings=sightings,
        pdq_variants=r.pdq_variants.split(",") if r.pdq_variants else None,
        pdq_trimmed=r.pdq_trimmed,
        provenance=r.provenance,
        provenance_conflict=r.provenance_conflict,
        provenance_report=_report(r.provenance_json),
        generator_tool=r.generator_tool,
        generator_model=r.generator_model,
        generator_seed=r.generator_seed,
        detector_score=r.detector_score,
        video=video,
    )


class Store:
    """A case database. Open with :meth:`open`, which applies pending migrations."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read_engines: list[Engine] = []

    @classmethod
    def open(cls, url: str) -> Store:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def read_engine(self, connections: int) -> Engine:
        """A pool of ``connections`` for hot one-statement reads (:func:`make_read_engine`) on
        PostgreSQL, disposed of with the store; on SQLite, the store's engine."""
        if self.engine.dialect.name != "postgresql":
            return self.engine
        engine = make_read_engine(self.engine.url.render_as_string(hide_password=False),
                                  connections)  # fmt: skip
        self._read_engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._read_engines:
            engine.dispose()
        self.engine.dispose()

    # -- scans ---------------------------------------------------------------------------

    def begin_scan(self, roots: Sequence[str]) -> ScanRecord:
        """Start a scan of ``roots``, or resume the newest unfinished scan of the same roots."""
        roots_json = json_text(sorted(roots))
        with self.engine.begin() as conn:
            last = conn.execute(
                select(_SCAN).where(_SCAN.c.roots == roots_json).order_by(_SCAN.c.id.desc())
            ).first()
            if last is not None and last.status == "running":
                return ScanRecord(last.id, sorted(roots), last.started_at, None, "running", True)
            now = datetime.now(UTC)
            scan_id = conn.execute(
                _SCAN.insert()
                .values(roots=roots_json, started_at=now, status="running")
                .returning(_SCAN.c.id)
            ).scalar_one()
        return ScanRecord(int(scan_id), sorted(roots), now, None, "running", False)

    def finish_scan(self, scan_id: int, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_SCAN)
                .where(_SCAN.c.id == scan_id)
                .values(
                    status="finished",
                    finished_at=datetime.now(UTC),
                    summary=json.dumps(summary, sort_keys=True),
                )
            )

    def scans(self) -> list[ScanRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_SCAN).order_by(_SCAN.c.id)).all()
        return [
            ScanRecord(
                r.id,
                json.loads(r.roots),
                r.started_at,
                r.finished_at,
                r.status,
                summary=json.loads(r.summary) if r.summary else None,
            )
            for r in rows
        ]

    # -- writing -------------------------------------------------------------------------

    def known_sightings(self, roots: Iterable[str]) -> KnownPlaces:
        """Everything already recorded under ``roots`` (absolute paths), by locator, in
        bounded memory (see :mod:`verisight.store.known`)."""
        return KnownPlaces(self._known_rows(list(roots)))

    def _known_rows(self, roots: list[str]) -> Iterator[tuple[str, KnownSighting]]:
        with self.engine.connect() as conn:
            for root in roots:
                text = escaped(root)
                prefix = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                q = (
                    select(
                        _SIGHTING.c.locator,
                        _SIGHTING.c.locator_raw,
                        _SIGHTING.c.size,
                        _SIGHTING.c.mtime_ns,
                        _SIGHTING.c.status,
                        _SIGHTING.c.reason,
                        _SIGHTING.c.media_sha256,
                        _MEDIA.c.kind,
                    )
                    .select_from(_SIGHTING.outerjoin(_MEDIA))
                    .where(_SIGHTING.c.locator.like(prefix + "%", escape="\\"))
                    .order_by(_SIGHTING.c.id)
                )
                # streamed (a server-side cursor on PostgreSQL): never all rows at once
                for r in conn.execution_options(yield_per=10_000).execute(q):
                    yield (
                        stored_locator(r.locator, r.locator_raw),
                        KnownSighting(
                            r.size, r.mtime_ns, Status(r.status), r.reason, r.media_sha256, r.kind
                        ),
                    )

    def write(
        self,
        scan_id: int,
        media: Sequence[tuple[ItemRecord, bool]],
        sightings: Sequence[NewSighting],
    ) -> None:
        """Record media (record, has_thumbnail) and sightings in one transaction.

        Idempotent: media are keyed by SHA-256 and sightings by place + content.
        """
        media_rows = list({r.sha256: _media_row(r, t) for r, t in media}.values())
        grids = {r.sha256: r.luma_grid for r, _ in media if r.luma_grid is not None}
        luma_rows = [
            {"sha256": sha, "key": key, "grid": grid}
            for (sha, grid), key in zip(
                grids.items(), layout_keys_of(list(grids.values())), strict=True
            )
        ]
        sighting_rows = list(
            {row["key"]: row for row in (_sighting_row(s, scan_id) for s in sightings)}.values()
        )
        with self.engine.begin() as conn:
            if luma_rows:
                prefer_fast_compression(conn)
            insert_ignoring_conflicts(conn, _MEDIA, media_rows, "sha256")
            insert_ignoring_conflicts(conn, _LUMA, luma_rows, "sha256")
            write_videos(conn, [r for r, _ in media])
            insert_ignoring_conflicts(conn, _SIGHTING, sighting_rows, "key")

    def media_for_digest(self, algorithm: str, hexdigest: str) -> str | None:
        """SHA-256 of the media whose ``algorithm`` ("sha1"/"sha256"/"md5") digest matches."""
        column = {"sha1": _MEDIA.c.sha1, "sha256": _MEDIA.c.sha256, "md5": _MEDIA.c.md5}[algorithm]
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_MEDIA.c.sha256).where(column == hexdigest.lower()).limit(1)
            ).scalar()
        return str(found) if found is not None else None

    # -- reading -------------------------------------------------------------------------

    def count_media(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_MEDIA)).scalar_one())

    def iter_media(self, kind: str | None = None) -> Iterator[MediaView]:
        """Every media, ordered by SHA-256, with its sightings; streamed page by page."""
        after = ""
        while True:
            q = select(_MEDIA).where(_MEDIA.c.sha256 > after)
            if kind is not None:
                q = q.where(_MEDIA.c.kind == kind)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(_MEDIA.c.sha256).limit(_PAGE)).all()
                if not rows:
                    return
                by_media = self._sightings_for(conn, [r.sha256 for r in rows])
                videos = videos_for(conn, [r.sha256 for r in rows if r.kind in _VIDEO_KINDS])
            for r in rows:
                yield _media_view(r, by_media.get(r.sha256, []), videos.get(r.sha256))
            after = rows[-1].sha256

    def get_media(self, sha256: str) -> MediaView:
        """One media by full SHA-256 or an unambiguous prefix of at least 8 hex digits."""
        h = sha256.strip().lower()
        if len(h) < 8 or any(c not in "0123456789abcdef" for c in h):
            raise UsageError("give a SHA-256 (or a prefix of at least 8 hex digits)")
        with self.engine.connect() as conn:
            rows = conn.execute(select(_MEDIA).where(_MEDIA.c.sha256.like(h + "%")).limit(2)).all()
            if not rows:
                raise MediaNotFound(f"no media {h} in this case")
            if len(rows) > 1:
                raise UsageError(f"{h} matches more than one media: give more digits")
            by_media = self._sightings_for(conn, [rows[0].sha256])
            videos = videos_for(conn, [rows[0].sha256] if rows[0].kind in _VIDEO_KINDS else [])
        return _media_view(rows[0], by_media.get(rows[0].sha256, []), videos.get(rows[0].sha256))

    def iter_sightings(self, status: Status | None = None) -> Iterator[SightingView]:
        after = 0
        while True:
            q = select(_SIGHTING).where(_SIGHTING.c.id > after)
            if status is not None:
                q = q.where(_SIGHTING.c.status == status.value)
            with self.engine.connect() as conn:
                rows = conn.execute(q.order_by(_SIGHTING.c.id).limit(_PAGE)).all()
            if not rows:
                return
            yield from (_sighting_view(r) for r in rows)
            after = rows[-1].id

    @staticmethod
    def _sightings_for(conn: Any, shas: list[str]) -> dict[str, list[SightingView]]:
        out: dict[str, list[SightingView]] = {}
        q = (
            select(_SIGHTING)
            .where(_SIGHTING.c.media_sha256.in_(shas))
            .order_by(_SIGHTING.c.path, _SIGHTING.c.id)
        )
        for r in conn.execute(q):
            out.setdefault(r.media_sha256, []).append(_sighting_view(r))
        return out
