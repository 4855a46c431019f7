"""Read-only queries for reports and exports (every SQL statement of :mod:`verisight.reports`).

Aggregates are computed in the database (``GROUP BY``, ``COUNT(DISTINCT …)``) and row
exports are streamed (``yield_per``), so memory does not grow with the case. The same
statements run on SQLite and PostgreSQL; where the dialects differ (month of a timestamp,
host of a URL, source of a sighting) each gets an equivalent expression, and on SQLite the
Python functions :func:`host_of` and :func:`source_of` are registered on the connection.

Terms used by every query:

* a sighting's **time** is its ``captured_at`` (WARC-Date) when known, else the
  ``started_at`` of the scan that recorded it;
* a **period** is a half-open interval ``[start, end)`` of such times (either end open);
* the **period's items** are the sightings in the period that are not containers
  (archives and WARC files are counted through their members);
* the **period's media** are the distinct images and videos (``media.kind``) that at least
  one of the period's items shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    select,
)

from verisight.analysis.provenance.model import ProvenanceReport
from verisight.names import stored_locator
from verisight.store.schema import AppUser, Assessment, Bank, Match, Media, Opinion, Scan, Sighting
from verisight.vocab import AI_VERDICTS, CRIMINAL

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_SCAN: Table = Scan.__table__  # type: ignore[assignment]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[assignment]
_OPINION: Table = Opinion.__table__  # type: ignore[assignment]
_USER: Table = AppUser.__table__  # type: ignore[assignment]
_MATCH: Table = Match.__table__  # type: ignore[assignment]
_BANK: Table = Bank.__table__  # type: ignore[assignment]

MEDIA_KINDS = ("image", "video")
SEPARATOR = " › "
NO_URL = "(no URL)"
BY = ("source", "site", "month")
#: Outcomes of an assessment that are criminal under UK law.
AI_PROVENANCE = AI_VERDICTS
_HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)"


def host_of(url: str | None) -> str:
    """The lower-cased host of a URL, or :data:`NO_URL` (the SQL expressions agree)."""
    if not url:
        return NO_URL
    m = re.match(_HOST, url)
    return m.group(1).lower() if m else NO_URL


def source_of(path: str, depth: int) -> str:
    """The outermost file for a container member, else the folder holding the file."""
    if depth > 0:
        return path.split(SEPARATOR, 1)[0]
    return re.sub(r"/[^/]*$", "", path)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC; ``None`` leaves that end open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class GroupRow:
    """One row of a ``--by`` breakdown."""

    key: str
    items_seen: int
    distinct_media: int
    assessed: int
    criminal: int
    ai_provenance: int


@dataclass(frozen=True)
class ExportRow:
    """An assessed media as a hash export needs it."""

    sha256: str
    md5: str
    sha1: str
    pdq: str | None
    pdq_quality: int | None
    size: int
    mime: str
    outcome: str
    category: str | None
    origin: str
    age_band: str
    sex: str
    status: str


@dataclass(frozen=True)
class SightingRow:
    path: str
    chain: list[str]
    locator: str
    url: str | None
    captured_at: datetime | None
    depth: int
    status: str
    scan_id: int


@dataclass(frozen=True)
class OpinionRow:
    user: str
    stage: str
    outcome: str
    category: str | None
    origin: str
    age_band: str
    sex: str
    note: str | None
    version: int
    at: datetime


@dataclass(frozen=True)
class EvidenceMedia:
    """Everything the evidence manifest says about one media."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str
    kind: str
    pdq: str | None
    provenance: str | None
    provenance_report: ProvenanceReport | None
    generator_model: str | None
    assessment: ExportRow | None
    analyst: str | None
    assessed_at: datetime | None
    sightings: list[SightingRow]
    opinions: list[OpinionRow]


