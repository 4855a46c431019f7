"""Aligning luma grids: does one show a window of the other, upright or mirrored, and at
what PDQ distance (the test behind :mod:`verisight.clustering.crops`, whose docstring describes
the method: coarse windows screened from the layout keys, refined on the grids' profiles,
confirmed by Meta's PDQ of the window).

:class:`GridBatch` holds a batch of grids read from the store and aligns pairs of them;
:func:`screen` rejects implausible pairs from their layout keys alone; :func:`crop_match`
compares two grids. The loops are compiled (:mod:`verisight.clustering._crop_kernels`, numba,
without the GIL) and run on one thread per core.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np
import numpy.typing as npt

from verisight.analysis.luma import GRID_SIDE
from verisight.clustering.near_duplicates import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)

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

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


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


def _gathers(
    combos: list[tuple[float, float]], n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Axis windows ``(start, size)`` as linear-interpolation gathers ``idx`` and ``weight``
    of shape ``(windows, n)`` over profiles of ``n`` samples: sample ``i`` of window ``k`` of
    a profile ``p`` is ``p[idx[k, i]] * (1 - weight[k, i]) + p[idx[k, i] + 1] * weight[k, i]``."""
    idx = np.empty((len(combos), n), np.int64)
    weight = np.empty((len(combos), n), np.float64)
    for k, (start, size) in enumerate(combos):
        centre = start * n + (np.arange(n) + 0.5) * size - 0.5
        idx[k] = np.clip(np.floor(centre), 0, n - 2).astype(np.int64)
        weight[k] = np.clip(centre - idx[k], 0.0, 1.0)
    return idx, weight


#: The coarse windows, ``(start, size)`` per row, and their gathers over halved profiles.
_COARSE = np.array(_combos(COARSE_SIZE_STEP, COARSE_START_STEP), np.float64)
_COARSE_IDX, _COARSE_W = _gathers([(float(a), float(b)) for a, b in _COARSE], COARSE_SAMPLES)
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
    float32, NaN where it leaves the axis or is smaller than :data:`MIN_SIDE` (windows in
    float32, sample centres and weights in float64)."""
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
#: Everything the locating kernel reads besides the grids, in its order.
_TABLES = (_COARSE_IDX, _COARSE_W, _REFINE_IDX, _REFINE_W, _REFINE_WIN, _PARAMS)
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
    from verisight.clustering import _crop_kernels

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


class GridBatch:
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
        from :func:`screen`) limits the directions tried (default: all four)."""
        ia, ib = np.array(a, np.int64), np.array(b, np.int64)
        d = np.array(dirs, np.int64) if dirs is not None else np.full(len(ia), ALL, np.int64)
        found = np.zeros(len(ia), np.int64)
        windows = np.zeros((len(ia), 4, 4), np.float32)
        k = _k()

        def locate(lo: int, hi: int) -> None:
            k.locate_pairs(
                self.full,
                self.half,
                ia[lo:hi],
                ib[lo:hi],
                d[lo:hi],
                _TABLES,
                found[lo:hi],
                windows[lo:hi],
            )

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
    loaded = GridBatch({"a": a, "b": b}) if a != b else GridBatch({"a": a})
    rb = loaded.row.get("b", 0)
    best, _ = loaded.pairs([0], [rb])
    d = int(best[0])
    return d if d <= threshold else None


def screen(keys: U8, a: I64, b: I64, want: I64) -> I64:
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
