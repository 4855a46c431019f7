from __future__ import annotations

import pytest

from tests.clustering.helpers import sha
from verisight.clustering import (
    GenerationInfo,
    Member,
    NearDuplicateCluster,
    PropagationRefused,
    Tier,
    TriageItem,
    TriagePolicy,
    bank_prefill,
    group_series,
    normalise_prompt,
    plan_propagation,
    tier_of,
    triage_sort,
)
from verisight.clustering.propagation import may_receive

REP, M1, M2, M3 = sha("rep"), sha("m1"), sha("m2"), sha("m3")
CLUSTER = NearDuplicateCluster(REP, (Member(REP, 0), Member(M1, 4), Member(M2, 12), Member(M3, 30)))


def test_propagation_needs_the_representative_and_explicit_confirmation() -> None:
    with pytest.raises(PropagationRefused) as exc:
        plan_propagation(CLUSTER, source_sha256=M1, analyst="ana", confirmed=True)
    assert exc.value.code == "not-representative"
    with pytest.raises(PropagationRefused) as exc:
        plan_propagation(CLUSTER, source_sha256=REP, analyst="ana", confirmed=False)
    assert exc.value.code == "confirmation-required"
    plan = plan_propagation(CLUSTER, source_sha256=REP, analyst="ana", confirmed=True)
    assert [(p.media_sha256, p.from_sha256, p.by, p.distance) for p in plan.apply] == [
        (M1, REP, "ana", 4),
        (M2, REP, "ana", 12),
        (M3, REP, "ana", 30),
    ]


def test_propagation_never_overwrites_own_decisions_and_honours_exclusions() -> None:
    plan = plan_propagation(
        CLUSTER,
        source_sha256=REP,
        analyst="ana",
        confirmed=True,
        own_decisions={M1},
        exclude={M3},
    )
    assert [p.media_sha256 for p in plan.apply] == [M2]
    assert plan.kept == ((M1, "own-decision"), (M3, "excluded"))


def test_series_and_singletons_and_far_members_never_propagate() -> None:
    with pytest.raises(PropagationRefused) as exc:
        plan_propagation(CLUSTER, source_sha256=REP, analyst="a", confirmed=True, kind="series")
    assert exc.value.code == "not-near-duplicate"
    single = NearDuplicateCluster(REP, (Member(REP, 0),), "low-quality")
    with pytest.raises(PropagationRefused):
        plan_propagation(single, source_sha256=REP, analyst="a", confirmed=True)
    with pytest.raises(PropagationRefused) as exc:
        plan_propagation(CLUSTER, source_sha256=REP, analyst="a", confirmed=True, threshold=20)
    assert exc.value.code == "too-far"
    assert may_receive(M1, CLUSTER, REP, kind="near-duplicate")
    assert not may_receive(M1, CLUSTER, REP, kind="series")
    assert not may_receive(sha("other"), CLUSTER, REP, kind="near-duplicate")
    assert not may_receive(M2, CLUSTER, M1, kind="near-duplicate")


def test_bank_prefill_only_when_banks_agree() -> None:
    assert bank_prefill([1, 1, None]) == 1
    assert bank_prefill([1, 2]) is None
    assert bank_prefill([None]) is None


def test_series_by_model_and_seed_or_normalised_prompt() -> None:
    a, b, c, d, e, f = (sha(x) for x in "abcdef")
    series = group_series(
        [
            GenerationInfo(a, "sdxl", "42", "a red  Boat"),
            GenerationInfo(b, "sdxl", "42", None),
            GenerationInfo(c, "sd15", "42", None),  # same seed, other model: not linked
            GenerationInfo(d, None, None, "A RED boat"),
            GenerationInfo(e, "sdxl", None, ""),  # nothing to link on
            GenerationInfo(f, None, "7", None),
        ]
    )
    assert len(series) == 1
    assert series[0].members == tuple(sorted([a, b, d]))
    assert series[0].representative == min(a, b, d)
    assert series[0].basis == ("prompt", "seed")
    assert normalise_prompt("  Ｈello\tWORLD ") == "hello world"
    assert normalise_prompt("   ") is None


def test_triage_default_order_puts_possible_real_victims_first() -> None:
    items = [
        TriageItem(sha("declared"), provenance="ai-declared", cluster_size=50),
        TriageItem(sha("bank"), provenance="none", bank_matched=True),
        TriageItem(sha("edited"), provenance="ai-edited"),
        TriageItem(sha("conflict"), provenance="camera-declared", provenance_conflict=True),
        TriageItem(sha("camera-small"), provenance="camera-declared", cluster_size=2),
        TriageItem(sha("unknown-big"), provenance=None, cluster_size=9),
    ]
    order = [i.sha256 for i in triage_sort(items)]
    assert order[:2] == [sha("unknown-big"), sha("camera-small")]  # largest cluster first
    assert set(order[2:4]) == {sha("edited"), sha("conflict")}
    assert order[4:] == [sha("bank"), sha("declared")]
    assert tier_of(items[0]) is Tier.DECLARED_AI


def test_triage_order_is_configurable() -> None:
    policy = TriagePolicy.from_names(
        ["bank-match", "no-ai-evidence", "partial-or-conflicting", "declared-ai"]
    )
    items = [TriageItem(sha("plain")), TriageItem(sha("bank"), bank_matched=True)]
    assert [i.sha256 for i in triage_sort(items, policy)] == [sha("bank"), sha("plain")]
    with pytest.raises(ValueError):
        TriagePolicy.from_names(["bank-match"])
    with pytest.raises(ValueError):
        TriagePolicy.from_names(["nonsense"])
