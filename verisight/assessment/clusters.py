"""Decisions per near-duplicate cluster, for the assessment service: what the item page shows
of a media's cluster, applying a representative's decision to its members, and the triage
order of the queue.

The rules are :mod:`verisight.clustering.propagation` and
:mod:`verisight.clustering.triage`; the SQL
is in :mod:`verisight.store.clusters` and :mod:`verisight.store.assessments`. Role checks stay in
:class:`verisight.assessment.AssessmentService`, which calls this.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Set
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass

from sqlalchemy import Connection

from verisight.clustering.crops import CROP
from verisight.clustering.near_duplicates import DEFAULT_THRESHOLD
from verisight.clustering.propagation import (
    PropagationPlan,
    PropagationRefused,
    plan_propagation,
    require_settled,
)
from verisight.clustering.triage import Tier, TriageItem, TriagePolicy, tier_of
from verisight.clustering.videos import VPDQ_BASIS
from verisight.errors import UsageError
from verisight.store.assessments import Assessments, QueueCandidate, StaleVersion
from verisight.store.audit import AuditLog
from verisight.store.clusters import ClusterStore, ClusterView, MemberFacts, Placement
from verisight.store.queue import DecisionRow, RankTable
from verisight.store.users import UserRecord
from verisight.vocab import Stage, Status, Verdict

#: The opinion stage (and audit ``stage``) of a decision received from a representative.
PROPAGATED = Stage.PROPAGATED


class PropagationNotAllowed(UsageError):
    """A propagation the rules refuse; ``code`` is the rule's (see ``PropagationRefused``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MemberView:
    sha256: str
    distance: int
    #: "none" (no decision yet) | "own" (first-hand or override) | "propagated"
    decision: str
    has_image: bool
    #: "crop" when it matched as a crop of (or containing) the representative.
    match: str | None = None
    #: Its decision was propagated from an earlier decision of the representative, which
    #: has changed since: applying again brings it up to date.
    stale: bool = False


@dataclass(frozen=True)
class ClusterContext:
    """A media's near-duplicate cluster as the item page shows it."""

    cluster_id: int
    representative: str
    is_representative: bool
    size: int
    threshold: int
    #: The other members (representative's page only), nearest first.
    members: tuple[MemberView, ...]
    #: Why the representative's decision cannot be applied now (None: it can).
    blocked: str | None
    #: This media's PDQ distance to the representative.
    distance: int
    #: This media's current decision came from the representative.
    propagated: bool
    #: A cluster of videos (vPDQ): distances are 100 − the smaller share of frames matched.
    video: bool = False
    #: How this media matched the representative when not by whole-image PDQ ("crop").
    match: str | None = None
    #: This media's propagated decision differs from the representative's current one
    #: (the representative was assessed again after propagating).
    stale: bool = False


@dataclass(frozen=True)
class PropagationResult:
    source: str
    cluster_id: int
    #: (member, distance) that received the decision.
    applied: tuple[tuple[str, int], ...]
    #: (member, why) left alone: "own-decision", "excluded" or "conflict".
    kept: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Triaged:
    """One decision left: a singleton, or a whole near-duplicate cluster (one row)."""

    candidate: QueueCandidate
    tier: Tier
    placement: Placement | None
    #: The media the row opens: the cluster's representative (or the singleton itself).
    sha256: str = ""
    #: Members of the cluster still without a decision (the representative included).
    undecided: int = 1
    #: The representative is decided; what is left is applying it to the members.
    awaiting_apply: bool = False
    #: The variants the cluster holds, e.g. "JPEG 640×480 ×2 · PNG 320×240 · crop ×1".
    variants: str = ""

    @property
    def is_member(self) -> bool:
        """In a cluster of several without being its representative."""
        p = self.placement
        return p is not None and p.representative != self.candidate.sha256


