"""The queue counted and ordered by the database, on SQLite and PostgreSQL, past the 5,000
undecided media where the old queue (a window of 5,000 by SHA-256, sorted in Python) went
wrong: every decision counted once, clusters as one row keyed by their representative, the
triage and priority orders equal to the pure rules' (:mod:`verisight.clustering.triage`,
:func:`verisight.assessment.review.order`), and ``/next`` offering what the policy puts first
wherever its SHA-256 falls."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from verisight.assessment import AssessmentService, QueueFilter
from verisight.assessment.clusters import triage_ranks
from verisight.assessment.dashboard import triage_progress
from verisight.assessment.review import order as review_order
from verisight.case import Case
from verisight.clustering import ClusterPlan, Member, NearDuplicateCluster
from verisight.clustering.triage import Tier, TriageItem, TriagePolicy, tier_of, triage_key
from verisight.store.assessments import QueueCandidate
from verisight.store.clusters import ClusterStore
from verisight.store.queue import QueueStore
from verisight.store.users import UserRecord, Users

BENCH = Path(__file__).resolve().parent.parent / "bench" / "queue_sql.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("queue_sql_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


qs = _bench()


@pytest.fixture
def case(tmp_path: Path, database_url: str) -> Case:
    return Case(tmp_path / "case", database_url, create=True)


def analyst(case: Case) -> UserRecord:
    user = Users(case.store.engine).by_name("seed-analyst")
    assert user is not None
    return user


def groups(truth: qs.Seeded) -> dict[str, list[str]]:  # type: ignore[name-defined]
    out: dict[str, list[str]] = {}
    for s in truth.media:
        if truth.assessable(s) and s not in truth.decided:
            out.setdefault(truth.cluster_of.get(s, (s, 1))[0], []).append(s)
    return out


def triage_item(truth: qs.Seeded, key: str, members: list[str]) -> TriageItem:  # type: ignore[name-defined]
    _, prov, conflict, _ = truth.media[key]
    size = truth.cluster_of.get(key, (key, 1))[1]
    return TriageItem(key, prov, conflict, any(m in truth.matched for m in members), size)


def expected_triage(truth: qs.Seeded, policy: TriagePolicy) -> list[str]:  # type: ignore[name-defined]
    rows = []
    for key, members in groups(truth).items():
        item = triage_item(truth, key, members)
        rows.append(((key in truth.decided, *triage_key(item, policy)), key))
    return [key for _, key in sorted(rows)]


def test_every_decision_is_counted_and_ordered_past_the_old_window(case: Case) -> None:
    truth = qs.seed(case, 9000, clustered=0.3)
    left = truth.decisions_left()
    assert left > 5000  # the old window
    service = AssessmentService(case)
    user = analyst(case)
    view = service.queue(user, QueueFilter())
    assert view.total == left
    policy = service.triage_policy()
    expected = expected_triage(truth, policy)
    rows, total = service.queued.page(triage_ranks(policy), limit=None)
    assert total == left
    assert [r.sha256 for r in rows] == expected
    assert [e.sha256 for e in view.to_assess] == expected[:50]
    # a cluster row: its size, waiting members, and whether only applying is left
    by_key = {r.sha256: r for r in rows}
    for key, members in groups(truth).items():
        r = by_key[key]
        assert r.undecided == len(members)
        assert r.size == truth.cluster_of.get(key, (key, 1))[1]
        assert r.awaiting_apply == (key in truth.decided)
        assert policy.order[r.rank] == tier_of(triage_item(truth, key, members))
    assert service.next_item(user, QueueFilter()) == expected[0]
    # pages
    page, total = service.queued.page(triage_ranks(policy), limit=7, offset=4000)
    assert [r.sha256 for r in page] == expected[4000:4007] and total == left


def test_next_offers_what_the_policy_puts_first_wherever_its_sha_falls(case: Case) -> None:
    truth = qs.seed(case, 7000, clustered=0.0)
    service = AssessmentService(case)
    service.users.set_org_setting(
        "triage", {"order": ["bank-match", "declared-ai", "no-ai-evidence",
                             "partial-or-conflicting"]}
    )  # fmt: skip
    policy = service.triage_policy()
    assert policy.order[0] == Tier.BANK_MATCH
    # no clusters yet: the priority order (review.order); with one, triage order
    waiting = [s for s in truth.media if truth.assessable(s) and s not in truth.decided]
    cands = [QueueCandidate(s, truth.media[s][0], truth.media[s][1], None, s in truth.matched,
                            truth.first_seen[s], truth.media[s][2]) for s in waiting]  # fmt: skip
    expected = [c.sha256 for c in review_order(cands)]
    user = analyst(case)
    view = service.queue(user, QueueFilter(), limit=None)
    assert [e.sha256 for e in view.to_assess] == expected and view.total == len(waiting)
    # one cluster of two: the queue now follows the triage policy
    a, b = sorted(waiting)[:2]
    cluster = NearDuplicateCluster(a, (Member(a, 0), Member(b, 3)))
    ClusterStore(case.store.engine).apply_plan(ClusterPlan((), (cluster,)), 31)
    truth.cluster_of.update({a: (a, 2), b: (a, 2)})
    expected = expected_triage(truth, policy)
    assert service.next_item(user, QueueFilter()) == expected[0]
    waiting_groups = groups(truth)
    tiers = [tier_of(triage_item(truth, k, waiting_groups[k])) for k in expected]
    assert tiers[0] == Tier.BANK_MATCH
    # the bank match with the highest SHA-256 (beyond any window by SHA-256) comes before
    # every media of the later tiers
    banked = [k for k, t in zip(expected, tiers, strict=True) if t == Tier.BANK_MATCH]
    highest = max(banked)
    assert highest > sorted(waiting)[5000]
    assert expected.index(highest) < tiers.index(Tier.DECLARED_AI)
    rows, _ = service.queued.page(triage_ranks(policy), limit=len(banked))
    assert highest in {r.sha256 for r in rows}


def test_filters_and_the_dashboard_count_what_the_rules_count(case: Case) -> None:
    truth = qs.seed(case, 3000, clustered=0.4)
    service = AssessmentService(case)
    user = analyst(case)
    for prov in ("ai-declared", "none", "camera-declared"):
        want = {
            truth.cluster_of.get(s, (s, 1))[0]
            for s in truth.media
            if truth.assessable(s) and s not in truth.decided
            and (truth.media[s][1] == prov or (prov == "none" and truth.media[s][1] is None))
        }  # fmt: skip
        assert service.queue(user, QueueFilter(provenance=prov)).total == len(want)
    matched = {truth.cluster_of.get(s, (s, 1))[0] for s in truth.matched
               if truth.assessable(s) and s not in truth.decided}  # fmt: skip
    assert service.queue(user, QueueFilter(bank="matched")).total == len(matched)
    left = Counter(tier_of(triage_item(truth, k, m)) for k, m in groups(truth).items())
    made = Counter(
        tier_of(TriageItem(s, truth.media[s][1], truth.media[s][2], s in truth.matched))
        for s in truth.decided
    )
    progress = {p.tier: (p.made, p.left) for p in triage_progress(service)}
    assert progress == {t.value: (made[t], left[t]) for t in Tier}
    assert sum(p[1] for p in progress.values()) == truth.decisions_left()


def test_an_empty_rank_table_is_refused(case: Case) -> None:
    with pytest.raises(ValueError):
        QueueStore(case.store.engine).page({})
