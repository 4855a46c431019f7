"""Crops: recognise a media that shows part of another (or the whole of a part of it).

PDQ hashes a whole frame, so cropping 10 % off an image moves its hash 30–130 bits, far past
the threshold: a crop would be a new decision although it is the same picture. This pass
runs after the PDQ clustering (:func:`vigil.clustering.near_duplicates.plan_update`) and
gives each media that is still alone a second chance, **without weakening the rule that
makes propagation sound**: a media joins a cluster only when its PDQ lies within the
threshold of the PDQ of the *matching window* of the cluster's representative.

How, for each new cluster's representative ``b`` (after the PDQ pass):

1. **Candidates.** Every image keeps a 64×64 luma grid and a layout key
   (:mod:`vigil.analysis.luma`). The :data:`NEIGHBOURS` representatives whose 8×8 centre
   thumbnails are most similar to ``b``'s (cosine of the zero-mean thumbnails, at least
   :data:`MIN_KEY_SIMILARITY`) are candidates: exact inner-product search with FAISS, or
   an HNSW graph above :data:`EXACT_SEARCH_LIMIT` query×target pairs.
2. **Screening**, from the keys alone: the column and row mean
   profiles stored in the keys, halved to 32 samples, must correlate at least
   :data:`MIN_COARSE_CORRELATION` with some coarse window of the other's (sizes 78–100 % of
   the axis every 5.5 %, starts every 2.5 %), on both axes, in one direction.
3. **Alignment**, on the grids of the pairs left: the coarse best window of each axis is
   refined in 1 % steps (±3 steps of start, ±4 of size) on the full profiles; both
   directions are tried (``b`` inside ``a``, ``a`` inside ``b``), and a refined correlation
   below :data:`MIN_PROFILE_CORRELATION` on either axis ends it.
4. **Confirmation.** That window of the outer grid is resampled to 64×64 and PDQ-hashed
   (Meta's own computation: at 64×64 PDQ's filter and decimation are the identity, and the
   float32 DCT, median and quality metric are the reference's, bit for bit), and so is the
   inner grid; they match when the hashes are within the cluster threshold and both have a
   quality of at least :data:`MIN_GRID_QUALITY`. The member's distance is that PDQ
   distance, recorded with the match ``"crop"``.

Steps 2–4 are compiled loops over pairs (:mod:`vigil.clustering._crop_kernels`, numba,
without the GIL), run on one thread per core: about 10 µs a pair to screen and 40 µs of
CPU a pair to align and confirm, against 0.5–0.9 ms for the same arithmetic batched in
NumPy (``bench/cluster_scale.py`` prints the stage timings).

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

import functools
import itertools
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.analysis.luma import GRID_SIDE, KEY_BYTES, KEY_SIDE
from vigil.clustering.near_duplicates import (
    DEFAULT_THRESHOLD,
    LOW_QUALITY,
    Candidate,
    ClusterParams,
    ClusterPlan,
    Join,
    Member,
    NearDuplicateCluster,
    Representative,
)

log = logging.getLogger(__name__)

#: The match recorded for a member that joined as a crop.
CROP = "crop"
#: Candidates examined per media alone.
NEIGHBOURS = 12
#: Least cosine similarity of two layout keys for the pair to be examined.
MIN_KEY_SIMILARITY = 0.7
#: Least correlation of the aligned profiles, on each axis, for the pair to be hashed.
MIN_PROFILE_CORRELATION = 0.9
#: Smallest window examined, as a share of each axis (crops of up to 22 % per axis).
MIN_SIDE = 0.78
#: Least PDQ quality of a grid hash. Grids are 64×64, smoother than the image PDQ hashed
#: (whose quality already had to reach the cluster minimum), so their quality reads lower.
MIN_GRID_QUALITY = 10
#: Step of window positions and sizes, as a share of the axis.
STEP = 0.01
#: Screening: coarse windows (sizes every 5.5 %, starts every 2.5 %) whose best profile
#: correlation must reach this on both axes, in one direction, before grids are read.
MIN_COARSE_CORRELATION = 0.85
COARSE_SIZE_STEP = 0.055
COARSE_START_STEP = 0.025
#: Screening compares profiles halved to this many samples.
COARSE_SAMPLES = GRID_SIDE // 2
#: Above this many (queries × representatives), candidates come from an HNSW graph.
EXACT_SEARCH_LIMIT = 2_000_000_000
#: Pairs examined per batch of grids fetched from the store.
_PAIR_BATCH = 4096

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
GridFetcher = Callable[[Sequence[str]], Mapping[str, bytes]]


@dataclass(frozen=True, slots=True)
class CropMatch:
    """``inner`` shows a window of ``outer``: PDQ distance of the aligned hashes."""

    outer: str
    inner: str
    distance: int


# ------------------------------------------------------------------ alignment of two grids


def _combos(size_step: float, start_step: float) -> list[tuple[float, float]]:
    """Windows from :data:`MIN_SIDE` to the whole axis: sizes every ``size_step`` (always
    including 1), starts every ``start_step`` (always including the last position)."""
    sizes = sorted({1.0, *np.arange(MIN_SIDE, 1.0, size_step).round(4).tolist()})
    out = []
    for size in sizes:
        room = 1.0 - size
        starts = sorted(
            {*np.arange(0.0, room + 1e-9, start_step).round(4).tolist(), round(room, 4)}
        )
        out += [(float(st), float(size)) for st in starts]
    return out


def _gathers(combos: list[tuple[float, float]], n: int) -> tuple[npt.NDArray[np.int64], F32]:
    """Axis windows ``(start, size)`` as linear-interpolation gathers ``idx`` and ``weight``
    of shape ``(windows, n)`` over profiles of ``n`` samples: sample ``i`` of window ``k`` of
    a profile ``p`` is ``p[idx[k, i]] * (1 - weight[k, i]) + p[idx[k, i] + 1] * weight[k, i]``."""
    idx = np.empty((len(combos), n), np.int64)
    weight = np.empty((len(combos), n), np.float32)
    for k, (start, size) in enumerate(combos):
        centre = start * n + (np.arange(n) + 0.5) * size - 0.5
        idx[k] = np.clip(np.floor(centre), 0, n - 2).astype(np.int64)
        weight[k] = np.clip(centre - idx[k], 0.0, 1.0)
    return idx, weight


#: The coarse windows, ``(start, size)`` per row, and their gathers over halved profiles.
_COARSE = np.array(_combos(COARSE_SIZE_STEP, COARSE_START_STEP), np.float64)
_COARSE_IDX, _COARSE_W = _gathers(_combos(COARSE_SIZE_STEP, COARSE_START_STEP), COARSE_SAMPLES)
#: The refinement around a coarse window: (start offset, size offset) per row, ±3 × ±4 steps.
_REFINE = np.array(
    [(ds * STEP, dz * STEP) for dz in range(-4, 5) for ds in range(-3, 4)], np.float32
)


def _refinements(
    coarse: npt.NDArray[np.float64], offsets: F32, n: int = GRID_SIDE
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], F32]:
    """The refined windows of every coarse window, as tables for the alignment kernel:
    sample ``i`` of refinement ``k`` of coarse window ``c`` reads ``idx[c, k, i]`` and the
    next sample with weight ``weight[c, k, i]``; ``windows[c, k]`` is its (start, size) in
    float32, NaN where it leaves the axis or is smaller than :data:`MIN_SIDE`. The
    arithmetic is the one the kernel did per pair before (float32 window, float64 centres)."""
    st = (coarse[:, :1].astype(np.float32) + offsets[None, :, 0]).astype(np.float32)
    sz = (coarse[:, 1:].astype(np.float32) + offsets[None, :, 1]).astype(np.float32)
    st64, sz64 = st.astype(np.float64), sz.astype(np.float64)
    ok = (sz64 >= MIN_SIDE - 1e-6) & (sz64 <= 1 + 1e-6) & (st64 >= -1e-6)
    ok &= st64 + sz64 <= 1 + 1e-6
    centre = st64[:, :, None] * n + (np.arange(n) + 0.5) * sz64[:, :, None] - 0.5
    idx = np.clip(np.floor(centre), 0, n - 2).astype(np.int64)
    weight = np.clip(centre - idx, 0.0, 1.0)
    windows = np.stack([st, sz], axis=2)
    windows[~ok] = np.nan
    return idx, weight, windows


_REFINE_IDX, _REFINE_W, _REFINE_WIN = _refinements(_COARSE, _REFINE)
#: The alignment kernel's thresholds: coarse and refined correlation.
_PARAMS = np.array([MIN_COARSE_CORRELATION, MIN_PROFILE_CORRELATION], np.float64)
#: Distance reported for a pair that does not align.
NO_MATCH = 1 << 16
#: Directions of a pair ``(a, b)`` (bits): ``b`` inside ``a``, ``a`` inside ``b``, and the
#: same with the outer one mirrored left to right.
B_IN_A, A_IN_B, B_IN_MIRROR_A, A_IN_MIRROR_B = 1, 2, 4, 8
UPRIGHT, MIRRORED = B_IN_A | A_IN_B, B_IN_MIRROR_A | A_IN_MIRROR_B
ALL = UPRIGHT | MIRRORED
#: Below this many pairs a call runs on the calling thread alone.
_THREADED_FROM = 256


@functools.cache
def _k() -> ModuleType:
    """The compiled kernels, imported on first use (numba is slow to load)."""
    from vigil.clustering import _crop_kernels

    return _crop_kernels


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def _chunked(n: int, run: Callable[[int, int], None]) -> None:
    """``run(start, stop)`` over ``range(n)`` in one chunk per core, on threads (the
    kernels release the GIL)."""
    threads = _threads() if n >= _THREADED_FROM else 1
    bounds = np.linspace(0, n, threads + 1).astype(np.int64).tolist()
    if threads == 1:
        run(0, n)
        return
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(run, lo, hi) for lo, hi in itertools.pairwise(bounds)]:
            f.result()


class _Grids:
    """Luma grids loaded for a batch, with their profiles; their PDQ hashes and qualities are
    computed only for the grids a located pair needs (:meth:`pairs`)."""

    def __init__(self, grids: Mapping[str, bytes]) -> None:
        side = GRID_SIDE
        usable = {s: g for s, g in grids.items() if len(g) == side * side}
        if len(usable) < len(grids):  # a damaged row: that media is examined as if it had none
            log.warning(
                "crop pass: %d luma grids of the wrong size left out", len(grids) - len(usable)
            )
        self.row = {s: i for i, s in enumerate(usable)}
        g = len(usable)
        self.pixels: U8 = np.frombuffer(b"".join(usable.values()), np.uint8).reshape(g, side, side)
        self.full = np.zeros((g, 2, side), np.float32)
        self.half = np.zeros((g, 2, side // 2), np.float32)
        self.hash = np.zeros((g, 32), np.uint8)
        self.quality = np.zeros(g, np.int64)
        self._hashed = np.zeros(g, np.bool_)
        kernel = _k().profiles
        _chunked(g, lambda lo, hi: kernel(self.pixels, lo, hi, self.full, self.half))

    def hashes(self, rows: I64) -> tuple[U8, I64]:
        """PDQ hashes (packed, Meta's byte order) and qualities of the grids ``rows``."""
        todo = np.unique(rows[~self._hashed[rows]])
        k = _k()

        def run(lo: int, hi: int) -> None:
            k.grid_hashes(self.pixels, todo[lo:hi], k._DCT, k._DCT_T, self.hash, self.quality)

        _chunked(len(todo), run)
        self._hashed[todo] = True
        return self.hash[rows], self.quality[rows]

    def pairs(self, a: list[int], b: list[int], dirs: list[int] | None = None) -> tuple[I64, I64]:
        """Best distance and whether ``a`` contains ``b``, per pair of rows; ``dirs`` (as
        from :func:`_screen`) limits the directions tried (default: all four)."""
        ia, ib = np.array(a, np.int64), np.array(b, np.int64)
        d = np.array(dirs, np.int64) if dirs is not None else np.full(len(ia), ALL, np.int64)
        found = np.zeros(len(ia), np.int64)
        windows = np.zeros((len(ia), 4, 4), np.float32)
        k = _k()

        def locate(lo: int, hi: int) -> None:
            k.locate_pairs(
                self.full, self.half, ia[lo:hi], ib[lo:hi], d[lo:hi], _COARSE_IDX, _COARSE_W,
                _REFINE_IDX, _REFINE_W, _REFINE_WIN, _PARAMS, found[lo:hi], windows[lo:hi],
            )  # fmt: skip

        _chunked(len(ia), locate)
        best = np.full(len(ia), NO_MATCH, np.int64)
        a_contains = np.zeros(len(ia), np.bool_)
        hit = np.flatnonzero(found)
        if not len(hit):
            return best, a_contains.astype(np.int64)
        # the inner grid of each located direction: b for bits 1 and 4, a for bits 2 and 8
        f = found[hit]
        self.hashes(np.concatenate([ib[hit[(f & (B_IN_A | B_IN_MIRROR_A)) != 0]],
                                    ia[hit[(f & (A_IN_B | A_IN_MIRROR_B)) != 0]]]))  # fmt: skip
        ha, hb, hf, hw = ia[hit], ib[hit], f, windows[hit]
        hbest = np.full(len(hit), NO_MATCH, np.int64)
        hcontains = np.zeros(len(hit), np.bool_)

        def confirm(lo: int, hi: int) -> None:
            k.confirm_pairs(
                self.pixels, self.hash, self.quality, ha[lo:hi], hb[lo:hi], hf[lo:hi],
                hw[lo:hi], MIN_GRID_QUALITY, k._DCT, k._DCT_T, hbest[lo:hi], hcontains[lo:hi],
            )  # fmt: skip

        _chunked(len(hit), confirm)
        best[hit], a_contains[hit] = hbest, hcontains
        return best, a_contains.astype(np.int64)


def crop_match(a: bytes, b: bytes, threshold: int = DEFAULT_THRESHOLD) -> int | None:
    """PDQ distance at which one of two luma grids shows a window of the other (the smaller
    of both directions), or ``None`` when neither aligns within ``threshold``."""
    loaded = _Grids({"a": a, "b": b}) if a != b else _Grids({"a": a})
    rb = loaded.row.get("b", 0)
    best, _ = loaded.pairs([0], [rb])
    d = int(best[0])
    return d if d <= threshold else None


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
) -> ClusterPlan:
    """``plan`` (from :func:`plan_update` over ``new`` and ``existing``) with whole new
    clusters moved into a cluster whose representative their members are crops of, or that
    is a crop of them (module docstring). ``grids`` returns stored luma grids by SHA-256."""
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
    dirs = _screen(keymat, a, b, want)
    keep = np.flatnonzero(dirs)
    t2 = time.perf_counter()
    matches = _confirm(a[keep], b[keep], dirs[keep], targets, grids, params)
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
    to screen (:data:`UPRIGHT`, :data:`MIRRORED` or both), from the neighbours ``rows`` (at
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


def _screen(keys: U8, a: I64, b: I64, want: I64) -> I64:
    """Per pair of target rows: of the directions ``want`` (bits :data:`B_IN_A`,
    :data:`A_IN_B`, :data:`B_IN_MIRROR_A`, :data:`A_IN_MIRROR_B`), those in which the
    profiles stored in their layout keys ``keys`` align on coarse windows with a
    correlation of at least :data:`MIN_COARSE_CORRELATION` on both axes; 0 for none. So
    grids are read only for plausible pairs, and aligned only in the plausible directions."""
    dirs = np.zeros(len(a), np.int64)
    kernel = _k().screen_pairs

    def run(lo: int, hi: int) -> None:
        kernel(
            keys, a[lo:hi], b[lo:hi], want[lo:hi], _COARSE_IDX, _COARSE_W,
            MIN_COARSE_CORRELATION, dirs[lo:hi],
        )  # fmt: skip

    _chunked(len(a), run)
    return dirs


def _confirm(
    a: I64,
    b: I64,
    dirs: I64,
    targets: list[_Target],
    grids: GridFetcher,
    params: ClusterParams,
) -> dict[tuple[int, int], tuple[int, bool]]:
    """``(a, b) -> (distance, a contains b)`` for the confirmed pairs of target rows."""
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for start in range(0, len(a), _PAIR_BATCH):
        ba, bb = a[start : start + _PAIR_BATCH].tolist(), b[start : start + _PAIR_BATCH].tolist()
        bd = dirs[start : start + _PAIR_BATCH].tolist()
        loaded = _Grids(grids(sorted({targets[i].sha256 for i in (*ba, *bb)})))
        present = [
            (x, y, d)
            for x, y, d in zip(ba, bb, bd, strict=True)
            if targets[x].sha256 in loaded.row and targets[y].sha256 in loaded.row
        ]
        best, a_contains = loaded.pairs(
            [loaded.row[targets[x].sha256] for x, _, _ in present],
            [loaded.row[targets[y].sha256] for _, y, _ in present],
            [d for _, _, d in present],
        )
        for (x, y, _), d, c in zip(present, best.tolist(), a_contains.tolist(), strict=True):
            if d <= params.threshold:
                out[(x, y)] = (int(d), bool(c))
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
    loaded = _Grids(grids([targets[leader].sha256, *others]))
    rep = loaded.row.get(targets[leader].sha256)
    if rep is None or any(s not in loaded.row for s in others):
        return None
    best, _ = loaded.pairs([rep] * len(others), [loaded.row[s] for s in others])
    if int(best.max()) > params.threshold:
        return None
    return out + [Member(s, int(d), CROP) for s, d in zip(others, best.tolist(), strict=True)]
