"""Compiled inner loops of the crop pass (:mod:`verisight.clustering.crops`), one pair at a time.

Screening and aligning a pair is a few hundred small operations on 32- and 64-sample
profiles and one 64×64 window: NumPy can only batch that through fancy-index gathers and
tiny batched matrix products, at ~0.5–0.9 ms a pair; a compiled loop over pairs does the
same arithmetic in ~0.05 ms and needs no per-batch temporaries. The kernels release the
GIL (``nogil``): :mod:`verisight.clustering.alignment` runs chunks of pairs on a thread per core.

What is computed is described in :mod:`verisight.clustering.crops`; the window's PDQ is Meta's
own computation (:func:`verisight.analysis._pdq_full._tail`: the reference's float32 DCT, Torben
median and quality metric), so a window hash is exactly what ``pdqhash`` gives for that
64×64 image. Correlations accumulate in float64 over float32 samples.

Compiled on first use (``cache=True``).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from verisight.analysis._pdq_full import _DCT, _DCT_T, _tail
from verisight.clustering.alignment import NO_MATCH

_EPS = 1e-6


def _jit(fn: Any) -> Any:
    return numba.njit(cache=True, nogil=True)(fn)


@_jit
def _centre(profile: Any, out: Any) -> float:
    """``profile`` less its mean into ``out``; returns the norm of ``out``."""
    n = profile.shape[0]
    mean = 0.0
    for i in range(n):
        mean += profile[i]
    mean /= n
    ss = 0.0
    for i in range(n):
        out[i] = profile[i] - mean
        ss += out[i] * out[i]
    return math.sqrt(ss)


@_jit
def _correlation(outer: Any, idx: Any, weight: Any, centred: Any, norm_i: float) -> float:
    """Correlation of the window of ``outer`` sampled at ``idx`` / ``weight`` (linear
    interpolation between ``idx[i]`` and the next sample) with the centred profile
    ``centred`` of norm ``norm_i``."""
    n = centred.shape[0]
    s = 0.0
    ss = 0.0
    dot = 0.0
    for i in range(n):
        j = idx[i]
        w = weight[i]
        v = outer[j] * (1.0 - w) + outer[j + 1] * w
        s += v
        ss += v * v
        dot += v * centred[i]
    var = ss - s * s / n
    return dot / (math.sqrt(max(var, 0.0)) * norm_i + _EPS)


@_jit
def _best_window(outer: Any, inner: Any, idx: Any, weight: Any, centred: Any) -> tuple[float, int]:
    """Best correlation of ``inner`` with a window of ``outer`` given as interpolation
    tables (``idx``, ``weight``: ``(windows, n)``, from :func:`alignment._gathers`), and
    that window's row (the first of equals)."""
    norm_i = _centre(inner, centred)
    best = -np.inf
    at = 0
    for k in range(idx.shape[0]):
        c = _correlation(outer, idx[k], weight[k], centred, norm_i)
        if c > best:
            best = c
            at = k
    return best, at


@_jit
def _refine(
    outer: Any, inner: Any, at: int, idx: Any, weight: Any, windows: Any, centred: Any
) -> tuple[float, Any, Any]:
    """Best correlation over the refinements of coarse window ``at``: ``windows[at, k]``
    (start, size; NaN where the refinement leaves the axis or is too small), sampled at
    ``idx[at, k]`` / ``weight[at, k]`` (tables made by :func:`alignment._refinements`):
    (correlation, start, size); ``-inf`` when none is valid."""
    norm_i = _centre(inner, centred)
    best = -np.inf
    best_start = np.float32(0.0)
    best_size = np.float32(1.0)
    for k in range(windows.shape[1]):
        if np.isnan(windows[at, k, 0]):
            continue
        c = _correlation(outer, idx[at, k], weight[at, k], centred, norm_i)
        if c > best:
            best = c
            best_start = windows[at, k, 0]
            best_size = windows[at, k, 1]
    return best, best_start, best_size


@_jit
def _halve(profile: Any, out: Any) -> None:
    for i in range(out.shape[0]):
        out[i] = (profile[2 * i] + profile[2 * i + 1]) * np.float32(0.5)


@_jit
def profiles(pixels: Any, lo: int, hi: int, full: Any, half: Any) -> None:
    """For the ``(g, 64, 64)`` uint8 grids ``lo:hi``: column and row mean profiles into
    ``full[k, 0]`` and ``full[k, 1]`` (``(g, 2, 64)`` float32), the same halved into ``half``
    (``(g, 2, 32)``)."""
    n = pixels.shape[1]
    for k in range(lo, hi):
        for r in range(n):
            acc = 0.0
            for c in range(n):
                acc += pixels[k, r, c]
            full[k, 1, r] = acc / n
        for c in range(n):
            acc = 0.0
            for r in range(n):
                acc += pixels[k, r, c]
            full[k, 0, c] = acc / n
        _halve(full[k, 0], half[k, 0])
        _halve(full[k, 1], half[k, 1])


