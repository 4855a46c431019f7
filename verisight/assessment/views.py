"""What the assessment service returns to its shells: the queue, an item, a history and the
administration page, as frozen dataclasses (no ORM rows, no dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verisight.assessment import review
from verisight.assessment import video as vid
from verisight.assessment.clusters import ClusterContext
from verisight.assessment.mappings import Mapped
from verisight.assessment.taxonomy import CATEGORY, FIELDS
from verisight.errors import UsageError
from verisight.store import MediaView
from verisight.store.assessments import AssessmentRecord, BankMatch, Decision, OpinionRecord
from verisight.store.audit import AuditRecord
from verisight.store.users import UserRecord

__all__ = [
    "AdminView",
    "History",
    "InvalidDecision",
    "ItemView",
    "QueueEntry",
    "QueueFilter",
    "QueueView",
    "parse_decision",
]


class InvalidDecision(UsageError):
    """A submitted form does not fit the taxonomy."""


def parse_decision(form: Mapping[str, str]) -> Decision:
    """The decision a submitted form describes; raises :class:`InvalidDecision`."""
    values: dict[str, str | None] = {}
    for f in FIELDS:
        v = (form.get(f.name) or "").strip()
        if f.only_for and form.get("outcome") not in f.only_for:
            values[f.name] = None
            continue
        if v not in f.codes():
            raise InvalidDecision(f"{f.label}: choose one of {', '.join(f.codes())}")
        values[f.name] = v
    note = (form.get("note") or "").strip()[:4000] or None
    if note is not None and _has_control(note, allowed="\t\n\r"):
        raise InvalidDecision("a note may not contain control characters (a NUL, say)")
    return Decision(
        outcome=str(values["outcome"]),
        category=values[CATEGORY.name],
        origin=str(values["origin"]),
        age_band=str(values["age_band"]),
        sex=str(values["sex"]),
        note=note,
    )


def _has_control(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character (PostgreSQL refuses NUL in text)."""
    return any((ord(ch) < 32 and ch not in allowed) or ch == "\x7f" for ch in text)


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters, as typed in: ``source`` is a plain substring (``%`` and ``_``
    match themselves), at most 1000 characters and no control characters (a 400, not a 500)."""

    provenance: str | None = None
    bank: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        for name in ("provenance", "bank", "source"):
            value = getattr(self, name)
            if value is not None and (len(value) > 1000 or _has_control(value)):
                raise UsageError(f"{name}: at most 1000 characters, no control characters")


@dataclass(frozen=True)
class QueueEntry:
    sha256: str
    priority: int
    provenance: str | None
    matched: bool
    bank_category: int | None
    first_seen: str
    #: Triage tier and near-duplicate cluster (when the case has clusters).
    tier: str | None = None
    cluster_size: int = 1
    #: The representative, when this media is another member of its cluster.
    representative: str | None = None
    #: Members of its cluster still without a decision (the row stands for all of them).
    undecided: int = 1
    #: The representative is decided: what is left is applying it to the members.
    awaiting_apply: bool = False
    #: The copies its cluster holds (formats, sizes, crops).
    variants: str = ""


@dataclass(frozen=True)
class QueueView:
    to_assess: list[QueueEntry]
    #: Decisions left (a cluster counts once; containers never count).
    total: int
    second_reviews: list[AssessmentRecord]
    disputes: list[AssessmentRecord]


@dataclass(frozen=True)
class ItemView:
    media: MediaView
    provenance: str | None
    matches: list[BankMatch]
    bank_category: int | None
    assessment: AssessmentRecord | None
    opinions: list[OpinionRecord]
    #: Values the form starts with (current decision, else a bank's category, else defaults).
    form: dict[str, str]
    prefilled_from_bank: bool
    #: "assess" | "edit" | "second-opinion" | "resolve" | "read"
    mode: str
    mapped: Mapped | None
    has_image: bool
    next_sha: str | None = None
    notes: list[str] = field(default_factory=list)
    #: Its near-duplicate cluster (None: alone or not clustered).
    cluster: ClusterContext | None = None
    #: Video facts, sheet frames and playability (videos and animated images).
    video: vid.VideoFacts | None = None


@dataclass(frozen=True)
class History:
    """A media's decision history: its assessment, every opinion, and its audit entries."""

    assessment: AssessmentRecord | None
    opinions: list[OpinionRecord]
    #: Newest first.
    entries: list[AuditRecord]


@dataclass(frozen=True)
class AdminView:
    """What the administration page shows."""

    users: list[UserRecord]
    org_welfare: dict[str, Any]
    review_policy: review.ReviewPolicy
