"""Full-resolution PDQ compiled with numba, bit for bit Meta's reference (``pdqhash``).

:func:`pdq_full` returns exactly what :func:`verisight.analysis.pdq.pdq_from_pixels` returns
(``pdqhash.compute``: Meta's C++ behind a float64 luminance step) for every ``(h, w, 3)``
uint8 array, hash bits and quality, in about a fifteenth of the time (720p frame, one core:
1.6-1.7 ms against 26-29 ms). Video frames are hashed at full size, as vPDQ does
(:func:`verisight.analysis.video.frame_feature`), which is what this is for. Identity is checked
by ``tests/analysis/test_pdq_full.py``: Meta's test images, generated scenes of many sizes,
noise, flat images, decoded video frames, and the 16x16 float DCT output too, against
``pdqhash.compute_float``.

Meta's algorithm (``pdq/cpp/hashing/pdqhashing.cpp``, ``downscaling/downscaling.cpp``): float
luminance; a Jarosz filter, i.e. twice (a 1D box filter along every row, window
``ceil(w / 128)``, then along every column, window ``ceil(h / 128)``), each box a running
float sum (add the entering sample, subtract the leaving one, divide by the window); decimation
to 64x64 at ``floor((i + 0.5) * n / 64)``; the quality metric on that 64x64; a 16x64 then
16x16 float DCT; bits above the Torben median. A 64x64 input skips the filter. Every float
operation here is the reference's, on float32, in the reference's order (no reassociation,
no fused multiply-add: numba compiles without fast-math), so every intermediate value is
bit-identical. What changes is only the order in which independent sums are computed:

* Luminance: ``pdqhash`` computes ``float32(R*0.299 + G*0.587 + B*0.114)`` in float64.
  That equals ``float32(299R + 587G + 114B) / 1000`` in float32: the integer sum is exact in
  float32 and IEEE division rounds ``N / 1000`` correctly; the float64 value is within
  ~2^-50 (relative) of ``N / 1000``, which is never within 2^-35 of a float32 rounding
  boundary (``N / 1000`` is a float32 or at least ``2^(e-24) / 1000`` from any midpoint), so
  both round to the same float32. Checked for all 2^24 colours by the tests.
* Box filters run many independent sums side by side in SIMD lanes: along columns the lanes
  are the columns (contiguous); along rows, blocks of :data:`BLOCK` rows are transposed (8x8
  in registers, :func:`_transpose8`) so that the rows become lanes.
* Only what decimation reads is kept: the image streams through in blocks of rows (a ring
  of row-filtered rows for the column sum; nothing full-size is allocated), the second row
  pass divides only at the 64 sampled columns, and the second column pass runs only on
  those columns, dividing only at the 64 sampled rows.

Compiled on first use (``cache=True``): about 8 s once per installation (and after an edit
of this file), then about 0.4 s per process to load from the cache.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numba
import numpy as np
from llvmlite import ir as _ir  # type: ignore[import-untyped, unused-ignore]
from numba import types as _nbt
from numba.extending import intrinsic as _intrinsic

__all__ = ["BLOCK", "pdq_dihedral_full", "pdq_full"]

#: Rows filtered together (SIMD lanes of the row passes); a multiple of 8. Measured best of
#: 16-128 on 720p (the working set stays in L2).
BLOCK = 32
#: The reference returns an all-zero hash of quality 0 below this size.
_MIN_SIDE = 5
_ZERO_HASH = "0" * 64


def pdq_full(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ of an ``(height, width, 3)`` uint8 RGB array: (64 lowercase hex, quality 0-100).

    Exactly :func:`verisight.analysis.pdq.pdq_from_pixels` (``pdqhash.compute``), faster.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] < _MIN_SIDE or rgb.shape[1] < _MIN_SIDE:
        return _ZERO_HASH, 0
    packed, quality, _ = _hash(rgb)
    return bytes(packed).hex(), int(quality)


def pdq_dihedral_full(rgb: np.ndarray) -> list[tuple[str, int]]:
    """PDQ of the 8 rotations/flips of ``rgb`` from one DCT, in Meta's order (original,
    rotate90, rotate180, rotate270, flipX, flipY, flipPlus1, flipMinus1).

    Exactly ``pdqhash.compute_dihedral``: the reference derives each variant from the 16x16
    DCT output by transposing it and negating alternate rows or columns
    (``dct16OriginalTo*`` in ``pdqhashing.cpp``), then takes the bits above that matrix's
    Torben median. Negation and transposition are exact on floats, so the same steps here
    give the same bits.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] < _MIN_SIDE or rgb.shape[1] < _MIN_SIDE:
        return [(_ZERO_HASH, 0)] * 8
    packed, quality, b = _hash(rgb)
    hashes = [bytes(packed).hex()]
    for sign, transpose in _DIHEDRAL:
        variant = b.T * sign if transpose else b * sign
        hashes.append(_bits(np.ascontiguousarray(variant, np.float32).reshape(-1)))
    return [(h, quality) for h in hashes]


