"""Triage order for the assessment queue: real children first (a pure sort key).

Each media falls in one **tier**, decided in this order of precedence:

* ``partial-or-conflicting`` — provenance ``ai-edited`` (partially synthetic), or
  conflicting provenance signals (``provenance_conflict``);
* ``bank-match`` — on a bank, awaiting the analyst's confirmation;
* ``declared-ai`` — provenance ``ai-declared``;
* ``no-ai-evidence`` — everything else: no AI evidence and not on any bank (provenance
  ``none``, ``camera-declared`` or not yet known): possible new real victims.

The **policy** orders the tiers; the default is::

    no-ai-evidence, partial-or-conflicting, bank-match, declared-ai

Within a tier, larger clusters come first (one decision covers more items), then SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from verisight.vocab import Verdict


class Tier(StrEnum):
    NO_AI_EVIDENCE = "no-ai-evidence"
    PARTIAL_OR_CONFLICTING = "partial-or-conflicting"
    BANK_MATCH = "bank-match"
    DECLARED_AI = "declared-ai"


DEFAULT_ORDER = (
    Tier.NO_AI_EVIDENCE,
    Tier.PARTIAL_OR_CONFLICTING,
    Tier.BANK_MATCH,
    Tier.DECLARED_AI,
)


@dataclass(frozen=True, slots=True)
class TriagePolicy:
    """The order of the tiers (every tier exactly once)."""

    order: tuple[Tier, ...] = DEFAULT_ORDER
    largest_clusters_first: bool = True

    def __post_init__(self) -> None:
        if sorted(self.order) != sorted(Tier):
            raise ValueError(f"the order must name every tier once: {[t.value for t in Tier]}")

    @classmethod
    def from_names(cls, names: Iterable[str]) -> TriagePolicy:
        """A policy from tier names, e.g. a setting ``"no-ai-evidence,bank-match,…"``."""
        try:
            return cls(tuple(Tier(n.strip()) for n in names))
        except ValueError as exc:
            raise ValueError(f"bad triage order: {exc}") from exc


@dataclass(frozen=True, slots=True)
class TriageItem:
    """What the queue knows about a media (or a cluster's representative)."""

    sha256: str
    provenance: str | None = None
    provenance_conflict: bool | None = None
    bank_matched: bool = False
    #: Members in its near-duplicate cluster (1 for a singleton).
    cluster_size: int = 1


def tier_of(item: TriageItem) -> Tier:
    if item.provenance == Verdict.AI_EDITED or item.provenance_conflict:
        return Tier.PARTIAL_OR_CONFLICTING
    if item.bank_matched:
        return Tier.BANK_MATCH
    if item.provenance == Verdict.AI_DECLARED:
        return Tier.DECLARED_AI
    return Tier.NO_AI_EVIDENCE


def triage_key(item: TriageItem, policy: TriagePolicy = TriagePolicy()) -> tuple[int, int, str]:
    """Sort key: tier rank, then cluster size (largest first by default), then SHA-256."""
    size = -item.cluster_size if policy.largest_clusters_first else item.cluster_size
    return (policy.order.index(tier_of(item)), size, item.sha256)


def triage_sort(
    items: Iterable[TriageItem], policy: TriagePolicy = TriagePolicy()
) -> list[TriageItem]:
    return sorted(items, key=lambda i: triage_key(i, policy))
