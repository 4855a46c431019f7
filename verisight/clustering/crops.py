"""Crops: recognise a media that shows part of another (or the whole of a part of it).

PDQ hashes a whole frame, so cropping 10 % off an image moves its hash 30–130 bits, far past
the threshold: a crop would be a new decision although it is the same picture. This pass
runs after the PDQ clustering (:func:`verisight.clustering.near_duplicates.plan_update`) and
gives each media that is still alone a second chance, **without weakening the rule that
makes propagation sound**: a media joins a cluster only when its PDQ lies within the
threshold of the PDQ of the *matching window* of the cluster's representative.

How, for each new cluster's representative ``b`` (after the PDQ pass):

1. **Candidates.** Every image keeps a 64×64 luma grid and a layout key
   (:mod:`verisight.analysis.luma`). The :data:`NEIGHBOURS` representatives whose 8×8 centre
   thumbnails are most similar to ``b``'s (cosine of the zero-mean thumbnails, at least
   :data:`MIN_KEY_SIMILARITY`) are candidates: exact inner-product search with FAISS, or
   an HNSW graph above :data:`EXACT_SEARCH_LIMIT` query×target pairs.
2. **Screening**, from the keys alone: the column and row mean profiles stored in the keys,
   halved to 32 samples, must correlate at least ``MIN_COARSE_CORRELATION`` (0.85) with
   some coarse window of the other's (sizes 78–100 % of the axis every 5.5 %, starts every
   2.5 %), on both axes, in one direction: the larger one upright or, for a candidate found
   by the mirrored thumbnail, mirrored left to right.
3. **Alignment**, on the grids of the pairs left: the coarse best window of each axis is
   refined in 1 % steps (±3 steps of start, ±4 of size) on the full profiles, in every
   direction screening left, and a refined correlation below ``MIN_PROFILE_CORRELATION``
   (0.9) on either axis ends it.
4. **Confirmation.** That window of the outer grid is resampled to 64×64 and PDQ-hashed
   (Meta's own computation: at 64×64 PDQ's filter and decimation are the identity, and the
   float32 DCT, median and quality metric are the reference's, bit for bit), and so is the
   inner grid; they match when the hashes are within the cluster threshold and both have a
   quality of at least ``MIN_GRID_QUALITY`` (10). The member's distance is that PDQ
   distance, recorded with the match ``"crop"``.

Steps 2–4 are :mod:`verisight.clustering.alignment` (where those constants live): compiled
loops over pairs (:mod:`verisight.clustering._crop_kernels`, numba, without the GIL) on one
thread per core, about 10 µs a pair to screen and 15–20 µs of CPU a direction to locate the
window, 40 µs to confirm one, against 0.5–0.9 ms a pair for the same arithmetic batched in
NumPy before (``bench/cluster_scale.py`` prints the stage timings).

Measured on generated scenes cropped by 2–10 % per axis: 99 % of true crops align, at PDQ
distances 2–30 (median 10), while the best alignment of a *different* picture stays at 96
bits or more — the threshold of 31 sits far from both.

Low-quality media (PDQ quality below the cluster minimum: smooth, low-contrast pictures whose
whole-image hash is too weak to trust alone) take part as well, under the same check, but
only to *join* a cluster with a representative of good quality: they never lead one, so two
weak hashes are never grouped with each other. Blank and flat media cannot pass: their
profiles do not correlate.

Who joins whom (:func:`_resolve`): whole new clusters move, greedily: existing clusters lead;
new clusters are taken largest first (then the one containing most of its crop neighbours,
then SHA-256) and join the nearest leading neighbour only when **every** member aligns with
that leader's representative within the threshold, else lead themselves. Existing clusters
are never merged and clustered media never move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from verisight.analysis.luma import KEY_BYTES, KEY_SIDE
from verisight.clustering.alignment import MIRRORED, UPRIGHT, GridBatch, crop_match, screen
from verisight.clustering.near_duplicates import (
    LOW_QUALITY,
    Candidate,
    ClusterParams,
    ClusterPlan,
    Join,
    Member,
    NearDuplicateCluster,
    Representative,
)

__all__ = ["CROP", "NEIGHBOURS", "crop_match", "plan_crops"]

log = logging.getLogger(__name__)

#: The match recorded for a member that joined as a crop.
CROP = "crop"
#: Candidates examined per media alone.
NEIGHBOURS = 12
#: Least cosine similarity of two layout keys for the pair to be examined.
MIN_KEY_SIMILARITY = 0.7
#: Above this many (queries × representatives), candidates come from an HNSW graph.
EXACT_SEARCH_LIMIT = 2_000_000_000
#: Pairs examined per batch of grids fetched from the store.
_PAIR_BATCH = 4096

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
GridFetcher = Callable[[Sequence[str]], Mapping[str, bytes]]
R = TypeVar("R")
#: Pairs screened per task when the crop pass runs on a cluster.
SCREEN_CHUNK = 65_536


class Runner(Protocol):
    """Where the crop pass's screening and alignment run: here (``None``) or on a cluster
    (:class:`verisight.distributed.DaskExecutor`). Results do not depend on it."""

    def share(self, value: Any) -> Any:
        """``value`` made available to every task (returns what to pass in its place)."""
        ...

    def map_ordered(self, fn: Callable[..., R], calls: Iterable[tuple[Any, ...]]) -> Iterator[R]:
        """``fn(*args)`` for each ``args`` in ``calls``, results in order."""
        ...


# ------------------------------------------------------------------ candidates


def _unit_keys(keys: U8) -> F32:
    """The centre thumbnails of ``(n, KEY_BYTES)`` layout keys as zero-mean unit vectors (a
    flat thumbnail stays zero: never similar)."""
    m = keys[:, : KEY_SIDE * KEY_SIDE].astype(np.float32)
    m -= m.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out = np.zeros_like(m)
    np.divide(m, norms, out=out, where=norms > 1e-3)
    return out


def _nearest_keys(queries: F32, targets: F32, k: int) -> tuple[F32, npt.NDArray[np.int64]]:
    """``k`` most similar targets per query (similarities, target rows; -1 for none)."""
    import faiss

    k = min(k, int(targets.shape[0]))
    index: Any
    if queries.shape[0] * targets.shape[0] <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(targets.shape[1])
    else:
        index = faiss.IndexHNSWFlat(targets.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(64, 4 * k)
    index.add(np.ascontiguousarray(targets))
    sims, rows = index.search(np.ascontiguousarray(queries), k)
    return sims.astype(np.float32), rows.astype(np.int64)


# ------------------------------------------------------------------ the plan


@dataclass(slots=True)
class _Target:
    sha256: str
    key: bytes
    cluster_id: int | None  # an existing cluster
    new_index: int | None  # or a cluster of this plan


def plan_crops(
    plan: ClusterPlan,
    new: Sequence[Candidate],
    existing: Sequence[Representative],
    grids: GridFetcher,
    params: ClusterParams | None = None,
    runner: Runner | None = None,
) -> ClusterPlan:
    """``plan`` (from :func:`plan_update` over ``new`` and ``existing``) with whole new
    clusters moved into a cluster whose representative their members are crops of, or that
    is a crop of them (module docstring). ``grids`` returns stored luma grids by SHA-256.
    ``runner``: run screening and alignment there (e.g. on a Dask cluster)."""
    params = params or ClusterParams()
    keys = {c.sha256: c.key for c in new if c.key is not None and len(c.key) == KEY_BYTES}
    movable = [
        i
        for i, c in enumerate(plan.new_clusters)
        if c.reason in (None, LOW_QUALITY) and c.representative in keys
    ]
    if not movable:
        return plan
    targets = [
        _Target(r.sha256, r.key, r.cluster_id, None)
        for r in existing
        if r.key is not None and len(r.key) == KEY_BYTES
    ]
    first_new = len(targets)
    targets += [
        _Target(
            plan.new_clusters[i].representative, keys[plan.new_clusters[i].representative], None, i
        )
        for i in movable
    ]
    # query k is the representative of new cluster movable[k], which is target first_new + k
    t0 = time.perf_counter()
    keymat = np.frombuffer(b"".join(t.key for t in targets), np.uint8).reshape(-1, KEY_BYTES)
    unit = _unit_keys(keymat)
    queries = unit[first_new:]
    mirrored = queries.reshape(-1, KEY_SIDE, KEY_SIDE)[:, :, ::-1].reshape(len(queries), -1)
    sims, rows = _nearest_keys(np.concatenate([queries, mirrored]), unit, NEIGHBOURS + 1)
    del unit, queries, mirrored
    a, b, want = _candidate_pairs(sims, rows, first_new)
    t1 = time.perf_counter()
    dirs = _screen(keymat, a, b, want, runner)
    keep = np.flatnonzero(dirs)
    t2 = time.perf_counter()
    matches = _confirm(a[keep], b[keep], dirs[keep], targets, grids, params, runner)
    t3 = time.perf_counter()
    out = _resolve(plan, targets, first_new, matches, grids, params)
    log.info(
        "crop pass: %d queries, %d targets; %d candidate pairs (%.1f s), %d screened in "
        "(%.1f s), %d aligned (%.1f s), resolved in %.1f s",
        len(movable), len(targets), len(a), t1 - t0, len(keep), t2 - t1,
        len(matches), t3 - t2, time.perf_counter() - t3,
    )  # fmt: skip
    return out


def _candidate_pairs(sims: F32, rows: I64, first_new: int) -> tuple[I64, I64, I64]:
    """The distinct pairs of target rows ``(a, b)``, ``a < b``, sorted, with the directions
    to screen (``UPRIGHT``, ``MIRRORED`` or both), from the neighbours ``rows`` (at
    ``sims``) that reach :data:`MIN_KEY_SIMILARITY`: the first half of the rows are those of
    the queries ``first_new + k``, the second half those of the same queries mirrored."""
    half = len(rows) // 2
    k = rows.shape[1]
    q = np.tile(np.repeat(np.arange(first_new, first_new + half, dtype=np.int64), k), 2)
    flag = np.repeat(np.array([UPRIGHT, MIRRORED], np.int64), half * k)
    t, sim = rows.ravel(), sims.ravel()
    ok = (t >= 0) & (t != q) & (sim >= MIN_KEY_SIMILARITY)
    q, t, flag = q[ok], t[ok], flag[ok]
    span = np.int64(first_new + half)
    code = np.minimum(q, t) * span + np.maximum(q, t)
    pairs, inverse = np.unique(code, return_inverse=True)
    want = np.zeros(len(pairs), np.int64)
    np.bitwise_or.at(want, inverse, flag)
    return pairs // span, pairs % span, want


def _screen(keymat: U8, a: I64, b: I64, want: I64, runner: Runner | None) -> I64:
    if runner is None or len(a) == 0:
        return screen(keymat, a, b, want)
    keys = runner.share(keymat)
    calls = (
        (keys, a[i : i + SCREEN_CHUNK], b[i : i + SCREEN_CHUNK], want[i : i + SCREEN_CHUNK])
        for i in range(0, len(a), SCREEN_CHUNK)
    )
    return np.concatenate(list(runner.map_ordered(screen, calls)))


def confirm_batch(
    grids: Mapping[str, bytes], pairs: Sequence[tuple[str, str, int]]
) -> list[tuple[int, int, bool]]:
    """Align the pairs ``(a, b, directions)`` of media (SHA-256) whose luma grids are
    ``grids``: ``(index in pairs, best distance, a contains b)`` for each pair whose grids
    are both usable. Pure: runs here or on a cluster worker."""
    loaded = GridBatch(grids)
    present = [i for i, (x, y, _) in enumerate(pairs) if x in loaded.row and y in loaded.row]
    best, a_contains = loaded.pairs(
        [loaded.row[pairs[i][0]] for i in present],
        [loaded.row[pairs[i][1]] for i in present],
        [pairs[i][2] for i in present],
    )
    return [
        (i, int(d), bool(c))
        for i, d, c in zip(present, best.tolist(), a_contains.tolist(), strict=True)
    ]


def _confirm(
    a: I64,
    b: I64,
    dirs: I64,
    targets: list[_Target],
    grids: GridFetcher,
    params: ClusterParams,
    runner: Runner | None = None,
) -> dict[tuple[int, int], tuple[int, bool]]:
    """``(a, b) -> (distance, a contains b)`` for the confirmed pairs of target rows."""
    starts = range(0, len(a), _PAIR_BATCH)

    def calls() -> Iterator[tuple[Mapping[str, bytes], list[tuple[str, str, int]]]]:
        for start in starts:
            stop = start + _PAIR_BATCH
            ba, bb, bd = a[start:stop].tolist(), b[start:stop].tolist(), dirs[start:stop].tolist()
            loaded = grids(sorted({targets[i].sha256 for i in (*ba, *bb)}))
            yield (
                loaded,
                [
                    (targets[x].sha256, targets[y].sha256, d)
                    for x, y, d in zip(ba, bb, bd, strict=True)
                ],
            )

    results: Iterator[list[tuple[int, int, bool]]] = (
        (confirm_batch(*c) for c in calls())
        if runner is None
        else runner.map_ordered(confirm_batch, calls())
    )
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for start, found in zip(starts, results, strict=True):
        for i, d, c in found:
            if d <= params.threshold:
                out[(int(a[start + i]), int(b[start + i]))] = (d, c)
    return out


def _resolve(
    plan: ClusterPlan,
    targets: list[_Target],
    first_new: int,
    matches: dict[tuple[int, int], tuple[int, bool]],
    grids: GridFetcher,
    params: ClusterParams,
) -> ClusterPlan:
    """Greedy leaders over whole clusters: existing clusters stay; new ones are taken
    largest first (then those containing most of their crop neighbours, then SHA-256); a
    cluster stays (leads) unless a cluster already leading is its crop neighbour and *every*
    one of its members aligns with that leader's representative within the threshold, in
    which case all its members move there."""
    nbrs: dict[int, dict[int, tuple[int, bool]]] = {}
    for (a, b), (d, a_contains) in matches.items():
        nbrs.setdefault(a, {})[b] = (d, a_contains)
        nbrs.setdefault(b, {})[a] = (d, not a_contains)
    size = {
        t: plan.new_clusters[targets[t].new_index or 0].size for t in range(first_new, len(targets))
    }
    order = sorted(
        (t for t in range(first_new, len(targets)) if t in nbrs),
        key=lambda t: (-size[t], -sum(c for _, c in nbrs[t].values()), targets[t].sha256),
    )
    leading: set[int] = set(range(first_new))
    moves: dict[int, tuple[int, list[Member]]] = {}  # moved target -> (leader, members)
    for t in order:
        options = sorted((d, targets[o].sha256, o) for o, (d, _) in nbrs[t].items() if o in leading)
        for d, _, leader in options:
            members = _members_aligned(plan, targets, t, leader, d, grids, params)
            if members is not None:
                moves[t] = (leader, members)
                break
        else:
            if plan.new_clusters[targets[t].new_index or 0].reason is None:
                leading.add(t)  # a low-quality singleton may join, never lead
    if not moves:
        return plan
    joins = list(plan.joins)
    extra: dict[int, list[Member]] = {}
    for leader, members in moves.values():
        cid, index = targets[leader].cluster_id, targets[leader].new_index
        if cid is not None:
            joins += [Join(cid, m.sha256, m.distance, CROP) for m in members]
        else:
            assert index is not None
            extra.setdefault(index, []).extend(members)
    gone = {targets[t].new_index for t in moves}
    clusters: list[NearDuplicateCluster] = []
    for i, c in enumerate(plan.new_clusters):
        if i in gone:
            continue
        if i in extra:
            rest = sorted([*c.members[1:], *extra[i]], key=lambda m: (m.distance, m.sha256))
            c = replace(c, members=(c.members[0], *rest))
        clusters.append(c)
    return ClusterPlan(tuple(joins), tuple(clusters))


def _members_aligned(
    plan: ClusterPlan,
    targets: list[_Target],
    moving: int,
    leader: int,
    distance: int,
    grids: GridFetcher,
    params: ClusterParams,
) -> list[Member] | None:
    """The members of cluster ``moving`` with their crop distances to ``leader``'s
    representative, or ``None`` when one of them does not align within the threshold."""
    cluster = plan.new_clusters[targets[moving].new_index or 0]
    out = [Member(cluster.representative, distance, CROP)]
    others = [m.sha256 for m in cluster.members[1:]]
    if not others:
        return out
    loaded = GridBatch(grids([targets[leader].sha256, *others]))
    rep = loaded.row.get(targets[leader].sha256)
    if rep is None or any(s not in loaded.row for s in others):
        return None
    best, _ = loaded.pairs([rep] * len(others), [loaded.row[s] for s in others])
    if int(best.max()) > params.threshold:
        return None
    return out + [Member(s, int(d), CROP) for s, d in zip(others, best.tolist(), strict=True)]
