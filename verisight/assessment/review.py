"""Second-review (quality assurance) rules and queue order, as data and pure functions.

Second review: every assessment whose VICS mapping disagrees with a bank's category goes to a
second analyst, and so does a configurable share of the others (a deterministic sample keyed
on the media, so re-running the rule gives the same answer). The second opinion agrees when the
legal outcome and the severity category are the same; otherwise the media stays ``disputed``
until a reviewer resolves it. Every opinion is kept.

Queue order: real victims first. Media without AI evidence, and with camera evidence, come
before AI-declared ones; media no bank knows come before known material.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from verisight.assessment.mappings import vics_category
from verisight.store.assessments import Decision, QueueCandidate
from verisight.vocab import Verdict

#: Priority by ``media.provenance`` verdict (None: no verdict recorded yet).
PROVENANCE_PRIORITY: dict[str | None, int] = {
    Verdict.CAMERA_DECLARED: 40,
    Verdict.NONE: 30,
    None: 30,
    Verdict.AI_EDITED: 25,  # may carry a real child's likeness
    Verdict.AI_DECLARED: 10,
}
UNMATCHED_BONUS = 5
#: Every :class:`~verisight.vocab.Verdict`, in the order the queue filter lists them.
PROVENANCE_VERDICTS = (
    Verdict.CAMERA_DECLARED,
    Verdict.NONE,
    Verdict.AI_EDITED,
    Verdict.AI_DECLARED,
)


@dataclass(frozen=True)
class ReviewPolicy:
    #: Share of assessments (0..1) sent to a second analyst.
    sample_rate: float = 0.1

    @classmethod
    def from_setting(cls, value: dict[str, Any]) -> ReviewPolicy:
        try:
            rate = float(value.get("sample_rate", cls.sample_rate))
        except (TypeError, ValueError):
            rate = cls.sample_rate
        return cls(min(1.0, max(0.0, rate)))


def sampled(sha256: str, rate: float) -> bool:
    if rate <= 0:
        return False
    h = int(hashlib.sha256(f"qa:{sha256}".encode()).hexdigest()[:8], 16)
    return h / 0x1_0000_0000 < rate


def review_reason(
    sha256: str, decision: Decision, bank_category: int | None, policy: ReviewPolicy
) -> str | None:
    """Why this first assessment needs a second analyst, or None."""
    if bank_category is not None and vics_category(decision.outcome) != bank_category:
        return "bank-disagreement"
    if sampled(sha256, policy.sample_rate):
        return "sample"
    return None


def agrees(a: Decision, b: Decision) -> bool:
    return (a.outcome, a.category) == (b.outcome, b.category)


def priority(c: QueueCandidate) -> int:
    p = PROVENANCE_PRIORITY.get(c.provenance, PROVENANCE_PRIORITY[None])
    return p + (0 if c.matched else UNMATCHED_BONUS)


def order(cands: list[QueueCandidate]) -> list[QueueCandidate]:
    """Highest priority first; ties in order of first sighting, then SHA-256 (the queue's
    order before a case has clusters; the database sorts by :func:`priority_ranks`)."""
    return sorted(cands, key=lambda c: (-priority(c), c.first_seen, c.sha256))


def priority_ranks() -> dict[tuple[str | None, bool, bool], int]:
    """:func:`priority` as the store's rank table (lower ranks first): each provenance verdict
    (None: any other) × conflict × on a bank → minus its priority."""
    return {
        (p, c, m): -priority(QueueCandidate("", "image", p, None, m, "", c))
        for p in (*Verdict, None)
        for c in (False, True)
        for m in (False, True)
    }