class ReportingStore:
    """Read-only queries over a case database (see the module docstring for the terms)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- expressions -------------------------------------------------------------------

    @staticmethod
    def _time() -> ColumnElement[Any]:
        return func.coalesce(_SIGHTING.c.captured_at, _SCAN.c.started_at)

    def _items(self, period: Period, *extra: ColumnElement[Any]) -> Select[Any]:
        """The period's items, with the sighting and scan tables joined."""
        t = self._time()
        where: list[ColumnElement[bool]] = [_SIGHTING.c.is_container == false()]
        if period.start is not None:
            where.append(t >= period.start)
        if period.end is not None:
            where.append(t < period.end)
        return (
            select(*extra)
            .select_from(_SIGHTING.join(_SCAN, _SCAN.c.id == _SIGHTING.c.scan_id))
            .where(and_(*where))
        )

    def _period_media(self, period: Period) -> Any:
        """Subquery: the SHA-256 of each of the period's media, once."""
        q = (
            self._items(period, _SIGHTING.c.media_sha256.label("sha256"))
            .join(_MEDIA, _MEDIA.c.sha256 == _SIGHTING.c.media_sha256)
            .where(_MEDIA.c.kind.in_(MEDIA_KINDS))
            .distinct()
        )
        return q.subquery("pm")

    def _group_key(self, conn: Connection, by: str) -> ColumnElement[Any]:
        pg = conn.dialect.name == "postgresql"
        if by == "month":
            t = self._time()
            if pg:
                return func.to_char(func.timezone("UTC", t), "YYYY-MM")
            return func.substr(t, 1, 7)
        if by == "site":
            if pg:
                host = func.lower(func.substring(_SIGHTING.c.url, _HOST))
                return func.coalesce(host, literal(NO_URL))
            _register(conn)
            return func.verisight_host(_SIGHTING.c.url)
        if by == "source":
            if pg:
                return case(
                    (_SIGHTING.c.depth > 0, func.split_part(_SIGHTING.c.path, SEPARATOR, 1)),
                    else_=func.regexp_replace(_SIGHTING.c.path, "/[^/]*$", ""),
                )
            _register(conn)
            return func.verisight_source(_SIGHTING.c.path, _SIGHTING.c.depth)
        raise ValueError(by)

    # -- aggregates --------------------------------------------------------------------

    def item_counts(self, period: Period) -> dict[str, int]:
        """The period's items by status ("analysed", "failed", "skipped")."""
        q = self._items(period, _SIGHTING.c.status, func.count()).group_by(_SIGHTING.c.status)
        with self.engine.connect() as conn:
            return {str(s): int(n) for s, n in conn.execute(q)}

    def media_sightings(self, period: Period) -> int:
        """The period's items that show one of the period's media."""
        q = (
            self._items(period, func.count())
            .join(_MEDIA, _MEDIA.c.sha256 == _SIGHTING.c.media_sha256)
            .where(_MEDIA.c.kind.in_(MEDIA_KINDS))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def media_by(self, period: Period, column: str, *, null: str = "none") -> dict[str, int]:
        """The period's media counted by a ``media`` column (null counted as ``null``)."""
        pm = self._period_media(period)
        col = _MEDIA.c[column]
        q = (
            select(col, func.count())
            .select_from(pm.join(_MEDIA, _MEDIA.c.sha256 == pm.c.sha256))
            .group_by(col)
        )
        with self.engine.connect() as conn:
            return {(null if v is None else str(v)): int(n) for v, n in conn.execute(q)}

    def assessed_by(
        self, period: Period, columns: Sequence[str], *, criminal_only: bool = False
    ) -> dict[tuple[str, ...], int]:
        """The period's assessed media counted by assessment columns (null as ``"none"``)."""
        pm = self._period_media(period)
        cols = [_ASSESSMENT.c[c] for c in columns]
        q = select(*cols, func.count()).select_from(
            pm.join(_ASSESSMENT, _ASSESSMENT.c.media_sha256 == pm.c.sha256)
        )
        if criminal_only:
            q = q.where(_ASSESSMENT.c.outcome.in_(CRIMINAL))
        q = q.group_by(*cols)
        with self.engine.connect() as conn:
            return {
                tuple("none" if v is None else str(v) for v in row[:-1]): int(row[-1])
                for row in conn.execute(q)
            }

    def matches_by_bank(self, period: Period) -> dict[str, int]:
        """The period's media matched by each bank of kind "match" (each media once a bank)."""
        pm = self._period_media(period)
        q = (
            select(_BANK.c.name, func.count(distinct(_MATCH.c.media_sha256)))
            .select_from(
                pm.join(_MATCH, _MATCH.c.media_sha256 == pm.c.sha256).join(
                    _BANK, _BANK.c.id == _MATCH.c.bank_id
                )
            )
            .where(_BANK.c.kind == "match")
            .group_by(_BANK.c.name)
        )
        total = (
            select(func.count(distinct(_MATCH.c.media_sha256)))
            .select_from(
                pm.join(_MATCH, _MATCH.c.media_sha256 == pm.c.sha256).join(
                    _BANK, _BANK.c.id == _MATCH.c.bank_id
                )
            )
            .where(_BANK.c.kind == "match")
        )
        with self.engine.connect() as conn:
            out = {str(b): int(n) for b, n in conn.execute(q)}
            out[""] = int(conn.execute(total).scalar_one())
        return out

    def iter_loras(self, period: Period) -> Iterator[list[str]]:
        """LoRA names declared by each of the period's media (from the provenance JSON)."""
        pm = self._period_media(period)
        q = (
            select(_MEDIA.c.provenance_json)
            .select_from(pm.join(_MEDIA, _MEDIA.c.sha256 == pm.c.sha256))
            .where(_MEDIA.c.provenance_json.like("%lora%"))
        )
        with self.engine.connect() as conn:
            for (raw,) in conn.execution_options(yield_per=1000).execute(q):
                yield _loras(raw)

    def groups(self, period: Period, by: str) -> list[GroupRow]:
        """Per ``by`` value: items, distinct media, assessed, criminal, AI provenance."""
        with self.engine.connect() as conn:
            key = self._group_key(conn, by).label("k")
            media_sha = case((_MEDIA.c.kind.in_(MEDIA_KINDS), _SIGHTING.c.media_sha256), else_=None)
            assessed = case((_ASSESSMENT.c.id.is_not(None), media_sha), else_=None)
            criminal = case((_ASSESSMENT.c.outcome.in_(CRIMINAL), media_sha), else_=None)
            ai = case((_MEDIA.c.provenance.in_(AI_PROVENANCE), media_sha), else_=None)
            q = (
                self._items(
                    period,
                    key,
                    func.count(),
                    func.count(distinct(media_sha)),
                    func.count(distinct(assessed)),
                    func.count(distinct(criminal)),
                    func.count(distinct(ai)),
                )
                .outerjoin(_MEDIA, _MEDIA.c.sha256 == _SIGHTING.c.media_sha256)
                .outerjoin(_ASSESSMENT, _ASSESSMENT.c.media_sha256 == _SIGHTING.c.media_sha256)
                .group_by(key)
                .order_by(key)
            )
            return [GroupRow(str(r[0]), *(int(x) for x in r[1:])) for r in conn.execute(q)]

    # -- exports -----------------------------------------------------------------------

    def iter_assessed(
        self,
        *,
        outcomes: Sequence[str] = (),
        categories: Sequence[str] = (),
        statuses: Sequence[str] = (),
        media: Sequence[str] = (),
    ) -> Iterator[ExportRow]:
        """Assessed media (optionally filtered), streamed in SHA-256 order."""
        # fmt: off
        q = select(
            _MEDIA.c.sha256, _MEDIA.c.md5, _MEDIA.c.sha1, _MEDIA.c.pdq, _MEDIA.c.pdq_quality,
            _MEDIA.c.size, _MEDIA.c.mime, _ASSESSMENT.c.outcome, _ASSESSMENT.c.category,
            _ASSESSMENT.c.origin, _ASSESSMENT.c.age_band, _ASSESSMENT.c.sex, _ASSESSMENT.c.status,
        ).select_from(_MEDIA.join(_ASSESSMENT, _ASSESSMENT.c.media_sha256 == _MEDIA.c.sha256))
        # fmt: on
        if outcomes:
            q = q.where(_ASSESSMENT.c.outcome.in_(list(outcomes)))
        if categories:
            q = q.where(_ASSESSMENT.c.category.in_(list(categories)))
        if statuses:
            q = q.where(_ASSESSMENT.c.status.in_(list(statuses)))
        if media:
            q = q.where(_MEDIA.c.sha256.in_(list(media)))
        q = q.order_by(_MEDIA.c.sha256)
        with self.engine.connect() as conn:
            for r in conn.execution_options(yield_per=2000).execute(q):
                yield ExportRow(**r._mapping)

    def existing_media(self, shas: Sequence[str]) -> set[str]:
        """Which of ``shas`` are media of the case."""
        with self.engine.connect() as conn:
            q = select(_MEDIA.c.sha256).where(_MEDIA.c.sha256.in_(list(shas)))
            return {str(s) for s in conn.execute(q).scalars()}

    def evidence(self, sha256: str) -> EvidenceMedia:
        """One media with its sightings, assessment and every opinion (it must exist)."""
        with self.engine.connect() as conn:
            m = conn.execute(select(_MEDIA).where(_MEDIA.c.sha256 == sha256)).one()
            sightings = [
                SightingRow(
                    r.path,
                    json.loads(r.chain),
                    stored_locator(r.locator, r.locator_raw),
                    r.url,
                    r.captured_at,
                    r.depth,
                    r.status,
                    r.scan_id,
                )
                for r in conn.execute(
                    select(_SIGHTING)
                    .where(_SIGHTING.c.media_sha256 == sha256)
                    .order_by(_SIGHTING.c.id)
                )
            ]
            opinions = [
                OpinionRow(
                    r.name,
                    r.stage,
                    r.outcome,
                    r.category,
                    r.origin,
                    r.age_band,
                    r.sex,
                    r.note,
                    r.version,
                    r.at,
                )
                for r in conn.execute(
                    select(_OPINION, _USER.c.name)
                    .join(_USER, _USER.c.id == _OPINION.c.user_id)
                    .where(_OPINION.c.media_sha256 == sha256)
                    .order_by(_OPINION.c.at, _OPINION.c.id)
                )
            ]
            a = conn.execute(
                select(_ASSESSMENT, _USER.c.name)
                .join(_USER, _USER.c.id == _ASSESSMENT.c.analyst_id)
                .where(_ASSESSMENT.c.media_sha256 == sha256)
            ).first()
        assessment = None
        if a is not None:
            assessment = ExportRow(
                m.sha256, m.md5, m.sha1, m.pdq, m.pdq_quality, m.size, m.mime, a.outcome,
                a.category, a.origin, a.age_band, a.sex, a.status,
            )  # fmt: skip
        return EvidenceMedia(
            sha256=m.sha256, md5=m.md5, sha1=m.sha1, size=m.size, mime=m.mime, kind=m.kind,
            pdq=m.pdq, provenance=m.provenance,
            provenance_report=(
                ProvenanceReport.from_json(json.loads(m.provenance_json))
                if m.provenance_json
                else None
            ),
            generator_model=m.generator_model, assessment=assessment,
            analyst=a.name if a is not None else None,
            assessed_at=a.updated_at if a is not None else None,
            sightings=sightings, opinions=opinions,
        )  # fmt: skip


def _loras(raw: str | None) -> list[str]:
    try:
        report = json.loads(raw or "null")
    except ValueError:
        return []
    gen = report.get("generator") if isinstance(report, dict) else None
    loras = gen.get("loras") if isinstance(gen, dict) else None
    names: list[str] = []
    for lora in loras if isinstance(loras, list) else []:
        if isinstance(lora, dict):
            name = lora.get("name") or lora.get("hash")
            if name:
                names.append(str(name))
        elif isinstance(lora, str) and lora:
            names.append(lora)
    return names


def _register(conn: Connection) -> None:
    raw: Any = conn.connection.driver_connection
    raw.create_function("verisight_host", 1, host_of, deterministic=True)
    raw.create_function("verisight_source", 2, source_of, deterministic=True)
