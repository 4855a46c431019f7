"""Dataclasses that cross the store boundary (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from verisight.analysis.provenance.model import ProvenanceReport
from verisight.analysis.record import Camera, VideoInfo
from verisight.sources.base import Provenance


class Status(StrEnum):
    """What became of one item: ``seen = analysed + failed + skipped``."""

    ANALYSED = "analysed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class NewSighting:
    """One item's outcome, to be recorded."""

    provenance: Provenance
    media_sha256: str | None
    status: Status
    reason: str | None = None
    detail: str | None = None
    depth: int = 0
    is_container: bool = False
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True, slots=True)
class KnownSighting:
    """What the case already knows about a place (used to resume and to skip unchanged
    files on a re-scan)."""

    size: int | None
    mtime_ns: int | None
    status: Status
    reason: str | None
    media_sha256: str | None
    kind: str | None


@dataclass(frozen=True, slots=True)
class SightingView:
    path: str
    chain: list[str]
    url: str | None
    captured_at: datetime | None
    status: Status
    reason: str | None
    detail: str | None
    media_sha256: str | None
    depth: int
    is_container: bool
    scan_id: int


@dataclass(frozen=True, slots=True)
class MediaView:
    """One distinct media with everything the case knows about it."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str
    kind: str
    format: str | None
    width: int | None
    height: int | None
    pdq: str | None
    pdq_quality: int | None
    exif_orientation: int | None
    camera: Camera | None
    error_reason: str | None
    error_detail: str | None
    has_thumbnail: bool
    sightings: list[SightingView] = field(default_factory=list)
    pdq_variants: list[str] | None = None
    #: PDQ of the content inside a uniform frame, if the image has one.
    pdq_trimmed: str | None = None
    provenance: str | None = None
    provenance_conflict: bool | None = None
    #: The provenance report (stored as its ``to_json()``), if any.
    provenance_report: ProvenanceReport | None = None
    generator_tool: str | None = None
    generator_model: str | None = None
    generator_seed: str | None = None
    detector_score: float | None = None
    #: Video facts and vPDQ frame hashes (videos and animated images), else None.
    video: VideoInfo | None = None

    @property
    def error(self) -> str | None:
        if self.error_reason is None:
            return None
        return (
            f"{self.error_reason}: {self.error_detail}" if self.error_detail else self.error_reason
        )


@dataclass(frozen=True, slots=True)
class ScanRecord:
    id: int
    roots: list[str]
    started_at: datetime
    finished_at: datetime | None
    status: str
    resumed: bool = False
    #: The scan's summary as ``verisight scan --json`` prints it (None while running).
    summary: dict[str, Any] | None = None
