from __future__ import annotations

import random

import numpy as np
import pytest

from tests.clustering.helpers import distance, flip_bits, hexof, noisy, random_hash, sha
from verisight.clustering import (
    Candidate,
    ClusterParams,
    Representative,
    cluster_candidates,
    plan_update,
)
from verisight.clustering.near_duplicates import (
    Join,
    connected_components,
    hashes_from_hex,
    neighbour_graph,
)


def chain(rng: np.random.Generator, links: int, step: int = 20) -> list[str]:
    """Hashes where each is ``step`` bits from the previous (disjoint bits each step)."""
    h = random_hash(rng)
    out = [hexof(h)]
    bits = iter(rng.permutation(256).tolist())
    for _ in range(links):
        h = flip_bits(h, [next(bits) for _ in range(step)])
        out.append(hexof(h))
    return out


def test_does_not_chain_through_intermediate_neighbours() -> None:
    rng = np.random.default_rng(1)
    hexes = chain(rng, 4)  # A-B-C-D-E, 20 bits per step: A and E are 80 apart
    cands = [Candidate(sha(f"m{i}"), h, 100) for i, h in enumerate(hexes)]
    by_sha = {c.sha256: c.pdq for c in cands}

    graph = neighbour_graph(hashes_from_hex(hexes), 31)
    assert len(set(connected_components(graph).tolist())) == 1  # single linkage chains all

    clusters = cluster_candidates(cands)
    assert len(clusters) == 2
    for c in clusters:
        rep = by_sha[c.representative]
        assert c.members[0].sha256 == c.representative
        for m in c.members:
            assert m.distance == distance(rep or "", by_sha[m.sha256] or "") <= 31
    together = {frozenset(m.sha256 for m in c.members) for c in clusters}
    assert not any(cands[0].sha256 in g and cands[4].sha256 in g for g in together)


def test_every_media_in_exactly_one_cluster_within_threshold_of_its_representative() -> None:
    rng = np.random.default_rng(7)
    cands: list[Candidate] = []
    truth: dict[str, int] = {}
    for g in range(60):
        base = random_hash(rng)
        for v in range(int(rng.integers(1, 8))):
            s = sha(f"g{g}v{v}")
            cands.append(Candidate(s, hexof(noisy(base, rng, int(rng.integers(0, 14)))), 90))
            truth[s] = g
    clusters = cluster_candidates(cands)
    seen = [m.sha256 for c in clusters for m in c.members]
    assert sorted(seen) == sorted(c.sha256 for c in cands)
    pdq = {c.sha256: c.pdq or "" for c in cands}
    for c in clusters:
        assert len({truth[m.sha256] for m in c.members}) == 1  # pure
        for m in c.members:
            assert distance(pdq[c.representative], pdq[m.sha256]) == m.distance <= 31
    assert len(clusters) == 60  # noise of ≤ 13 bits: ≤ 26 apart, each group whole


def test_result_does_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(3)
    hexes = chain(rng, 6) + [hexof(random_hash(rng)) for _ in range(5)]
    cands = [Candidate(sha(f"m{i}"), h, 80 + i) for i, h in enumerate(hexes)]
    shuffled = cands[:]
    random.Random(5).shuffle(shuffled)
    assert cluster_candidates(cands) == cluster_candidates(shuffled)


def test_representative_is_the_best_connected_then_highest_quality() -> None:
    rng = np.random.default_rng(4)
    base = random_hash(rng)
    a = Candidate(sha("a"), hexof(base), 60)
    b = Candidate(sha("b"), hexof(flip_bits(base, [1, 2, 3])), 100)
    (cluster,) = cluster_candidates([a, b])
    assert cluster.representative == b.sha256
    assert [m.distance for m in cluster.members] == [0, 3]


def test_identical_hashes_cluster_and_low_quality_or_missing_stay_singletons() -> None:
    rng = np.random.default_rng(5)
    h = hexof(random_hash(rng))
    cands = [
        Candidate(sha("x"), h, 90),
        Candidate(sha("y"), h, 90),
        Candidate(sha("low"), h, 49),
        Candidate(sha("none"), None, None),
    ]
    clusters = {c.representative: c for c in cluster_candidates(cands)}
    assert len(clusters) == 3
    assert clusters[sha("low")].reason == "low-quality"
    assert clusters[sha("none")].reason == "no-pdq"
    pair = next(c for c in clusters.values() if c.reason is None)
    assert {m.sha256 for m in pair.members} == {sha("x"), sha("y")}
    # the quality floor is configurable
    lower = cluster_candidates(cands, ClusterParams(min_quality=40))
    assert sorted(c.size for c in lower) == [1, 3]


