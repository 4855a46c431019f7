"""The SQL behind ``verisight case backup`` and ``verisight case check``: row counts, the media
whose derived files should exist, and rows that point nowhere.

Everything here reads; nothing writes. :mod:`verisight.services.backups` holds the rules.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, Table, func, select

from verisight.store.schema import AuditEntry, Media, Sighting

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_PAGE = 5000


@dataclass(frozen=True)
class RowCounts:
    media: int
    sightings: int
    audit_entries: int

    def to_json(self) -> dict[str, int]:
        return {
            "media": self.media,
            "sightings": self.sightings,
            "audit_entries": self.audit_entries,
        }


def row_counts(engine: Engine) -> RowCounts:
    with engine.connect() as conn:

        def count(table: Table) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        return RowCounts(count(_MEDIA), count(_SIGHTING), count(_AUDIT))


def media_with_thumbnails(engine: Engine) -> Iterator[str]:
    """SHA-256 of every media whose row says a thumbnail was stored, page by page."""
    after = ""
    while True:
        q = (
            select(_MEDIA.c.sha256)
            .where(_MEDIA.c.has_thumbnail.is_(True), _MEDIA.c.sha256 > after)
            .order_by(_MEDIA.c.sha256)
            .limit(_PAGE)
        )
        with engine.connect() as conn:
            page = [str(r[0]) for r in conn.execute(q)]
        if not page:
            return
        yield from page
        after = page[-1]


def media_without_sightings(engine: Engine, limit: int = 100) -> list[str]:
    """Media rows that no sighting points to (a media is only ever written with one)."""
    q = (
        select(_MEDIA.c.sha256)
        .where(~select(_SIGHTING.c.id).where(_SIGHTING.c.media_sha256 == _MEDIA.c.sha256).exists())
        .order_by(_MEDIA.c.sha256)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(q)]


def sqlite_online_backup(database: Path, dest: Path) -> None:
    """Copy a SQLite database with SQLite's online backup API: a consistent snapshot, taken
    while scans and analysts keep writing (in WAL mode the copy is one read transaction)."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=60)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)  # one step: one read transaction, one snapshot
        finally:
            target.close()
    finally:
        source.close()


#: Audit actions that record a decision (their detail carries the decision, stage, version).
DECISION_ACTIONS = ("assess", "review", "propagate")
#: The judged fields of a decision, as the assessment and opinion tables and the audit hold them.
DECISION_FIELDS = ("outcome", "category", "origin", "age_band", "sex", "note")


@dataclass(frozen=True)
class DecisionRows:
    """The decision tables as they stand, and the audit's decision entries in order."""

    #: media → (decision fields, version, status)
    assessments: dict[str, tuple[tuple[object, ...], int, str]]
    #: (media, version) → (stage, decision fields)
    opinions: dict[tuple[str, int], tuple[str, tuple[object, ...]]]
    #: (seq, media, detail) in chain order
    entries: list[tuple[int, str, dict[str, object]]]


def decision_rows(engine: Engine) -> DecisionRows:
    from verisight.store.schema import Assessment, Opinion

    assessment: Table = Assessment.__table__  # type: ignore[assignment]
    opinion: Table = Opinion.__table__  # type: ignore[assignment]
    with engine.connect() as conn:
        assessments = {
            r.media_sha256: (tuple(getattr(r, f) for f in DECISION_FIELDS), r.version, r.status)
            for r in conn.execute(select(assessment))
        }
        opinions = {
            (r.media_sha256, r.version): (r.stage, tuple(getattr(r, f) for f in DECISION_FIELDS))
            for r in conn.execute(select(opinion))
        }
        entries = [
            (r.seq, r.media_sha256, detail)
            for r in conn.execute(
                select(_AUDIT.c.seq, _AUDIT.c.media_sha256, _AUDIT.c.detail)
                .where(_AUDIT.c.action.in_(DECISION_ACTIONS))
                .order_by(_AUDIT.c.seq)
            )
            if (detail := _detail(r.detail)) is not None  # unreadable: the chain reports it
        ]
    return DecisionRows(assessments, opinions, entries)


def _detail(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
