"""Decision propagation rules: who may receive a representative's decision (pure functions).

The assessment app calls these; they hold the rules, the app holds the UI and the audit log.

1. Only a **near-duplicate** cluster propagates. A generation series never does.
2. The decision must be the one taken on **the cluster's own representative**; a member gets
   a decision only from the representative of the cluster it belongs to.
3. Propagation needs an **explicit confirmation** by the analyst (``confirmed=True``).
4. A target must lie within the threshold of the representative (a re-check of the
   invariant clustering keeps; a member that fails it is refused, never silently included).
5. A member that already has its **own** decision (first-hand, or an override) is never
   overwritten; the analyst may exclude members; anything else gets a
   :class:`Propagated` record, to be written to the audit log as propagated (who, from
   which media, at what distance).

6. Only a **settled** decision propagates (:func:`require_settled`): one awaiting a second
   review or disputed would spread before it is known.

Bank-matched media pre-fill their category for confirmation: :func:`bank_prefill`.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from verisight import vocab
from verisight.clustering.near_duplicates import DEFAULT_THRESHOLD, NearDuplicateCluster


class PropagationRefused(ValueError):
    """A propagation the rules forbid; ``code`` says which rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Propagated:
    """One member receiving the representative's decision (an audit-log entry to write)."""

    media_sha256: str
    from_sha256: str
    by: str
    distance: int
    #: "crop" when the member matched as a crop of (or containing) the representative.
    match: str | None = None


@dataclass(frozen=True, slots=True)
class PropagationPlan:
    apply: tuple[Propagated, ...]
    #: Members left alone, with why: "own-decision" or "excluded".
    kept: tuple[tuple[str, str], ...]


def plan_propagation(
    cluster: NearDuplicateCluster,
    *,
    source_sha256: str,
    analyst: str,
    confirmed: bool,
    kind: str = "near-duplicate",
    own_decisions: Set[str] = frozenset(),
    exclude: Set[str] = frozenset(),
    threshold: int = DEFAULT_THRESHOLD,
) -> PropagationPlan:
    """Which members get the decision taken on ``source_sha256``; raises
    :class:`PropagationRefused` when a rule forbids it.

    ``own_decisions``: members that already carry a first-hand decision or an override.
    """
    if kind != "near-duplicate":
        raise PropagationRefused("not-near-duplicate", f"a {kind} cluster never propagates")
    if cluster.reason is not None:
        raise PropagationRefused("singleton", f"a {cluster.reason} singleton has no members")
    if source_sha256 != cluster.representative:
        raise PropagationRefused(
            "not-representative",
            f"{source_sha256[:12]} is not the representative of this cluster "
            f"({cluster.representative[:12]})",
        )
    if not confirmed:
        raise PropagationRefused(
            "confirmation-required", "applying a decision to members needs explicit confirmation"
        )
    apply: list[Propagated] = []
    kept: list[tuple[str, str]] = []
    for m in cluster.members:
        if m.sha256 == cluster.representative:
            continue
        if m.distance > threshold:
            raise PropagationRefused(
                "too-far", f"{m.sha256[:12]} is {m.distance} from the representative"
            )
        if m.sha256 in own_decisions:
            kept.append((m.sha256, "own-decision"))
        elif m.sha256 in exclude:
            kept.append((m.sha256, "excluded"))
        else:
            apply.append(Propagated(m.sha256, cluster.representative, analyst, m.distance, m.match))
    return PropagationPlan(tuple(apply), tuple(kept))


#: Assessment statuses whose decision may propagate (:data:`verisight.vocab.SETTLED`).
SETTLED = vocab.SETTLED


def require_settled(status: str | None) -> None:
    """Raise :class:`PropagationRefused` unless the representative's decision is settled."""
    if status is None:
        raise PropagationRefused("no-decision", "assess the representative first")
    if status not in SETTLED:
        raise PropagationRefused(
            "not-settled",
            f"the representative's decision is {status}: it propagates once it is settled",
        )


def may_receive(
    member_sha256: str, cluster: NearDuplicateCluster, source_sha256: str, *, kind: str
) -> bool:
    """Whether ``member_sha256`` may ever get the decision taken on ``source_sha256``."""
    return (
        kind == "near-duplicate"
        and cluster.reason is None
        and source_sha256 == cluster.representative
        and member_sha256 != source_sha256
        and any(m.sha256 == member_sha256 for m in cluster.members)
    )


def bank_prefill(categories: Iterable[int | None]) -> int | None:
    """The category to pre-fill from a media's bank matches, for the analyst to confirm:
    the banks' category when they agree, ``None`` when none has one or they disagree."""
    found = {c for c in categories if c is not None}
    return found.pop() if len(found) == 1 else None
