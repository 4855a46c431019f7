"""Assessments, opinions, queue candidates and bank matches (SQL only, no rules).

Optimistic locking lives here as a statement: an update names the version it was based on
(``UPDATE … WHERE version = :expected``) and :class:`StaleVersion` is raised when another
writer got there first, so that no change is ever silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Row,
    Select,
    Table,
    inspect,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from verisight.errors import VerisightError
from verisight.store.db import Bindable
from verisight.store.schema import (
    AppUser,
    Assessment,
    Bank,
    BankEntryRow,
    Match,
    Media,
    Opinion,
    Sighting,
)

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[assignment]
_OPINION: Table = Opinion.__table__  # type: ignore[assignment]
_USER: Table = AppUser.__table__  # type: ignore[assignment]
_MATCH: Table = Match.__table__  # type: ignore[assignment]
_ENTRY: Table = BankEntryRow.__table__  # type: ignore[assignment]
_BANK: Table = Bank.__table__  # type: ignore[assignment]

DECISION_COLUMNS = ("outcome", "category", "origin", "age_band", "sex", "note")


class StaleVersion(VerisightError):
    """The assessment changed since the caller read it (optimistic locking)."""

    def __init__(self, current: AssessmentRecord | None) -> None:
        super().__init__("this media was assessed by someone else meanwhile")
        self.current = current


@dataclass(frozen=True)
class Decision:
    """The judged values of an assessment or opinion."""

    outcome: str
    category: str | None
    origin: str
    age_band: str
    sex: str
    note: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in DECISION_COLUMNS}


@dataclass(frozen=True)
class AssessmentRecord:
    media_sha256: str
    decision: Decision
    analyst: str
    version: int
    status: str
    review_reason: str | None
    bank_category: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OpinionRecord:
    media_sha256: str
    user: str
    stage: str
    decision: Decision
    version: int
    at: datetime


@dataclass(frozen=True)
class BankMatch:
    bank: str
    hash_type: str
    distance: int
    category: int | None
    label: str | None


@dataclass(frozen=True)
class QueueCandidate:
    """An unassessed media as the queue sees it."""

    sha256: str
    kind: str
    provenance: str | None
    bank_category: int | None
    matched: bool
    first_seen: str
    provenance_conflict: bool | None = None


#: The kinds of media a person assesses; containers (archives, web captures) never are.
ASSESSABLE_KINDS = ("image", "video")


def _decision(r: Row[Any]) -> Decision:
    return Decision(r.outcome, r.category, r.origin, r.age_band, r.sex, r.note)


class Assessments(Bindable):
    """Role interface over ``assessment`` and ``assessment_opinion`` (+ reads of matches)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        cols = {c["name"] for c in inspect(engine).get_columns("media")}
        #: ``media.provenance`` arrives with the provenance feature; work without it.
        self.has_provenance = "provenance" in cols

    def get(self, sha256: str) -> AssessmentRecord | None:
        q = (
            select(_ASSESSMENT, _USER.c.name.label("analyst"))
            .join(_USER, _USER.c.id == _ASSESSMENT.c.analyst_id)
            .where(_ASSESSMENT.c.media_sha256 == sha256)
        )
        with self._reading() as conn:
            r = conn.execute(q).first()
        if r is None:
            return None
        return AssessmentRecord(
            r.media_sha256, _decision(r), r.analyst, r.version, r.status, r.review_reason,
            r.bank_category, r.created_at, r.updated_at,
        )  # fmt: skip

    def save(
        self,
        sha256: str,
        decision: Decision,
        *,
        user_id: int,
        stage: str,
        expected_version: int,
        status: str,
        review_reason: str | None,
        bank_category: int | None,
        analyst_id: int | None = None,
        current: Decision | None = None,
    ) -> int:
        """Write the decision if the stored version is ``expected_version`` (0: none yet).

        ``decision`` is recorded as the user's opinion in the same transaction; ``current``
        (default: the same) becomes the assessment's value. Returns the new version.
        """
        now = datetime.now(UTC)
        new_version = expected_version + 1
        values = (current or decision).as_row() | {
            "version": new_version,
            "status": status,
            "review_reason": review_reason,
            "bank_category": bank_category,
            "updated_at": now,
        }
        if analyst_id is not None:
            values["analyst_id"] = analyst_id
        try:
            with self._writing() as conn:
                if expected_version == 0:
                    conn.execute(
                        _ASSESSMENT.insert().values(
                            media_sha256=sha256,
                            created_at=now,
                            **(values | {"analyst_id": analyst_id or user_id}),
                        )
                    )
                else:
                    done = conn.execute(
                        update(_ASSESSMENT)
                        .where(
                            _ASSESSMENT.c.media_sha256 == sha256,
                            _ASSESSMENT.c.version == expected_version,
                        )
                        .values(**values)
                    )
                    if done.rowcount != 1:
                        raise StaleVersion(None)
                conn.execute(
                    _OPINION.insert().values(
                        media_sha256=sha256,
                        user_id=user_id,
                        stage=stage,
                        version=new_version,
                        at=now,
                        **decision.as_row(),
                    )
                )
        except (IntegrityError, StaleVersion) as exc:
            # read what won on a fresh connection: a bound one may be in a failed transaction
            raise StaleVersion(self.unbound().get(sha256)) from exc
        return new_version

    def opinions(self, sha256: str) -> list[OpinionRecord]:
        q = (
            select(_OPINION, _USER.c.name.label("user"))
            .join(_USER, _USER.c.id == _OPINION.c.user_id)
            .where(_OPINION.c.media_sha256 == sha256)
            .order_by(_OPINION.c.id)
        )
        with self._reading() as conn:
            rows = conn.execute(q).all()
        return [OpinionRecord(r.media_sha256, r.user, r.stage, _decision(r), r.version, r.at)
                for r in rows]  # fmt: skip

    def latest_stages(self, shas: list[str]) -> dict[str, str]:
        """The stage of each media's latest opinion ("first", "edit", "propagated"...), for
        the media of ``shas`` that have one (an assessed media always has)."""
        found: dict[str, str] = {}
        with self._reading() as conn:
            for start in range(0, len(shas), 500):
                q = (
                    select(_OPINION.c.media_sha256, _OPINION.c.stage)
                    .where(_OPINION.c.media_sha256.in_(shas[start : start + 500]))
                    .order_by(_OPINION.c.id)
                )
                for sha, stage in conn.execute(q):
                    found[sha] = stage
        return found

    def by_status(self, statuses: tuple[str, ...], limit: int = 200) -> list[AssessmentRecord]:
        q = (
            select(_ASSESSMENT.c.media_sha256)
            .where(_ASSESSMENT.c.status.in_(statuses))
            .order_by(_ASSESSMENT.c.updated_at)
            .limit(limit)
        )
        with self._reading() as conn:
            shas = [r[0] for r in conn.execute(q)]
        return [a for a in (self.get(s) for s in shas) if a is not None]

    def bank_matches(self, sha256: str) -> list[BankMatch]:
        q = (
            select(
                _BANK.c.name, _BANK.c.kind, _MATCH.c.hash_type, _MATCH.c.distance,
                _ENTRY.c.category, _ENTRY.c.label,
            )
            .join(_BANK, _BANK.c.id == _MATCH.c.bank_id)
            .join(_ENTRY, _ENTRY.c.id == _MATCH.c.entry_id)
            .where(_MATCH.c.media_sha256 == sha256)
            .order_by(_MATCH.c.distance, _BANK.c.name)
        )  # fmt: skip
        with self._reading() as conn:
            rows = conn.execute(q).all()
        return [
            BankMatch(r.name, r.hash_type, r.distance, r.category, r.label)
            for r in rows
            if r.kind != "negative"
        ]

    def provenance(self, sha256: str) -> str | None:
        if not self.has_provenance:
            return None
        q: Select[Any] = select(literal_column("media.provenance")).where(_MEDIA.c.sha256 == sha256)
        with self._reading() as conn:
            v = conn.execute(q).scalar()
        return str(v) if v else None

    def assessed_page(self, offset: int, limit: int) -> list[str]:
        q = (
            select(_ASSESSMENT.c.media_sha256)
            .order_by(_ASSESSMENT.c.updated_at.desc())
            .offset(offset)
            .limit(limit)
        )
        with self._reading() as conn:
            return [r[0] for r in conn.execute(q)]
