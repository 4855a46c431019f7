"""The numpy back end of the PDQ index, and helpers both back ends share.

Vectorised equivalents of the compiled kernels in :mod:`verisight.matching._pdq_kernels` (same
arguments, same results; see there for the layout). They are used where numba is not
installed, and the tests run them against brute force like the compiled ones.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Hits = tuple[I64, I64, I32]
"""(query index within the block, row within the segment, distance)."""

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


def empty_hits() -> Hits:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)


def mih_search(
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
    """The compiled multi-index search, vectorised over the block of queries."""
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
        return empty_hits()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]).astype(np.int32),
    )


def flat_search(h64: U64, q64: U64, radius: int) -> Hits:
    """Every row against every query, one query at a time, with numpy."""
    parts: list[tuple[I64, I64, I64]] = []
    for qi in range(q64.shape[0]):
        dist = popcount_rows(h64 ^ q64[qi])
        rows = np.flatnonzero(dist <= radius).astype(np.int64)
        parts.append((np.full(rows.size, qi, dtype=np.int64), rows, dist[rows]))
    if not parts:
        return empty_hits()
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]).astype(np.int32),
    )


def chunk_order(h64: U64, c: int, width: int, key_bits: int) -> tuple[I64, I64]:
    """Rows sorted by chunk ``c``'s key (stable), and the bucket sizes."""
    keys = chunk_keys(h64, c, width, key_bits)
    return np.argsort(keys, kind="stable"), np.bincount(keys, minlength=1 << key_bits)


def index_chunk(h64: U64, c: int, width: int, key_bits: int, offsets: U32, positions: U8) -> None:
    """Fill chunk ``c``'s ``offsets`` row and 3-byte ``positions`` row in place."""
    order, counts = chunk_order(h64, c, width, key_bits)
    offsets[0] = 0
    np.cumsum(counts, out=offsets[1:])
    n = order.shape[0]
    positions[:] = order.astype("<u4").view(np.uint8).reshape(n, 4)[:, :3].reshape(-1)
