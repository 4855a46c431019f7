"""Inner loops of the PDQ index: compiled with numba when it is installed, numpy otherwise.

Both back ends take the same arguments and return the same arrays, so the index can use
either and the tests run both against brute force. The compiled one is the fast path; the
numpy one exists so that Vigil still imports, and still answers exactly (more slowly), where
numba has no wheel yet (new CPython releases).

Layout (built in :mod:`vigil.matching._pdq_segment`): a segment's hashes are ``h64``,
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
import numpy.typing as npt

if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
    raise ImportError("vigil.matching's PDQ index assumes a little-endian machine")

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Hits = tuple[I64, I64, I32]
"""(query index within the block, row within the segment, distance)."""

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


def _grow_i64(a: I64, need: int) -> I64:
    out = np.empty(max(need, 2 * a.shape[0]), np.int64)
    out[: a.shape[0]] = a
    return out


def _grow_i32(a: I32, need: int) -> I32:
    out = np.empty(max(need, 2 * a.shape[0]), np.int32)
    out[: a.shape[0]] = a
    return out


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
        for p in range(np_):
            c = p_chunk[p]
            start = np.int64(offsets[c, p_key[p]])
            p_start[p] = start
            p_end[p] = np.int64(offsets[c, p_key[p] + 1])
            if c > 0:
                _prefetch(pflat, (c - 1) * pstride + 3 * start)
        # Pass 3: candidate rows, chunk by chunk.
        m = 0
        for c in range(chunks + 1):
            bounds[c] = 0
        for p in range(np_):
            c = p_chunk[p]
            start = p_start[p]
            end = p_end[p]
            if m + end - start > cand.shape[0]:
                cand = _grow_i64(cand, m + end - start)
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
        c = 0
        for i in range(m):
            while i >= bounds[c + 1]:
                c += 1
            if i + PREFETCH_AHEAD < m:
                _prefetch(hflat, 4 * cand[i + PREFETCH_AHEAD])
            row = cand[i]
            d = (
                _popcount64(h64[row, 0] ^ q0)
                + _popcount64(h64[row, 1] ^ q1)
                + _popcount64(h64[row, 2] ^ q2)
                + _popcount64(h64[row, 3] ^ q3)
            )
            if d > radius:
                continue
            first = True
            for j in range(c):
                if nmasks[j] == 0:
                    continue
                x = h64[row, j // per_word] ^ q64[qi, j // per_word]
                xk = ((x >> np.uint64(width * (j % per_word))) & wmask) >> kshift
                if _popcount64(xk) <= radii[j]:
                    first = False
                    break
            if not first:
                continue
            if count == out_q.shape[0]:
                out_q = _grow_i64(out_q, count + 1)
                out_r = _grow_i64(out_r, count + 1)
                out_d = _grow_i32(out_d, count + 1)
            out_q[count] = qi
            out_r[count] = row
            out_d[count] = d
            count += 1
    return out_q[:count], out_r[:count], out_d[:count]


def _flat_search_py(h64: U64, q64: U64, radius: int) -> Hits:
    """Every row against every query (numba-compiled below)."""
    out_q = np.empty(256, np.int64)
    out_r = np.empty(256, np.int64)
    out_d = np.empty(256, np.int32)
    count = 0
    for qi in range(q64.shape[0]):
        q0 = q64[qi, 0]
        q1 = q64[qi, 1]
        q2 = q64[qi, 2]
        q3 = q64[qi, 3]
        for row in range(h64.shape[0]):
            d = (
                _popcount64(h64[row, 0] ^ q0)
                + _popcount64(h64[row, 1] ^ q1)
                + _popcount64(h64[row, 2] ^ q2)
                + _popcount64(h64[row, 3] ^ q3)
            )
            if d <= radius:
                if count == out_q.shape[0]:
                    out_q = _grow_i64(out_q, count + 1)
                    out_r = _grow_i64(out_r, count + 1)
                    out_d = _grow_i32(out_d, count + 1)
                out_q[count] = qi
                out_r[count] = row
                out_d[count] = d
                count += 1
    return out_q[:count], out_r[:count], out_d[:count]


def _bucket_order_py(keys: I64, counts: I64) -> I64:
    """Counting sort: the rows in key order, stable (numba-compiled below)."""
    cursor = np.empty(counts.shape[0], np.int64)
    total = 0
    for key in range(counts.shape[0]):
        cursor[key] = total
        total += counts[key]
    order = np.empty(keys.shape[0], np.int64)
    for row in range(keys.shape[0]):
        key = keys[row]
        order[cursor[key]] = row
        cursor[key] += 1
    return order


# ------------------------------------------------------------------ numpy back end

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount_rows(x: npt.NDArray[Any]) -> I64:
    """Set bits per row of an unsigned integer array of shape ``(m, w)``."""
    if hasattr(np, "bitwise_count"):
        return cast(I64, np.bitwise_count(x).sum(axis=1, dtype=np.int64))
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(x.shape[0], -1)
    return cast(I64, _POP8[as_bytes].sum(axis=1, dtype=np.int64))


def chunk_keys(h64: U64, c: int, width: int, key_bits: int) -> I64:
    """Chunk ``c``'s key of every row of ``h64`` (the same bits the kernels read)."""
    per_word = 64 // width
    word = h64[:, c // per_word] >> np.uint64(width * (c % per_word))
    chunk = word & np.uint64((1 << width) - 1)
    return (chunk >> np.uint64(width - key_bits)).astype(np.int64)


def decode_positions(packed: U8, ks: I64) -> I64:
    """Rows stored as 3-byte little-endian integers at entries ``ks`` of ``packed``."""
    b = 3 * ks
    return (
        packed[b].astype(np.int64)
        | (packed[b + 1].astype(np.int64) << 8)
        | (packed[b + 2].astype(np.int64) << 16)
    )


def _empty_hits() -> Hits:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)