class ClusterDecisions:
    def __init__(
        self,
        assessments: Assessments,
        audit: AuditLog,
        clusters: ClusterStore,
        has_image: Callable[[str], bool],
        transaction: Callable[[], AbstractContextManager[Connection]],
    ) -> None:
        self.transaction = transaction
        self.assessments = assessments
        self.audit = audit
        self.clusters = clusters
        self.has_image = has_image

    # the item page
    def context(self, sha256: str) -> ClusterContext | None:
        """The media's near-duplicate cluster, or None when it is alone or not clustered."""
        c = self.clusters.near_duplicate_of(sha256)
        if c is None or len(c.members) < 2:
            return None
        shas = [m.sha256 for m in c.members]
        stages = self.assessments.latest_stages(shas)
        own = next(m for m in c.members if m.sha256 == sha256)
        distance = own.distance or 0
        is_rep = sha256 == c.representative
        members: tuple[MemberView, ...] = ()
        blocked: str | None = None
        looked_at = shas if is_rep else [sha256]
        stale = self._stale(c.representative, [s for s in looked_at if stages.get(s) == PROPAGATED])
        if is_rep:
            members = tuple(
                MemberView(m.sha256, m.distance or 0, _state(stages.get(m.sha256)),
                           self.has_image(m.sha256), m.match, m.sha256 in stale)
                for m in c.members
                if m.sha256 != c.representative
            )  # fmt: skip
            a = self.assessments.get(sha256)
            try:
                require_settled(a.status if a else None)
            except PropagationRefused as exc:
                blocked = str(exc)
        return ClusterContext(
            c.id, c.representative, is_rep, len(c.members), c.threshold or DEFAULT_THRESHOLD,
            members, blocked, distance, stages.get(sha256) == PROPAGATED,
            c.basis == VPDQ_BASIS, own.match, sha256 in stale,
        )  # fmt: skip

    def _stale(self, representative: str, propagated: list[str]) -> set[str]:
        """Of the ``propagated`` members, those whose decision is no longer the
        representative's (it was assessed again since, or has none now)."""
        if not propagated:
            return set()
        source = self.assessments.get(representative)
        out = set()
        for sha in propagated:
            a = self.assessments.get(sha)
            if a is not None and (source is None or a.decision != source.decision):
                out.add(sha)
        return out

    # propagation
    def plan(
        self, analyst: str, source: str, selected: Set[str], *, confirmed: bool
    ) -> tuple[ClusterView, PropagationPlan]:
        """What applying ``source``'s decision to the ``selected`` members would do; raises
        :class:`PropagationNotAllowed` when a rule forbids it."""
        c = self.clusters.near_duplicate_of(source)
        if c is None:
            raise PropagationNotAllowed("not-clustered", "this media is in no cluster yet")
        shas = {m.sha256 for m in c.members}
        outside = set(selected) - shas
        try:
            if outside:
                raise PropagationRefused(
                    "not-in-cluster",
                    f"{len(outside)} selected media are not in this media's cluster",
                )
            a = self.assessments.get(source)
            require_settled(a.status if a else None)
            stages = self.assessments.latest_stages(sorted(shas - {source}))
            own = {s for s, stage in stages.items() if stage != PROPAGATED}
            plan = plan_propagation(
                c.as_near_duplicate(), source_sha256=source, analyst=analyst,
                confirmed=confirmed, own_decisions=own, exclude=shas - set(selected),
                threshold=c.threshold or DEFAULT_THRESHOLD,
            )  # fmt: skip
        except PropagationRefused as exc:
            raise PropagationNotAllowed(exc.code, str(exc)) from exc
        return c, plan

    def apply(self, user: UserRecord, source: str, selected: Set[str]) -> PropagationResult:
        """Give each selected member without a decision of its own ``source``'s decision
        (stage "propagated"), with one audit entry per member, each member's decision and
        its audit entry in one transaction."""
        c, plan = self.plan(user.name, source, selected, confirmed=True)
        a = self.assessments.get(source)
        assert a is not None  # require_settled passed
        applied: list[tuple[str, int]] = []
        kept = list(plan.kept)
        for p in plan.apply:
            current = self.assessments.get(p.media_sha256)
            version = current.version if current else 0
            bank = [m.category for m in self.assessments.bank_matches(p.media_sha256)]
            detail = asdict(a.decision) | {
                "stage": PROPAGATED, "status": Status.FINAL, "from": p.from_sha256,
                "distance": p.distance, "cluster": c.id, "version": version + 1,
            } | ({"match": p.match} if p.match else {})  # fmt: skip
            if current is not None:  # an earlier propagated decision brought up to date
                detail |= {"replaces": PROPAGATED, "previous": asdict(current.decision)}
            try:
                with self.transaction() as conn:  # this member's decision and its audit entry
                    self.assessments.bind(conn).save(
                        p.media_sha256,
                        a.decision,
                        user_id=user.id,
                        stage=PROPAGATED,
                        expected_version=version,
                        status=Status.FINAL,
                        review_reason=None,
                        bank_category=next((b for b in bank if b is not None), None),
                        analyst_id=user.id,
                    )
                    self.audit.bind(conn).append(p.by, "propagate", p.media_sha256, detail)
            except StaleVersion:
                kept.append((p.media_sha256, "conflict"))
                continue
            applied.append((p.media_sha256, p.distance))
        return PropagationResult(source, c.id, tuple(applied), tuple(kept))

    # the queue
    def is_clustered(self) -> bool:
        """Whether the case has near-duplicate clusters (the queue then follows triage)."""
        return self.clusters.count_clusters("near-duplicate") > 0

    def triage(self, rows: list[DecisionRow], policy: TriagePolicy) -> list[Triaged]:
        """The queue's rows (already in triage order, from
        :meth:`verisight.store.queue.QueueStore.decisions` with :func:`triage_ranks`) with
        their tiers and the variants each cluster holds."""
        facts = self.clusters.member_facts(
            sorted({r.cluster_id for r in rows if r.cluster_id is not None and r.size > 1})
        )
        out = []
        for r in rows:
            head = QueueCandidate(r.sha256, r.kind, r.provenance, r.bank_category, r.matched,
                                  r.first_seen, r.provenance_conflict)  # fmt: skip
            cid = r.cluster_id
            out.append(
                Triaged(head, policy.order[r.rank],
                        Placement(cid, r.sha256, r.size) if cid is not None else None,
                        r.sha256, r.undecided, r.awaiting_apply,
                        describe_variants(facts.get(cid, [])) if cid is not None else "")
            )  # fmt: skip
        return out


def triage_ranks(policy: TriagePolicy) -> RankTable:
    """The triage policy as the store's rank table: each combination of what the database
    knows of a row (provenance verdict or any other, conflict, on a bank) → the index of its
    tier in the policy's order (:func:`verisight.clustering.triage.tier_of`)."""
    return {
        (p, c, m): policy.order.index(tier_of(TriageItem("", p, c, m)))
        for p in (*Verdict, None)
        for c in (False, True)
        for m in (False, True)
    }


def describe_variants(members: list[MemberFacts]) -> str:
    """``"JPEG 640×480 ×2 · PNG 320×240 · crop ×1"``: the copies a cluster holds."""
    if len(members) < 2:
        return ""
    counts: Counter[str] = Counter()
    for m in members:
        size = f" {m.width}×{m.height}" if m.width and m.height else ""
        counts[f"{(m.format or '?').upper()}{size}"] += 1
    crops = sum(1 for m in members if m.match == CROP)
    parts = [k + (f" ×{n}" if n > 1 else "") for k, n in counts.most_common()]
    return " · ".join(parts + ([f"crop ×{crops}"] if crops else []))


def _state(stage: str | None) -> str:
    if stage is None:
        return "none"
    return "propagated" if stage == PROPAGATED else "own"