def test_incremental_joins_nearest_existing_representative_and_never_merges() -> None:
    rng = np.random.default_rng(6)
    bits = rng.permutation(256).tolist()
    r1 = random_hash(rng)
    r2 = flip_bits(r1, bits[:40])  # two existing clusters, 40 apart
    reps = [Representative(11, sha("r1"), hexof(r1)), Representative(12, sha("r2"), hexof(r2))]
    bridge = flip_bits(r1, bits[:22])  # 22 from r1, 18 from r2: joins 12 only
    far = random_hash(rng)
    plan = plan_update(
        [
            Candidate(sha("bridge"), hexof(bridge), 100),
            Candidate(sha("far"), hexof(far), 100),
            Candidate(sha("far2"), hexof(flip_bits(far, [0])), 100),
        ],
        reps,
    )
    assert [(j.cluster_id, j.sha256, j.distance) for j in plan.joins] == [(12, sha("bridge"), 18)]
    assert [sorted(m.sha256 for m in c.members) for c in plan.new_clusters] == [
        sorted([sha("far"), sha("far2")])
    ]


def test_threshold_is_respected() -> None:
    rng = np.random.default_rng(8)
    base = random_hash(rng)
    a = Candidate(sha("a"), hexof(base), 100)
    b = Candidate(sha("b"), hexof(flip_bits(base, list(range(10)))), 100)
    assert len(cluster_candidates([a, b], ClusterParams(threshold=10))) == 1
    assert len(cluster_candidates([a, b], ClusterParams(threshold=9))) == 2
    with pytest.raises(ValueError):
        ClusterParams(threshold=-1)
    with pytest.raises(ValueError):
        ClusterParams(min_quality=101)


def test_empty_input() -> None:
    assert cluster_candidates([]) == []
    assert plan_update([], []).joins == ()


def test_mirrored_copies_cluster_through_dihedral_variants() -> None:
    rng = np.random.default_rng(9)
    picture, mirrored = random_hash(rng), random_hash(rng)  # PDQ of a mirror is unrelated
    plain = Candidate(sha("p"), hexof(picture), 100, (hexof(flip_bits(mirrored, [1, 2])),))
    flipped = Candidate(sha("f"), hexof(mirrored), 100)
    (cluster,) = cluster_candidates([plain, flipped])
    assert sorted(m.distance for m in cluster.members) == [0, 2]
    assert len(cluster_candidates([Candidate(sha("p"), hexof(picture), 100), flipped])) == 2
    existing = [Representative(5, sha("f"), hexof(mirrored))]
    assert plan_update([plain], existing).joins[0].cluster_id == 5


def test_trimmed_hashes_pair_with_originals_and_trimmed_hashes() -> None:
    rng = np.random.default_rng(10)
    content, framed, other = random_hash(rng), random_hash(rng), random_hash(rng)
    plain = Candidate(sha("plain"), hexof(content), 100)
    # a bordered copy: its own hash is unrelated, the hash inside its frame is the picture's
    bordered = Candidate(sha("b"), hexof(framed), 100, trimmed=hexof(flip_bits(content, [1, 2])))
    # another bordered copy whose trimmed hash is near the first copy's trimmed hash only
    again = Candidate(sha("c"), hexof(other), 90, trimmed=hexof(flip_bits(content, [1, 2, 3])))
    (cluster,) = cluster_candidates([plain, bordered, again])
    assert sorted(m.distance for m in cluster.members) in ([0, 1, 2], [0, 2, 3])
    assert len(cluster_candidates([plain, Candidate(sha("b"), hexof(framed), 100)])) == 2
    # joining: a media's original near a representative's trimmed hash, and the reverse
    reps = [Representative(5, sha("b"), hexof(framed), trimmed=bordered.trimmed)]
    assert plan_update([plain], reps).joins == (Join(5, sha("plain"), 2),)
    reps = [Representative(6, sha("plain"), hexof(content))]
    assert plan_update([bordered], reps).joins == (Join(6, sha("b"), 2),)
    far = Candidate(sha("far"), hexof(other), 100, trimmed=hexof(random_hash(rng)))
    assert plan_update([far], reps).joins == ()