@_jit
def grid_hashes(pixels: Any, rows: Any, dct: Any, dct_t: Any, hashes: Any, quality: Any) -> None:
    """PDQ of the uint8 grids ``rows`` (packed, Meta's byte order) into ``hashes[k]``, and
    its quality into ``quality[k]``: Meta's computation on the 64×64 grid itself."""
    n = pixels.shape[1]
    grey = np.empty((n, n), np.float32)
    for k in rows:
        for r in range(n):
            for c in range(n):
                grey[r, c] = pixels[k, r, c]
        packed, q, _ = _tail(grey, dct, dct_t)
        hashes[k] = packed
        quality[k] = q


@_jit
def _locate_one(
    full: Any,
    half: Any,
    o: int,
    i: int,
    mirror: bool,
    tables: Any,
    s32: Any,
    s64: Any,
    mirrored: Any,
    window: Any,
) -> bool:
    """The window of grid ``o`` (mirrored left to right when ``mirror``) that grid ``i``
    aligns with, as ``window`` = (x start, x size, y start, y size); False when the profiles
    do not align. ``tables``: as :func:`locate_pairs`. ``mirrored``: scratch ``(2, 64)``
    for the mirrored column profiles."""
    coarse_idx, coarse_w, refine_idx, refine_w, refine_win, params = tables
    n = full.shape[2]
    col_half = half[o, 0]
    col_full = full[o, 0]
    if mirror:
        for k in range(n // 2):
            mirrored[0, k] = half[o, 0, n // 2 - 1 - k]
        for k in range(n):
            mirrored[1, k] = full[o, 0, n - 1 - k]
        col_half = mirrored[0, : n // 2]
        col_full = mirrored[1]
    at_x = 0
    at_y = 0
    for axis in range(2):  # 0: columns (x), 1: rows (y)
        outer = col_half if axis == 0 else half[o, 1]
        c, at = _best_window(outer, half[i, axis], coarse_idx, coarse_w, s32)
        if c < params[0]:
            return False
        if axis == 0:
            at_x = at
        else:
            at_y = at
    for axis in range(2):
        at = at_x if axis == 0 else at_y
        outer = col_full if axis == 0 else full[o, 1]
        c, st, sz = _refine(outer, full[i, axis], at, refine_idx, refine_w, refine_win, s64)
        if c < params[1]:
            return False
        window[2 * axis] = st
        window[2 * axis + 1] = sz
    return True


@_jit
def locate_pairs(
    full: Any,
    half: Any,
    a: Any,
    b: Any,
    dirs: Any,
    tables: Any,
    found: Any,
    windows: Any,
) -> None:
    """For each pair of grid rows ``(a[p], b[p])`` and each direction allowed by
    ``dirs[p]`` (bit 1: ``b`` inside ``a``; bit 2: ``a`` inside ``b``; bits 4 and 8: the
    same with the outer grid mirrored left to right) whose profiles align: that bit in
    ``found[p]`` and the window in ``windows[p, d]`` (``d`` = 0–3 for bits 1, 2, 4, 8).
    ``tables``: the coarse windows' gathers (``idx``, ``weight``), the refinements'
    (``idx``, ``weight``, ``windows``) and the thresholds (min coarse, min refined
    correlation), as :mod:`verisight.clustering.alignment` makes them."""
    n = full.shape[2]
    s32 = np.empty(n // 2, np.float32)
    s64 = np.empty(n, np.float32)
    mirrored = np.empty((2, n), np.float32)
    for p in range(a.shape[0]):
        got = 0
        for d in range(4):
            bit = 1 << d
            if not dirs[p] & bit:
                continue
            o, i = (a[p], b[p]) if d % 2 == 0 else (b[p], a[p])
            if _locate_one(full, half, o, i, d >= 2, tables, s32, s64, mirrored, windows[p, d]):
                got |= bit
        found[p] = got


@_jit
def confirm_pairs(
    pixels: Any,
    hashes: Any,
    quality: Any,
    a: Any,
    b: Any,
    found: Any,
    windows: Any,
    min_quality: int,
    dct: Any,
    dct_t: Any,
    best: Any,
    a_contains: Any,
) -> None:
    """For each pair located by :func:`locate_pairs`: ``best[p]``, the smallest PDQ distance
    between the inner grid's hash (``hashes``, of quality ``quality``) and the hash of the
    located window of the outer one (both of quality at least ``min_quality``), over the
    directions ``found[p]``, or :data:`NO_MATCH`; ``a_contains[p]``, whether that distance
    is of ``b`` inside ``a``."""
    n = pixels.shape[1]
    tmp = np.empty((n, n), np.float32)
    win = np.empty((n, n), np.float32)
    for p in range(a.shape[0]):
        inside_a = NO_MATCH
        inside_b = NO_MATCH
        for d in range(4):
            if not found[p] & (1 << d):
                continue
            o, i = (a[p], b[p]) if d % 2 == 0 else (b[p], a[p])
            if quality[i] < min_quality:
                continue
            _resample(pixels, o, d >= 2, windows[p, d], tmp, win)
            packed, q, _ = _tail(win, dct, dct_t)
            if q < min_quality:
                continue
            dist = 0
            for k in range(32):
                x = packed[k] ^ hashes[i, k]
                while x:
                    x &= x - np.uint8(1)
                    dist += 1
            if d % 2 == 0:
                inside_a = min(inside_a, dist)
            else:
                inside_b = min(inside_b, dist)
        best[p] = min(inside_a, inside_b)
        a_contains[p] = inside_a <= inside_b


@_jit
def _resample(pixels: Any, o: int, mirror: bool, window: Any, tmp: Any, win: Any) -> None:
    """The window (x start, x size, y start, y size) of uint8 grid ``o`` (mirrored left to
    right when ``mirror``) resampled to ``win`` (64×64 float32): rows (y) first, then
    columns (x), linear interpolation."""
    n = pixels.shape[1]
    for r in range(n):
        centre = np.float32(window[2] * n + (r + 0.5) * window[3] - 0.5)
        lo = min(max(math.floor(centre), 0), n - 2)
        w = min(max(centre - lo, np.float32(0.0)), np.float32(1.0))
        for c in range(n):
            src = n - 1 - c if mirror else c
            tmp[r, c] = (
                np.float32(pixels[o, lo, src]) * (np.float32(1.0) - w)
                + np.float32(pixels[o, lo + 1, src]) * w
            )
    for c in range(n):
        centre = np.float32(window[0] * n + (c + 0.5) * window[1] - 0.5)
        lo = min(max(math.floor(centre), 0), n - 2)
        w = min(max(centre - lo, np.float32(0.0)), np.float32(1.0))
        for r in range(n):
            win[r, c] = tmp[r, lo] * (np.float32(1.0) - w) + tmp[r, lo + 1] * w


@_jit
def screen_pairs(
    keys: Any, a: Any, b: Any, want: Any, coarse_idx: Any, coarse_w: Any, min_corr: float, out: Any
) -> None:
    """Of the directions ``want[p]`` (as :func:`align_pairs`' ``dirs``), those in which the
    halved profiles stored in the layout keys (``(t, 192)`` uint8: 64 thumbnail bytes, 64
    column means, 64 row means) align on a coarse window with a correlation of at least
    ``min_corr`` on both axes."""
    t0 = keys.shape[1] - 128
    pa = np.empty((3, 32), np.float32)  # columns, rows, columns mirrored
    pb = np.empty((3, 32), np.float32)
    s32 = np.empty(32, np.float32)
    for p in range(a.shape[0]):
        for axis in range(2):
            base = t0 + 64 * axis
            for i in range(32):
                pa[axis, i] = (
                    np.float32(keys[a[p], base + 2 * i]) + np.float32(keys[a[p], base + 2 * i + 1])
                ) * np.float32(0.5)
                pb[axis, i] = (
                    np.float32(keys[b[p], base + 2 * i]) + np.float32(keys[b[p], base + 2 * i + 1])
                ) * np.float32(0.5)
        for i in range(32):
            pa[2, i] = pa[0, 31 - i]
            pb[2, i] = pb[0, 31 - i]
        d = 0
        for bit in (1, 2, 4, 8):
            if not want[p] & bit:
                continue
            outer = pa if bit == 1 or bit == 4 else pb
            inner = pb if bit == 1 or bit == 4 else pa
            ok = True
            for axis in range(2):
                src = 2 if bit >= 4 and axis == 0 else axis
                c, _ = _best_window(outer[src], inner[axis], coarse_idx, coarse_w, s32)
                if c < min_corr:
                    ok = False
                    break
            if ok:
                d |= bit
        out[p] = d


__all__ = [
    "NO_MATCH", "_DCT", "_DCT_T", "confirm_pairs", "grid_hashes", "locate_pairs", "profiles",
    "screen_pairs",
]  # fmt: skip
