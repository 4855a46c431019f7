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
2. **Screening**, vectorised over pairs, from the keys alone: the column and row mean
   profiles stored in the keys, halved to 32 samples, must correlate at least
   :data:`MIN_COARSE_CORRELATION` with some coarse window of the other's (sizes 78–100 % of
   the axis every 5.5 %, starts every 2.5 %), on both axes, in one direction.
3. **Alignment**, on the grids of the pairs left: the coarse best window of each axis is
   refined in 1 % steps (±3 steps of start, ±4 of size) on the full profiles; both
   directions are tried (``b`` inside ``a``, ``a`` inside ``b``), and a refined correlation
   below :data:`MIN_PROFILE_CORRELATION` on either axis ends it.
4. **Confirmation.** That window of the outer grid is resampled to 64×64 and PDQ-hashed
   (64×64 PDQ computed in NumPy, equal to Meta's bit for bit), and so is the inner grid;
   they match when the hashes are within the cluster threshold and both have a quality of
   at least :data:`MIN_GRID_QUALITY`. The member's distance is that PDQ distance, recorded
   with the match ``"crop"``.

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
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.analysis.luma import GRID_SIDE, KEY_BYTES, KEY_SIDE, grid_array, key_parts
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
#: Pairs screened per vectorised batch.
_SCREEN_BATCH = 4096
#: Pairs examined per batch of grids fetched from the store.
_PAIR_BATCH = 2048

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


def _gathers(
    combos: list[tuple[float, float]], n: int = GRID_SIDE
) -> tuple[npt.NDArray[np.int64], F32]:
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


@functools.cache
def _coarse_windows() -> tuple[F32, npt.NDArray[np.float64]]:
    """The coarse windows as one dense ``(windows * n, n)`` resampling matrix over profiles
    of :data:`COARSE_SAMPLES` (a profile times its transpose gives every window's samples in
    one matrix product) and their ``(start, size)`` as a ``(windows, 2)`` array."""
    combos = _combos(COARSE_SIZE_STEP, COARSE_START_STEP)
    idx, weight = _gathers(combos, COARSE_SAMPLES)
    w, n = idx.shape
    m = np.zeros((w * n, n), np.float32)
    rows = np.arange(w * n)
    np.add.at(m, (rows, idx.ravel()), 1 - weight.ravel())
    np.add.at(m, (rows, idx.ravel() + 1), weight.ravel())
    return m, np.array(combos, np.float64)


@functools.cache
def _dct() -> F32:
    """PDQ's 16×64 DCT matrix (rows 1–16 of the 64-point DCT-II, scaled)."""
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(GRID_SIDE, dtype=np.float64)[None, :]
    m: F32 = (np.sqrt(2 / GRID_SIDE) * np.cos(np.pi / 2 / GRID_SIDE * i * (2 * j + 1))).astype(
        np.float32
    )
    return m


def _pdq_batch(grey: F32) -> tuple[U8, I64]:
    """PDQ hashes (packed, ``(m, 32)``, Meta's bit order) and qualities of ``(m, 64, 64)``
    grey images. At 64×64 PDQ's Jarosz filter and decimation are the identity, so this is
    PDQ itself: the DCT, bits above the median, and the gradient quality metric (equal to
    ``pdqhash`` bit for bit; a test checks)."""
    d = _dct()
    coeffs = (d @ grey @ d.T).reshape(len(grey), -1)
    bits = coeffs > np.median(coeffs, axis=1, keepdims=True)
    packed: U8 = np.packbits(bits[:, ::-1], axis=1)
    dv = np.abs(((grey[:, :-1, :] - grey[:, 1:, :]) * 100 / 255).astype(np.int64)).sum(axis=(1, 2))
    dh = np.abs(((grey[:, :, :-1] - grey[:, :, 1:]) * 100 / 255).astype(np.int64)).sum(axis=(1, 2))
    quality: I64 = np.minimum((dv + dh) // 90, 100)
    return packed, quality


def _halve(profiles: F32) -> F32:
    """``(m, 2k)`` profiles averaged in adjacent pairs to ``(m, k)``."""
    out: F32 = profiles.reshape(len(profiles), -1, 2).mean(axis=2)
    return out


def _correlate(res: F32, inner: F32) -> F32:
    """Correlation of each window ``res[p, w]`` (``(pairs, windows, n)``) with ``inner[p]``."""
    res = res - res.mean(axis=2, keepdims=True)
    q = inner - inner.mean(axis=1, keepdims=True)
    num = np.matmul(res, q[:, :, None])[:, :, 0]
    den = np.sqrt(np.square(res).sum(axis=2)) * np.sqrt(np.square(q).sum(axis=1))[:, None]
    out: F32 = num / (den + 1e-6)
    return out


def _coarse_best(outer: F32, inner: F32) -> tuple[F32, npt.NDArray[np.float64]]:
    """For each pair of (halved) profiles: the best correlation over the coarse windows of
    ``outer`` with ``inner``, and that window's ``(start, size)``."""
    resample, combos = _coarse_windows()
    n = outer.shape[1]
    if not len(outer):
        return np.zeros(0, np.float32), np.zeros((0, 2), np.float64)
    corr = _correlate((outer @ resample.T).reshape(len(outer), -1, n), inner)
    k = np.argmax(corr, axis=1)
    best: F32 = corr[np.arange(len(k)), k]
    return best, combos[k]


#: (start offsets, size offsets) of the refinement grid, flattened: ±3 × ±4 steps.
_REFINE_GRID = tuple(
    g.ravel().astype(np.float32) * STEP for g in np.meshgrid(np.arange(-3, 4), np.arange(-4, 5))
)
_SAMPLE_CENTRES = (np.arange(GRID_SIDE) + 0.5).astype(np.float32)


def _best_of(outer: F32, inner: F32, starts: F32, sizes: F32) -> tuple[F32, F32, F32]:
    """Best correlation over the windows ``(starts[p, k], sizes[p, k])`` of each pair's
    ``outer`` profile with its ``inner`` one: (correlation, start, size) per pair."""
    p, n = outer.shape
    valid = (sizes >= MIN_SIDE - 1e-6) & (sizes <= 1 + 1e-6) & (starts >= -1e-6)
    valid &= starts + sizes <= 1 + 1e-6
    centre = starts[:, :, None] * n + _SAMPLE_CENTRES * sizes[:, :, None] - 0.5
    floor = np.clip(np.floor(centre), 0, n - 2)  # float32 throughout
    w = np.clip(centre - floor, 0.0, 1.0)
    at = floor.astype(np.intp) + (np.arange(p, dtype=np.intp) * n)[:, None, None]
    flat = outer.ravel()
    res = flat[at] * (1 - w) + flat[at + 1] * w
    corr = np.where(valid, _correlate(res, inner), -np.inf)
    k = np.argmax(corr, axis=1)
    at = np.arange(p)
    return corr[at, k], starts[at, k], sizes[at, k]


def _refine(outer: F32, inner: F32, window: npt.NDArray[np.float64]) -> tuple[F32, F32, F32]:
    """Best correlation over the windows within ±3 steps of start and ±4 of size of each
    pair's coarse ``window``, on full profiles: (correlation, start, size) per pair."""
    starts = window[:, :1].astype(np.float32) + _REFINE_GRID[0][None, :]
    sizes = window[:, 1:].astype(np.float32) + _REFINE_GRID[1][None, :]
    return _best_of(outer, inner, starts, sizes)


def _resample(start: F32, size: F32) -> F32:
    """``(pairs, n, n)`` linear-interpolation matrices of one axis window per pair."""
    n = GRID_SIDE
    centre = start[:, None] * n + (np.arange(n) + 0.5) * size[:, None] - 0.5
    lo = np.clip(np.floor(centre), 0, n - 2).astype(np.int64)
    w = np.clip(centre - lo, 0.0, 1.0).astype(np.float32)
    m = np.zeros((len(start), n, n), np.float32)
    p_idx = np.arange(len(start))[:, None]
    r_idx = np.arange(n)[None, :]
    m[p_idx, r_idx, lo] += 1 - w
    m[p_idx, r_idx, lo + 1] += w
    return m


#: Distance reported for a pair that does not align.
NO_MATCH = 1 << 16


def _align(outer: F32, inner: F32, inner_hash: U8, inner_quality: I64) -> I64:
    """For each pair of grids (``(pairs, 64, 64)``): the PDQ distance between ``inner`` and
    the window of ``outer`` it aligns with, or :data:`NO_MATCH` (module docstring)."""
    out = np.full(len(outer), NO_MATCH, np.int64)
    if not len(outer):
        return out
    cols_o, rows_o = outer.mean(axis=1), outer.mean(axis=2)
    cols_i, rows_i = inner.mean(axis=1), inner.mean(axis=2)
    cx, wx = _coarse_best(_halve(cols_o), _halve(cols_i))
    cy, wy = _coarse_best(_halve(rows_o), _halve(rows_i))
    ok = np.flatnonzero((cx >= MIN_COARSE_CORRELATION) & (cy >= MIN_COARSE_CORRELATION))
    if not len(ok):
        return out
    fx, x0, xs = _refine(cols_o[ok], cols_i[ok], wx[ok])
    fy, y0, ys = _refine(rows_o[ok], rows_i[ok], wy[ok])
    good = (fx >= MIN_PROFILE_CORRELATION) & (fy >= MIN_PROFILE_CORRELATION)
    ok, x0, xs, y0, ys = ok[good], x0[good], xs[good], y0[good], ys[good]
    if not len(ok):
        return out
    window = _resample(y0, ys) @ outer[ok] @ np.transpose(_resample(x0, xs), (0, 2, 1))
    hashes, quality = _pdq_batch(window)
    dist = np.unpackbits(hashes ^ inner_hash[ok], axis=1).sum(axis=1).astype(np.int64)
    strong = (quality >= MIN_GRID_QUALITY) & (inner_quality[ok] >= MIN_GRID_QUALITY)
    out[ok[strong]] = dist[strong]
    return out


class _Grids:
    """Luma grids loaded for a batch, with their PDQ hashes and qualities."""

    def __init__(self, grids: Mapping[str, bytes]) -> None:
        self.row = {s: i for i, s in enumerate(grids)}
        pixels = [grid_array(g) for g in grids.values()]
        self.pixels: F32 = (
            np.stack(pixels) if pixels else np.zeros((0, GRID_SIDE, GRID_SIDE), np.float32)
        )
        self.hash, self.quality = _pdq_batch(self.pixels)

    def pairs(self, a: list[int], b: list[int], dirs: list[int] | None = None) -> tuple[I64, I64]:
        """Best distance and whether ``a`` contains ``b``, per pair of rows; ``dirs`` (as
        from :func:`_screen`) limits the directions tried (default: both)."""
        ia, ib = np.array(a, np.int64), np.array(b, np.int64)
        d = np.array(dirs, np.int64) if dirs is not None else np.full(len(ia), 3, np.int64)
        inside_a = np.full(len(ia), NO_MATCH, np.int64)
        inside_b = np.full(len(ia), NO_MATCH, np.int64)
        sa, sb = np.flatnonzero(d & 1), np.flatnonzero(d & 2)
        inside_a[sa] = _align(
            self.pixels[ia[sa]], self.pixels[ib[sa]], self.hash[ib[sa]], self.quality[ib[sa]]
        )
        inside_b[sb] = _align(
            self.pixels[ib[sb]], self.pixels[ia[sb]], self.hash[ia[sb]], self.quality[ia[sb]]
        )
        a_contains: I64 = (inside_a <= inside_b).astype(np.int64)
        best: I64 = np.minimum(inside_a, inside_b)
        return best, a_contains


def crop_match(a: bytes, b: bytes, threshold: int = DEFAULT_THRESHOLD) -> int | None:
    """PDQ distance at which one of two luma grids shows a window of the other (the smaller
    of both directions), or ``None`` when neither aligns within ``threshold``."""
    loaded = _Grids({"a": a, "b": b}) if a != b else _Grids({"a": a})
    rb = loaded.row.get("b", 0)
    best, _ = loaded.pairs([0], [rb])
    d = int(best[0])
    return d if d <= threshold else None


# ------------------------------------------------------------------ candidates


def _unit_keys(keys: Sequence[bytes]) -> F32:
    """Layout keys as zero-mean unit vectors (a flat key stays zero: never similar)."""
    if not keys:
        return np.zeros((0, KEY_SIDE * KEY_SIDE), np.float32)
    m = key_parts(list(keys))[0]
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
    sims, rows = _nearest_keys(
        _unit_keys([t.key for t in targets[first_new:]]),
        _unit_keys([t.key for t in targets]),
        NEIGHBOURS + 1,
    )
    pairs: set[tuple[int, int]] = set()  # target rows, the lower first
    for k, (srow, trow) in enumerate(zip(sims, rows, strict=True)):
        q = first_new + k
        for sim, t in zip(srow.tolist(), trow.tolist(), strict=True):
            if t >= 0 and t != q and sim >= MIN_KEY_SIMILARITY:
                pairs.add((min(q, t), max(q, t)))
    t1 = time.perf_counter()
    screened = _screen(sorted(pairs), targets)
    t2 = time.perf_counter()
    matches = _confirm(screened, targets, grids, params)
    t3 = time.perf_counter()
    out = _resolve(plan, targets, first_new, matches, grids, params)
    log.info(
        "crop pass: %d queries, %d targets; %d candidate pairs (%.1f s), %d screened in "
        "(%.1f s), %d aligned (%.1f s), resolved in %.1f s",
        len(movable), len(targets), len(pairs), t1 - t0, len(screened), t2 - t1,
        len(matches), t3 - t2, time.perf_counter() - t3,
    )  # fmt: skip
    return out


def _screen(pairs: list[tuple[int, int]], targets: list[_Target]) -> list[tuple[int, int, int]]:
    """The pairs whose stored profiles (in the layout keys) align on coarse windows with a
    correlation of at least :data:`MIN_COARSE_CORRELATION` on both axes, in either
    direction, as ``(a, b, directions)`` (bit 1: ``b`` may lie inside ``a``; bit 2: ``a``
    inside ``b``): vectorised over pairs, so that grids are read only for plausible pairs
    and aligned only in the plausible directions."""
    if not pairs:
        return []
    _, cols, rows = (_halve(p) for p in key_parts([t.key for t in targets]))
    arr = np.array(pairs, np.int64)
    dirs = np.zeros(len(arr), np.int64)
    for start in range(0, len(arr), _SCREEN_BATCH):
        a, b = arr[start : start + _SCREEN_BATCH, 0], arr[start : start + _SCREEN_BATCH, 1]
        for bit, (outer, inner) in ((1, (a, b)), (2, (b, a))):
            live = np.arange(len(a))  # columns first; rows only where columns pass
            for prof in (cols, rows):
                best = _coarse_best(prof[outer[live]], prof[inner[live]])[0]
                live = live[best >= MIN_COARSE_CORRELATION]
            dirs[start + live] |= bit
    return [(*pairs[i], int(dirs[i])) for i in np.flatnonzero(dirs).tolist()]


def _confirm(
    pairs: list[tuple[int, int, int]],
    targets: list[_Target],
    grids: GridFetcher,
    params: ClusterParams,
) -> dict[tuple[int, int], tuple[int, bool]]:
    """``(a, b) -> (distance, a contains b)`` for the confirmed pairs of target rows."""
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for start in range(0, len(pairs), _PAIR_BATCH):
        batch = pairs[start : start + _PAIR_BATCH]
        loaded = _Grids(grids(sorted({targets[i].sha256 for a, b, _ in batch for i in (a, b)})))
        present = [
            (a, b, d)
            for a, b, d in batch
            if targets[a].sha256 in loaded.row and targets[b].sha256 in loaded.row
        ]
        best, a_contains = loaded.pairs(
            [loaded.row[targets[a].sha256] for a, _, _ in present],
            [loaded.row[targets[b].sha256] for _, b, _ in present],
            [d for _, _, d in present],
        )
        for (a, b, _), d, c in zip(present, best.tolist(), a_contains.tolist(), strict=True):
            if d <= params.threshold:
                out[(a, b)] = (int(d), bool(c))
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