def _mih_search_np(
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
    """The same search as :func:`_mih_search_py`, vectorised over the block with numpy."""
    nq = q64.shape[0]
    chunks = nmasks.shape[0]
    parts: list[tuple[I64, I64, I64]] = []
    for c in range(chunks):
        nm = int(nmasks[c])
        if nm == 0 or nq == 0:
            continue
        keys = chunk_keys(q64, c, width, key_bits)[:, None] ^ masks[None, :nm]
        starts = offsets[c][keys].astype(np.int64).ravel()
        lens = offsets[c][keys + 1].astype(np.int64).ravel() - starts
        total = int(lens.sum())
        if total == 0:
            continue
        qidx = np.repeat(np.repeat(np.arange(nq, dtype=np.int64), nm), lens)
        run_start = np.cumsum(lens) - lens
        ks = np.repeat(starts - run_start, lens) + np.arange(total, dtype=np.int64)
        rows = ks if c == 0 else decode_positions(positions[c - 1], ks)
        dist = popcount_rows(h64[rows] ^ q64[qidx])
        keep = dist <= radius
        rows, qidx, dist = rows[keep], qidx[keep], dist[keep]
        if c > 0 and rows.size:
            x = h64[rows] ^ q64[qidx]
            earlier = np.zeros(rows.size, dtype=bool)
            for j in range(c):
                if nmasks[j] > 0:
                    xk = chunk_keys(x, j, width, key_bits).reshape(-1, 1)
                    earlier |= popcount_rows(xk.astype(np.uint64)) <= radii[j]
            rows, qidx, dist = rows[~earlier], qidx[~earlier], dist[~earlier]
        parts.append((qidx, rows, dist))
    if not parts:
        return _empty_hits()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]).astype(np.int32),
    )


def _flat_search_np(h64: U64, q64: U64, radius: int) -> Hits:
    """Every row against every query, one query at a time, with numpy."""
    parts: list[tuple[I64, I64, I64]] = []
    for qi in range(q64.shape[0]):
        dist = popcount_rows(h64 ^ q64[qi])
        rows = np.flatnonzero(dist <= radius).astype(np.int64)
        parts.append((np.full(rows.size, qi, dtype=np.int64), rows, dist[rows]))
    if not parts:
        return _empty_hits()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]).astype(np.int32),
    )


# ------------------------------------------------------------------ selection


def _compile(fn: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


if HAVE_NUMBA:
    # The kernels call these by global name, so they are compiled first.
    _grow_i64 = _compile(_grow_i64)
    _grow_i32 = _compile(_grow_i32)
    _mih_search_nb = _compile(_mih_search_py)
    _flat_search_nb = _compile(_flat_search_py)
    _bucket_order_nb = _compile(_bucket_order_py)

BACKENDS: tuple[str, ...] = ("numba", "numpy") if HAVE_NUMBA else ("numpy",)
"""The back ends available here, fastest first."""


def mih_search(backend: str) -> Callable[..., Hits]:
    """The multi-index search kernel of ``backend`` (``"numba"`` or ``"numpy"``)."""
    if backend == "numba" and HAVE_NUMBA:
        return cast(Callable[..., Hits], _mih_search_nb)
    if backend == "numpy":
        return _mih_search_np
    raise ValueError(f"PDQ index back end {backend!r} is not available here ({BACKENDS})")


def flat_search(backend: str) -> Callable[..., Hits]:
    """The brute-force kernel of ``backend`` (tiny segments, huge radii)."""
    if backend == "numba" and HAVE_NUMBA:
        return cast(Callable[..., Hits], _flat_search_nb)
    if backend == "numpy":
        return _flat_search_np
    raise ValueError(f"PDQ index back end {backend!r} is not available here ({BACKENDS})")


def bucket_order(keys: I64, counts: I64) -> I64:
    """Rows sorted by ``keys`` (stable), given ``counts = bincount(keys)``."""
    if HAVE_NUMBA:
        return _bucket_order_nb(keys, counts)
    return np.argsort(keys, kind="stable")