def _bits(coefficients: np.ndarray) -> str:
    """Meta's 256 hash bits of 256 DCT coefficients (above their Torben median), as hex."""
    above = coefficients > _torben(coefficients)
    # Bit k (i * 16 + j) is bit k % 8 of byte 31 - k // 8 of the printed hash.
    return np.packbits(above.reshape(32, 8), axis=1, bitorder="little")[::-1].tobytes().hex()


def _hash(rgb: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """(32 hash bytes, big-endian as Meta prints them; quality; the 16x16 float DCT output
    that ``pdqFloat256FromFloatLuma`` leaves) of ``rgb`` (sides >= 5).

    Two compiled calls, not one: numba re-optimises a callee inside each caller, so a
    deeper call tree compiles for longer (seconds) and runs no faster.
    """
    view = _readonly(rgb)
    if view.shape[0] == 64 and view.shape[1] == 64:  # the reference skips the filter
        a = np.empty((64, 64), np.float32)
        _luma(view.reshape(-1), a.reshape(-1))
    else:
        a = _filter_decimate(view)
    packed, quality, coefficients = _tail(a, _DCT, _DCT_T)
    return packed, int(quality), coefficients


def _readonly(rgb: np.ndarray) -> np.ndarray:
    """A C-contiguous read-only view of ``rgb`` (a copy only when not contiguous), so that
    decoded frames (writable) and Pillow arrays (read-only) share one compiled kernel."""
    view = np.ascontiguousarray(rgb).view()
    view.flags.writeable = False
    return view


def _dct_matrix() -> np.ndarray:
    """Meta's 16x64 DCT matrix, computed as the C++ does (float scale, double cosine)."""
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    d = np.empty((16, 64), np.float32)
    for i in range(16):
        for j in range(64):
            d[i, j] = scale * math.cos((math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1))
    return d


_DCT = _dct_matrix()
_DCT_T = np.ascontiguousarray(_DCT.T)

_ROW_ODD = (np.arange(16) % 2 == 1)[:, None]  # i odd, for B indexed as A[i][j]
_COL_ODD = (np.arange(16) % 2 == 1)[None, :]  # j odd
_PLUS, _MINUS = np.float32(1.0), np.float32(-1.0)
#: (sign applied to A[i][j], whether B is the transpose) for rotate90, rotate180, rotate270,
#: flipX, flipY, flipPlus1 and flipMinus1 (``pdqhashing.cpp``'s ``dct16OriginalTo*``). The sign
#: is indexed like A, so a transposed variant is ``(A * sign).T``, written ``A.T * sign.T``.
_DIHEDRAL_A = (
    (np.where(_COL_ODD, _PLUS, _MINUS), True),
    (np.where(_ROW_ODD ^ _COL_ODD, _MINUS, _PLUS), False),
    (np.where(_ROW_ODD, _PLUS, _MINUS), True),
    (np.where(_ROW_ODD, _PLUS, _MINUS), False),
    (np.where(_COL_ODD, _PLUS, _MINUS), False),
    (np.ones((16, 16), np.float32), True),
    (np.where(_ROW_ODD ^ _COL_ODD, _MINUS, _PLUS), True),
)
_DIHEDRAL = tuple(
    (np.ascontiguousarray(sign.T) if transpose else sign, transpose)
    for sign, transpose in _DIHEDRAL_A
)


# ------------------------------------------------------------------ 8x8 transpose

_I32 = _ir.IntType(32)


def _mask(*lanes: int) -> Any:
    return _ir.Constant(_ir.VectorType(_I32, len(lanes)), list(lanes))


# The classic AVX 8x8 float transpose: unpacklo/hi, shuffle_ps, permute2f128 (as IR
# shuffles, so LLVM picks the instructions for the target).
_UNPACK_LO = _mask(0, 8, 1, 9, 4, 12, 5, 13)
_UNPACK_HI = _mask(2, 10, 3, 11, 6, 14, 7, 15)
_PAIR_LO = _mask(0, 1, 8, 9, 4, 5, 12, 13)
_PAIR_HI = _mask(2, 3, 10, 11, 6, 7, 14, 15)
_HALF_LO = _mask(0, 1, 2, 3, 8, 9, 10, 11)
_HALF_HI = _mask(4, 5, 6, 7, 12, 13, 14, 15)


def _transpose8_typer(
    typingctx: Any, src: Any, src_at: Any, src_row: Any, dst: Any, dst_at: Any, dst_row: Any
) -> Any:
    for a in (src, dst):
        if not isinstance(a, _nbt.Array) or a.dtype != _nbt.float32 or a.layout != "C":
            return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        vec = _ir.VectorType(_ir.FloatType(), 8).as_pointer()

        def row_ptr(array_arg: int, at: Any, stride: Any, r: int) -> Any:
            ary = context.make_array(signature.args[array_arg])(
                context, builder, value=args[array_arg]
            )
            index = builder.add(at, builder.mul(stride, _ir.Constant(stride.type, r)))
            return builder.bitcast(builder.gep(ary.data, [index]), vec)

        rows = [builder.load(row_ptr(0, args[1], args[2], r), align=4) for r in range(8)]
        sv = builder.shuffle_vector
        t = []
        for r in range(0, 8, 2):
            t += [sv(rows[r], rows[r + 1], _UNPACK_LO), sv(rows[r], rows[r + 1], _UNPACK_HI)]
        u = []
        for a, b in ((0, 2), (1, 3), (4, 6), (5, 7)):
            u += [sv(t[a], t[b], _PAIR_LO), sv(t[a], t[b], _PAIR_HI)]
        out = [sv(u[r], u[r + 4], _HALF_LO) for r in range(4)]
        out += [sv(u[r], u[r + 4], _HALF_HI) for r in range(4)]
        for r in range(8):
            builder.store(out[r], row_ptr(3, args[4], args[5], r), align=4)
        return context.get_dummy_value()

    return _nbt.void(src, _nbt.int64, _nbt.int64, dst, _nbt.int64, _nbt.int64), codegen


#: ``_transpose8(src, at, row, dst, at2, row2)``: the 8x8 float32 block of ``src`` whose row
#: ``r`` starts at flat index ``at + r * row`` is written transposed to ``dst`` (row ``r`` at
#: ``at2 + r * row2``). Both arrays C-contiguous; no bounds checks (callers stay inside).
_transpose8 = cast(Any, _intrinsic(_transpose8_typer))


def _jit(fn: Any) -> Any:
    return numba.njit(cache=True, nogil=True)(fn)


# ------------------------------------------------------------------ kernels


@_jit
def _transpose(src: Any, dst: Any) -> None:
    """``dst[:] = src.T`` for C-contiguous 2D float32 arrays (``dst`` is ``(w, h)``)."""
    h, w = src.shape
    h8 = h - h % 8
    w8 = w - w % 8
    for i0 in range(0, h8, 8):
        for j0 in range(0, w8, 8):
            _transpose8(src, np.int64(i0 * w + j0), np.int64(w), dst, np.int64(j0 * h + i0), h)
        for j in range(w8, w):
            for a in range(8):
                dst[j, i0 + a] = src[i0 + a, j]
    for i in range(h8, h):
        for j in range(w):
            dst[j, i] = src[i, j]


@_jit
def _luma(rgb: Any, out: Any) -> None:
    """Luminance of flat interleaved RGB bytes, bit for bit ``pdqhash``'s (module docs)."""
    for p in range(out.shape[0]):
        n = (
            np.float32(rgb[3 * p]) * np.float32(299.0)
            + np.float32(rgb[3 * p + 1]) * np.float32(587.0)
            + np.float32(rgb[3 * p + 2]) * np.float32(114.0)
        )
        out[p] = n / np.float32(1000.0)


@_jit
def _box(src: Any, dst: Any, window: int, acc: Any) -> None:
    """Meta's ``box1DFloat`` along axis 0 of ``src`` (``n`` x lanes), every lane at once."""
    n, lanes = src.shape
    half = (window + 2) // 2
    for j in range(lanes):
        acc[j] = np.float32(0.0)
    count = 0
    for ri in range(half - 1):
        for j in range(lanes):
            acc[j] += src[ri, j]
        count += 1
    oi = 0
    for ri in range(half - 1, window):
        count += 1
        d = np.float32(count)
        for j in range(lanes):
            acc[j] += src[ri, j]
            dst[oi, j] = acc[j] / d
        oi += 1
    d = np.float32(count)
    for ri in range(window, n):
        li = ri - window
        for j in range(lanes):
            acc[j] += src[ri, j]
            acc[j] -= src[li, j]
            dst[oi, j] = acc[j] / d
        oi += 1
    for li in range(n - window, n - window + half - 1):
        count -= 1
        d = np.float32(count)
        for j in range(lanes):
            acc[j] -= src[li, j]
            dst[oi, j] = acc[j] / d
        oi += 1


@_jit
def _box_picked(src: Any, window: int, picks: Any, dst: Any, acc: Any) -> None:
    """:func:`_box`, keeping only output ``picks[p]`` as ``dst[p]`` (``picks`` sorted)."""
    n, lanes = src.shape
    half = (window + 2) // 2
    npicks = picks.shape[0]
    for j in range(lanes):
        acc[j] = np.float32(0.0)
    count = 0
    p = 0
    for ri in range(n + half - 1):
        if ri < window:
            count += 1
            for j in range(lanes):
                acc[j] += src[ri, j]
        elif ri < n:
            li = ri - window
            for j in range(lanes):
                acc[j] += src[ri, j]
                acc[j] -= src[li, j]
        else:
            li = ri - window
            count -= 1
            for j in range(lanes):
                acc[j] -= src[li, j]
        oi = ri - half + 1
        if oi >= 0:
            d = np.float32(count)
            while p < npicks and picks[p] == oi:
                for j in range(lanes):
                    dst[p, j] = acc[j] / d
                p += 1


@_jit
def _filter_decimate(rgb: Any) -> Any:
    """The 64x64 decimation of the Jarosz-filtered luminance of ``rgb`` (``h``, ``w`` > 0)."""
    h, w = rgb.shape[0], rgb.shape[1]
    picks_r = np.empty(64, np.int64)
    picks_c = np.empty(64, np.int64)
    for i in range(64):  # decimateFloat's sample positions, in double as there
        picks_r[i] = int(((i + 0.5) * h) / 64)
        picks_c[i] = int(((i + 0.5) * w) / 64)
    wr = (w + 127) // 128  # computeJaroszFilterWindowSize(w, 64): along rows
    wc = (h + 127) // 128  # ... along columns
    half_c = (wc + 2) // 2
    flat = rgb.reshape(-1)
    ring = BLOCK * (1 + (wc + BLOCK - 1) // BLOCK)  # row-filtered rows kept (>= BLOCK + wc)
    luma = np.empty(BLOCK * w, np.float32)
    lanes = np.empty(w * BLOCK, np.float32)
    lanes_out = np.empty(w * BLOCK, np.float32)
    r1 = np.empty((ring, w), np.float32)
    r1_flat = r1.reshape(-1)
    c1 = np.empty((BLOCK, w), np.float32)  # column-filtered rows awaiting row pass 2
    acc = np.zeros(w, np.float32)
    acc_small = np.empty(max(BLOCK, 64), np.float32)
    kept = np.empty(64 * BLOCK, np.float32)
    cols = np.empty((64, h), np.float32)
    count = 0
    for i0 in range(0, h + half_c - 1, BLOCK):
        nb = min(BLOCK, h - i0) if i0 < h else 0
        if nb > 0:
            # Row pass 1 on rows i0..i0+nb: luminance, transposed so rows are lanes.
            luma_b = luma[: nb * w]
            _luma(flat[i0 * w * 3 : (i0 + nb) * w * 3], luma_b)
            lanes_b = lanes[: w * nb].reshape(w, nb)
            out_b = lanes_out[: w * nb].reshape(w, nb)
            _transpose(luma_b.reshape(nb, w), lanes_b)
            _box(lanes_b, out_b, wr, acc_small)
            slot = i0 % ring
            _transpose(out_b, r1_flat[slot * w : (slot + nb) * w].reshape(nb, w))
        # Column pass 1, streaming: add row ri (and drop row ri - wc); after the last row,
        # the final half-window of drops.
        for ri in range(i0, min(i0 + BLOCK, h + half_c - 1)):
            if ri < h:
                row = r1[ri % ring]
                if ri < wc:
                    count += 1
                    for j in range(w):
                        acc[j] += row[j]
                else:
                    old = r1[(ri - wc) % ring]
                    for j in range(w):
                        acc[j] += row[j]
                        acc[j] -= old[j]
            else:
                old = r1[(ri - wc) % ring]
                count -= 1
                for j in range(w):
                    acc[j] -= old[j]
            oi = ri - half_c + 1
            if oi < 0:
                continue
            d = np.float32(count)
            c = c1[oi % BLOCK]
            for j in range(w):
                c[j] = acc[j] / d
            if oi % BLOCK == BLOCK - 1 or oi == h - 1:
                # Row pass 2 on the block of column-filtered rows, divided only at the
                # sampled columns: cols[p, i] is row i's value at column picks_c[p].
                nb = oi % BLOCK + 1
                first = oi - nb + 1
                lanes_b = lanes[: w * nb].reshape(w, nb)
                _transpose(c1.reshape(-1)[: nb * w].reshape(nb, w), lanes_b)
                kept_b = kept[: 64 * nb].reshape(64, nb)
                _box_picked(lanes_b, wr, picks_c, kept_b, acc_small)
                for p in range(64):
                    for k in range(nb):
                        cols[p, first + k] = kept_b[p, k]
    # Column pass 2 on the 64 sampled columns, keeping the 64 sampled rows.
    sampled = np.empty((h, 64), np.float32)
    _transpose(cols, sampled)
    out = np.empty((64, 64), np.float32)
    _box_picked(sampled, wc, picks_r, out, acc_small)
    return out


@_jit
def _torben(m: Any) -> Any:
    """Meta's Torben median (``torben.cpp``), float32 as there."""
    n = m.shape[0]
    lo = m[0]
    hi = m[0]
    for i in range(1, n):
        if m[i] < lo:
            lo = m[i]
        if m[i] > hi:
            hi = m[i]
    half = (n + 1) // 2
    while True:
        guess = (lo + hi) / np.float32(2.0)
        less = 0
        greater = 0
        equal = 0
        max_lt = lo
        min_gt = hi
        for i in range(n):
            if m[i] < guess:
                less += 1
                if m[i] > max_lt:
                    max_lt = m[i]
            elif m[i] > guess:
                greater += 1
                if m[i] < min_gt:
                    min_gt = m[i]
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= half:
        return max_lt
    if less + equal >= half:
        return guess
    return min_gt


@_jit
def _tail(a: Any, dct: Any, dct_t: Any) -> Any:
    """Quality, DCT and bits of the 64x64 decimation ``a``: (packed bits, quality, DCT)."""
    # pdqImageDomainQualityMetric (sizes read from the arrays: constant trip counts make
    # LLVM unroll everything, for no gain and seconds of compile time).
    n = a.shape[0]
    gradient = 0
    for i in range(n - 1):
        for j in range(n):
            gradient += abs(int(((a[i, j] - a[i + 1, j]) * np.float32(100.0)) / np.float32(255.0)))
    for i in range(n):
        for j in range(n - 1):
            gradient += abs(int(((a[i, j] - a[i, j + 1]) * np.float32(100.0)) / np.float32(255.0)))
    quality = min(gradient // 90, 100)
    # dct64To16: T = D A, B = T D^T, each sum over k = 0..63 in order.
    m = dct.shape[0]
    t = np.zeros((m, n), np.float32)
    for i in range(m):
        for k in range(n):
            dik = dct[i, k]
            for j in range(n):
                t[i, j] += dik * a[k, j]
    b = np.zeros((m, m), np.float32)
    for i in range(m):
        for k in range(n):
            tik = t[i, k]
            for j in range(m):
                b[i, j] += tik * dct_t[k, j]
    # pdqBuffer16x16ToBits
    coeffs = b.reshape(-1)
    median = _torben(coeffs)
    packed = np.zeros(32, np.uint8)
    for k in range(coeffs.shape[0]):  # bit k (i * 16 + j) of Meta's 256-bit hash
        if coeffs[k] > median:
            packed[31 - (k >> 3)] |= np.uint8(1 << (k & 7))
    return packed, quality, b
