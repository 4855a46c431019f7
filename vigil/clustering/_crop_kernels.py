"""Compiled inner loops of the crop pass (:mod:`vigil.clustering.crops`), one pair at a time.

Screening and aligning a pair is a few hundred small operations on 32- and 64-sample
profiles and one 64×64 window: NumPy can only batch that through fancy-index gathers and
tiny batched matrix products, at ~0.5–0.9 ms a pair; a compiled loop over pairs does the
same arithmetic in ~0.05 ms and needs no per-batch temporaries. The kernels release the
GIL (``nogil``): :func:`vigil.clustering.crops` runs chunks of pairs on a thread per core.

What is computed is described in :mod:`vigil.clustering.crops`; the window's PDQ is Meta's
own computation (:func:`vigil.analysis._pdq_full._tail`: the reference's float32 DCT, Torben
median and quality metric), so a window hash is exactly what ``pdqhash`` gives for that
64×64 image. Correlations accumulate in float64 over float32 samples.

Compiled on first use (``cache=True``).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from vigil.analysis._pdq_full import _DCT, _DCT_T, _tail
from vigil.clustering.crops import NO_MATCH

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
def _best_window(outer: Any, inner: Any, idx: Any, weight: Any, centred: Any) -> tuple[float, int]:
    """Best correlation of ``inner`` with a window of ``outer`` given as interpolation
    tables (``idx``, ``weight``: ``(windows, n)``, as :func:`_window` computes them), and
    that window's row (the first of equals)."""
    n = inner.shape[0]
    norm_i = _centre(inner, centred)
    best = -np.inf
    at = 0
    for k in range(idx.shape[0]):
        s = 0.0
        ss = 0.0
        dot = 0.0
        for i in range(n):
            j = idx[k, i]
            w = weight[k, i]
            v = outer[j] * (np.float32(1.0) - w) + outer[j + 1] * w
            s += v
            ss += v * v
            dot += v * centred[i]
        var = ss - s * s / n
        c = dot / (math.sqrt(max(var, 0.0)) * norm_i + _EPS)
        if c > best:
            best = c
            at = k
    return best, at


@_jit
def _refine(
    outer: Any, inner: Any, start: float, size: float, offsets: Any, min_side: float, centred: Any
) -> tuple[float, float, float]:
    """Best correlation over the windows ``(start + ds, size + dz)`` for the rows ``(ds, dz)``
    of ``offsets`` that stay inside the axis and no smaller than ``min_side``: (correlation,
    start, size); ``-inf`` when none is valid."""
    n = inner.shape[0]
    norm_i = _centre(inner, centred)
    best = -np.inf
    best_start = start
    best_size = size
    for k in range(offsets.shape[0]):
        st = np.float32(start) + offsets[k, 0]
        sz = np.float32(size) + offsets[k, 1]
        if sz < min_side - 1e-6 or sz > 1 + 1e-6 or st < -1e-6 or st + sz > 1 + 1e-6:
            continue
        s = 0.0
        ss = 0.0
        dot = 0.0
        for i in range(n):
            centre = st * n + (i + np.float32(0.5)) * sz - np.float32(0.5)
            j = min(max(math.floor(centre), 0), n - 2)
            w = min(max(centre - j, np.float32(0.0)), np.float32(1.0))
            v = outer[j] * (np.float32(1.0) - w) + outer[j + 1] * w
            s += v
            ss += v * v
            dot += v * centred[i]
        var = ss - s * s / n
        c = dot / (math.sqrt(max(var, 0.0)) * norm_i + _EPS)
        if c > best:
            best = c
            best_start = st
            best_size = sz
    return best, best_start, best_size


@_jit
def _halve(profile: Any, out: Any) -> None:
    for i in range(out.shape[0]):
        out[i] = (profile[2 * i] + profile[2 * i + 1]) * np.float32(0.5)


@_jit
def prepare_grids(
    pixels: Any,
    lo: int,
    hi: int,
    dct: Any,
    dct_t: Any,
    full: Any,
    half: Any,
    hashes: Any,
    quality: Any,
) -> None:
    """For the ``(g, 64, 64)`` float32 grids ``lo:hi``: column and row profiles into
    ``full[k, 0]`` and ``full[k, 1]`` (``(g, 2, 64)``), the same halved into ``half``
    (``(g, 2, 32)``), the grid's PDQ hash (packed, Meta's byte order) into ``hashes[k]`` and
    its quality into ``quality[k]``."""
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
        packed, q, _ = _tail(pixels[k], dct, dct_t)
        hashes[k] = packed
        quality[k] = q


