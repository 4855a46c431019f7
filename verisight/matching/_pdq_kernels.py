"""Inner loops of the PDQ index: compiled with numba when it is installed, numpy otherwise.

Both back ends take the same arguments and return the same arrays, so the index can use
either and the tests run both against brute force. The compiled one is the fast path; the
numpy one exists so that Verisight still imports, and still answers exactly (more slowly), where
numba has no wheel yet (new CPython releases).

Layout (built in :mod:`verisight.matching._pdq_segment`): a segment's hashes are ``h64``,
``(n, 4)`` little-endian ``uint64`` words. Each word holds ``64 // width`` chunks of ``width``
bits (chunk ``c`` is word ``c // per_word``, bits ``width * (c % per_word)`` upwards), and
each chunk is keyed on its top ``key_bits`` bits. Rows are sorted by chunk 0's key, so chunk
0's buckets are row ranges; for the other chunks ``positions[c-1]`` lists the rows sorted by
that chunk's key as 3-byte little-endian integers, and ``offsets[c, key] : offsets[c, key+1]``
is the bucket of ``key`` in that order.

A query probes, in each chunk ``c``, the buckets whose key differs from its own in at most
``radii[c]`` bits (the first ``nmasks[c]`` entries of ``masks``, sorted by popcount), checks
every candidate's full 256-bit distance, and reports a row from the first chunk whose probe
finds it only, so no row is reported twice and no set is needed. The compiled kernel works
in three passes per query (bucket bounds, candidate rows, distances) and prefetches each
pass's random reads ahead of use: the search is bound by memory latency, not arithmetic.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from verisight.matching import _pdq_numpy as _np
from verisight.matching._pdq_numpy import I32, I64, U8, U32, U64, Hits

if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
    raise ImportError("verisight.matching's PDQ index assumes a little-endian machine")

F = TypeVar("F", bound=Callable[..., Any])

#: How many candidates ahead the verification pass prefetches (measured best of 4–64).
PREFETCH_AHEAD = 16

try:
    import numba
    from llvmlite import ir as _ir  # type: ignore[import-untyped, unused-ignore]
    from numba import types as _nbt
    from numba.extending import intrinsic as _intrinsic

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def _popcount64(x: Any) -> int:
    """Set bits of a 64-bit word (pure Python; LLVM's ``ctpop`` when compiled)."""
    return int(x).bit_count()


def _prefetch(array: Any, index: Any) -> None:
    """Hint that ``array.flat[index]`` is needed soon (no-op; ``llvm.prefetch`` compiled)."""


if HAVE_NUMBA:

    def _ctpop_typer(typingctx: Any, x: Any) -> Any:
        if not isinstance(x, _nbt.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.ctpop(args[0])

        return _nbt.int64(x), codegen

    def _prefetch_typer(typingctx: Any, array: Any, index: Any) -> Any:
        if not isinstance(array, _nbt.Array) or not isinstance(index, _nbt.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            ary = context.make_array(signature.args[0])(context, builder, value=args[0])
            i8p = _ir.IntType(8).as_pointer()
            i32 = _ir.IntType(32)
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
            fnty = _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
            builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
            return context.get_dummy_value()

        return _nbt.void(array, index), codegen

    _popcount64 = cast(Any, _intrinsic(_ctpop_typer))
    _prefetch = cast(Any, _intrinsic(_prefetch_typer))


def _grow_i64(a: I64, need: int | np.int64) -> I64:
    out = np.empty(max(need, 2 * a.shape[0]), np.int64)
    out[: a.shape[0]] = a
    return out


def _grow_i32(a: I32, need: int | np.int64) -> I32:
    out = np.empty(max(need, 2 * a.shape[0]), np.int32)
    out[: a.shape[0]] = a
    return out


# Arrays are only ever replaced (grown) between queries or blocks, never inside the hot
# loops: numba reference-counts an array variable that a loop may reassign on every
# iteration, and those atomic increments cost more than the popcounts.


def _mih_search_py(
    h64: U64,
    offsets: U32,
    positions: U8,
    q64: U64,
    masks: I64,
    nmasks: I64,
    radii: I64,
    width: int,
    key_bits: int,
    radius: int,
) -> Hits:
    """Multi-index probe and verify for a block of queries (numba-compiled below)."""
    chunks = nmasks.shape[0]
    per_word = 64 // width
    kshift = np.uint64(width - key_bits)
    wmask = np.uint64((1 << width) - 1)
    hflat = h64.reshape(-1)
    oflat = offsets.reshape(-1)
    pflat = positions.reshape(-1)
    ostride = offsets.shape[1]
    pstride = positions.shape[1] if positions.ndim == 2 else 0
    total_probes = 0
    for c in range(chunks):
        total_probes += nmasks[c]
    p_chunk = np.empty(total_probes, np.int64)
    p_key = np.empty(total_probes, np.int64)
    p_start = np.empty(total_probes, np.int64)
    p_end = np.empty(total_probes, np.int64)
    bounds = np.empty(chunks + 1, np.int64)
    cand = np.empty(4096, np.int64)
    found_r = np.empty(4096, np.int64)
    found_d = np.empty(4096, np.int32)
    out_q = np.empty(256, np.int64)
    out_r = np.empty(256, np.int64)
    out_d = np.empty(256, np.int32)
    count = 0
    for qi in range(q64.shape[0]):
        q0 = q64[qi, 0]
        q1 = q64[qi, 1]
        q2 = q64[qi, 2]
        q3 = q64[qi, 3]
        # Pass 1: the keys to probe; prefetch their bucket bounds.
        np_ = 0
        for c in range(chunks):
            word = q64[qi, c // per_word]
            qkey = np.int64(((word >> np.uint64(width * (c % per_word))) & wmask) >> kshift)
            for mi in range(nmasks[c]):
                key = qkey ^ masks[mi]
                p_chunk[np_] = c
                p_key[np_] = key
                _prefetch(oflat, c * ostride + key)
                np_ += 1
        # Pass 2: bucket bounds; prefetch the start of each bucket's row list.
        total = np.int64(0)
        for p in range(np_):
            c = p_chunk[p]
            start = np.int64(oflat[c * ostride + p_key[p]])
            end = np.int64(oflat[c * ostride + p_key[p] + 1])
            p_start[p] = start
            p_end[p] = end
            total += end - start
            if c > 0:
                _prefetch(pflat, (c - 1) * pstride + 3 * start)
        if total > cand.shape[0]:
            cand = _grow_i64(cand, total)
            found_r = _grow_i64(found_r, total)
            found_d = _grow_i32(found_d, total)
        # Pass 3: candidate rows, chunk by chunk.
        m = 0
        for c in range(chunks + 1):
            bounds[c] = 0
        for p in range(np_):
            c = p_chunk[p]
            start = p_start[p]
            end = p_end[p]
            if c == 0:
                for k in range(start, end):
                    cand[m] = k
                    m += 1
            else:
                base = (c - 1) * pstride
                for k in range(start, end):
                    b = base + 3 * k
                    cand[m] = (
                        np.int64(pflat[b])
                        | (np.int64(pflat[b + 1]) << 8)
                        | (np.int64(pflat[b + 2]) << 16)
                    )
                    m += 1
            bounds[c + 1] = m
        for c in range(1, chunks + 1):
            bounds[c] = max(bounds[c], bounds[c - 1])
        # Pass 4: distances, prefetching PREFETCH_AHEAD candidates ahead.
        for i in range(min(PREFETCH_AHEAD, m)):
            _prefetch(hflat, 4 * cand[i])
        nfound = 0
        c = 0
        for i in range(m):
            while i >= bounds[c + 1]:
                c += 1
            if i + PREFETCH_AHEAD < m:
                _prefetch(hflat, 4 * cand[i + PREFETCH_AHEAD])
            row = cand[i]
            d = (
                _popcount64(hflat[4 * row] ^ q0)
                + _popcount64(hflat[4 * row + 1] ^ q1)
                + _popcount64(hflat[4 * row + 2] ^ q2)
                + _popcount64(hflat[4 * row + 3] ^ q3)
            )
            if d > radius:
                continue
            first = True
            for j in range(c):
                if nmasks[j] == 0:
                    continue
                x = hflat[4 * row + j // per_word] ^ q64[qi, j // per_word]
                xk = ((x >> np.uint64(width * (j % per_word))) & wmask) >> kshift
                if _popcount64(xk) <= radii[j]:
                    first = False
                    break
            if first:
                found_r[nfound] = row
                found_d[nfound] = d
                nfound += 1
        if count + nfound > out_q.shape[0]:
            out_q = _grow_i64(out_q, count + nfound)
            out_r = _grow_i64(out_r, count + nfound)
            out_d = _grow_i32(out_d, count + nfound)
        for i in range(nfound):
            out_q[count] = qi
            out_r[count] = found_r[i]
            out_d[count] = found_d[i]
            count += 1
    return out_q[:count], out_r[:count], out_d[:count]


FLAT_BLOCK = 4096
"""Rows the brute-force kernel scans between growing its output."""


def _flat_search_py(h64: U64, q64: U64, radius: int) -> Hits:
    """Every row against every query (numba-compiled below)."""
    hflat = h64.reshape(-1)
    n = h64.shape[0]
    found_r = np.empty(FLAT_BLOCK, np.int64)
    found_d = np.empty(FLAT_BLOCK, np.int32)
    out_q = np.empty(256, np.int64)
    out_r = np.empty(256, np.int64)
    out_d = np.empty(256, np.int32)
    count = 0
    for qi in range(q64.shape[0]):
        q0 = q64[qi, 0]
        q1 = q64[qi, 1]
        q2 = q64[qi, 2]
        q3 = q64[qi, 3]
        for block in range(0, n, FLAT_BLOCK):
            nfound = 0
            for row in range(block, min(block + FLAT_BLOCK, n)):
                d = (
                    _popcount64(hflat[4 * row] ^ q0)
                    + _popcount64(hflat[4 * row + 1] ^ q1)
                    + _popcount64(hflat[4 * row + 2] ^ q2)
                    + _popcount64(hflat[4 * row + 3] ^ q3)
                )
                if d <= radius:
                    found_r[nfound] = row
                    found_d[nfound] = d
                    nfound += 1
            if count + nfound > out_q.shape[0]:
                out_q = _grow_i64(out_q, count + nfound)
                out_r = _grow_i64(out_r, count + nfound)
                out_d = _grow_i32(out_d, count + nfound)
            for i in range(nfound):
                out_q[count] = qi
                out_r[count] = found_r[i]
                out_d[count] = found_d[i]
                count += 1
    return out_q[:count], out_r[:count], out_d[:count]


def _chunk_order_py(h64: U64, c: int, width: int, key_bits: int) -> tuple[I64, I64]:
    """Rows in chunk ``c``'s key order (stable counting sort) and the bucket sizes."""
    per_word = 64 // width
    shift = np.uint64(width * (c % per_word))
    wmask = np.uint64((1 << width) - 1)
    kshift = np.uint64(width - key_bits)
    word = c // per_word
    n = h64.shape[0]
    counts = np.zeros(1 << key_bits, np.int64)
    for row in range(n):
        counts[np.int64(((h64[row, word] >> shift) & wmask) >> kshift)] += 1
    cursor = np.empty(1 << key_bits, np.int64)
    total = 0
    for bucket in range(1 << key_bits):
        cursor[bucket] = total
        total += counts[bucket]
    order = np.empty(n, np.int64)
    for row in range(n):
        key = np.int64(((h64[row, word] >> shift) & wmask) >> kshift)
        order[cursor[key]] = row
        cursor[key] += 1
    return order, counts


def _index_chunk_py(
    h64: U64, c: int, width: int, key_bits: int, offsets: U32, positions: U8
) -> None:
    """Fill one chunk's bucket starts and 3-byte row list, without temporaries."""
    per_word = 64 // width
    shift = np.uint64(width * (c % per_word))
    wmask = np.uint64((1 << width) - 1)
    kshift = np.uint64(width - key_bits)
    word = c // per_word
    n = h64.shape[0]
    cursor = np.zeros(1 << key_bits, np.int64)
    for row in range(n):
        cursor[np.int64(((h64[row, word] >> shift) & wmask) >> kshift)] += 1
    total = 0
    offsets[0] = 0
    for bucket in range(1 << key_bits):
        count = cursor[bucket]
        cursor[bucket] = total
        total += count
        offsets[bucket + 1] = total
    for row in range(n):
        key = np.int64(((h64[row, word] >> shift) & wmask) >> kshift)
        b = 3 * cursor[key]
        cursor[key] += 1
        positions[b] = row & 0xFF
        positions[b + 1] = (row >> 8) & 0xFF
        positions[b + 2] = (row >> 16) & 0xFF


# ------------------------------------------------------------------ selection


def _compile(fn: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


if HAVE_NUMBA:
    # The kernels call these by global name, so they are compiled first.
    _grow_i64 = _compile(_grow_i64)
    _grow_i32 = _compile(_grow_i32)
    _mih_search_nb = _compile(_mih_search_py)
    _flat_search_nb = _compile(_flat_search_py)
    _chunk_order_nb = _compile(_chunk_order_py)
    _index_chunk_nb = _compile(_index_chunk_py)

BACKENDS: tuple[str, ...] = ("numba", "numpy") if HAVE_NUMBA else ("numpy",)
"""The back ends available here, fastest first."""


def mih_search(backend: str) -> Callable[..., Hits]:
    """The multi-index search kernel of ``backend`` (``"numba"`` or ``"numpy"``)."""
    if backend == "numba" and HAVE_NUMBA:
        return cast(Callable[..., Hits], _mih_search_nb)
    if backend == "numpy":
        return _np.mih_search
    raise ValueError(f"PDQ index back end {backend!r} is not available here ({BACKENDS})")


def flat_search(backend: str) -> Callable[..., Hits]:
    """The brute-force kernel of ``backend`` (tiny segments, huge radii)."""
    if backend == "numba" and HAVE_NUMBA:
        return cast(Callable[..., Hits], _flat_search_nb)
    if backend == "numpy":
        return _np.flat_search
    raise ValueError(f"PDQ index back end {backend!r} is not available here ({BACKENDS})")


def chunk_order(backend: str, h64: U64, c: int, width: int, key_bits: int) -> tuple[I64, I64]:
    """Rows sorted by chunk ``c``'s key (stable), and the bucket sizes."""
    if backend == "numba" and HAVE_NUMBA:
        return _chunk_order_nb(h64, c, width, key_bits)
    return _np.chunk_order(h64, c, width, key_bits)


def index_chunk(
    backend: str, h64: U64, c: int, width: int, key_bits: int, offsets: U32, positions: U8
) -> None:
    """Fill chunk ``c``'s ``offsets`` row and 3-byte ``positions`` row in place."""
    if backend == "numba" and HAVE_NUMBA:
        _index_chunk_nb(h64, c, width, key_bits, offsets, positions)
    else:
        _np.index_chunk(h64, c, width, key_bits, offsets, positions)