@_jit
def _align_one(
    pixels: Any,
    full: Any,
    half: Any,
    hashes: Any,
    quality: Any,
    o: int,
    i: int,
    mirror: bool,
    coarse: Any,
    coarse_idx: Any,
    coarse_w: Any,
    offsets: Any,
    params: Any,
    dct: Any,
    dct_t: Any,
    s32: Any,
    s64: Any,
    tmp: Any,
    win: Any,
    mirrored: Any,
) -> int:
    """PDQ distance between grid ``i`` and the window of grid ``o`` (mirrored left to right
    when ``mirror``) it aligns with, or :data:`NO_MATCH`. ``params``: min coarse
    correlation, min refined correlation, min side, min grid quality. ``mirrored``: scratch
    ``(2, 64)`` for the mirrored column profiles."""
    n = pixels.shape[1]
    if quality[i] < params[3]:
        return NO_MATCH
    col_half = half[o, 0]
    col_full = full[o, 0]
    if mirror:
        for k in range(n // 2):
            mirrored[0, k] = half[o, 0, n // 2 - 1 - k]
        for k in range(n):
            mirrored[1, k] = full[o, 0, n - 1 - k]
        col_half = mirrored[0, : n // 2]
        col_full = mirrored[1]
    starts = np.empty(2, np.float32)
    sizes = np.empty(2, np.float32)
    coarse_at = np.empty(2, np.int64)
    for axis in range(2):  # 0: columns (x), 1: rows (y)
        outer = col_half if axis == 0 else half[o, 1]
        c, at = _best_window(outer, half[i, axis], coarse_idx, coarse_w, s32)
        if c < params[0]:
            return NO_MATCH
        coarse_at[axis] = at
    for axis in range(2):
        at = coarse_at[axis]
        outer = col_full if axis == 0 else full[o, 1]
        c, st, sz = _refine(
            outer, full[i, axis], coarse[at, 0], coarse[at, 1], offsets, params[2], s64
        )
        if c < params[1]:
            return NO_MATCH
        starts[axis] = st
        sizes[axis] = sz
    # the window of o: rows resampled (y), then columns (x), linear interpolation
    for r in range(n):
        centre = np.float32(starts[1] * n + (r + 0.5) * sizes[1] - 0.5)
        lo = min(max(math.floor(centre), 0), n - 2)
        w = min(max(centre - lo, np.float32(0.0)), np.float32(1.0))
        for c in range(n):
            src = n - 1 - c if mirror else c
            tmp[r, c] = pixels[o, lo, src] * (np.float32(1.0) - w) + pixels[o, lo + 1, src] * w
    for c in range(n):
        centre = np.float32(starts[0] * n + (c + 0.5) * sizes[0] - 0.5)
        lo = min(max(math.floor(centre), 0), n - 2)
        w = min(max(centre - lo, np.float32(0.0)), np.float32(1.0))
        for r in range(n):
            win[r, c] = tmp[r, lo] * (np.float32(1.0) - w) + tmp[r, lo + 1] * w
    packed, q, _ = _tail(win, dct, dct_t)
    if q < params[3]:
        return NO_MATCH
    d = 0
    for b in range(32):
        x = packed[b] ^ hashes[i, b]
        while x:
            x &= x - np.uint8(1)
            d += 1
    return d


@_jit
def align_pairs(
    pixels: Any,
    full: Any,
    half: Any,
    hashes: Any,
    quality: Any,
    a: Any,
    b: Any,
    dirs: Any,
    coarse: Any,
    coarse_idx: Any,
    coarse_w: Any,
    offsets: Any,
    params: Any,
    dct: Any,
    dct_t: Any,
    best: Any,
    a_contains: Any,
) -> None:
    """For each pair of grid rows ``(a[p], b[p])``: ``best[p]``, the smallest distance of
    the directions allowed by ``dirs[p]`` (bit 1: ``b`` inside ``a``; bit 2: ``a`` inside
    ``b``; bits 4 and 8: the same with the outer grid mirrored left to right), and
    ``a_contains[p]``, whether that distance is of ``b`` inside ``a``."""
    n = pixels.shape[1]
    s32 = np.empty(n // 2, np.float32)
    s64 = np.empty(n, np.float32)
    tmp = np.empty((n, n), np.float32)
    win = np.empty((n, n), np.float32)
    mirrored = np.empty((2, n), np.float32)
    for p in range(a.shape[0]):
        inside_a = NO_MATCH
        inside_b = NO_MATCH
        for bit in (1, 2, 4, 8):
            if not dirs[p] & bit:
                continue
            b_inside = bit == 1 or bit == 4
            o, i = (a[p], b[p]) if b_inside else (b[p], a[p])
            d = _align_one(
                pixels, full, half, hashes, quality, o, i, bit >= 4, coarse, coarse_idx,
                coarse_w, offsets, params, dct, dct_t, s32, s64, tmp, win, mirrored,
            )  # fmt: skip
            if b_inside:
                inside_a = min(inside_a, d)
            else:
                inside_b = min(inside_b, d)
        best[p] = min(inside_a, inside_b)
        a_contains[p] = inside_a <= inside_b


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


__all__ = ["NO_MATCH", "_DCT", "_DCT_T", "align_pairs", "prepare_grids", "screen_pairs"]
