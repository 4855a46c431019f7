"""One immutable segment of the PDQ index: its arrays, how they are built, searched, checked.

Multi-index hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with
multi-index hashing", CVPR 2012): cut the 256 bits into ``m`` chunks. If two hashes are
within distance ``R``, then in at least one chunk ``c`` they differ in at most ``r_c`` bits,
for any ``r_c`` with ``sum(r_c + 1) = R + 1`` (pigeonhole). So a query probes, per chunk,
the buckets at most ``r_c`` bits from its own key, checks each candidate's full distance,
and finds every hash within ``R``: exactly the brute-force set. The argument holds on any
subset of a chunk's bits, so a chunk may be keyed on fewer bits than it has.

Two splits, chosen per segment by a cost model (random accesses per query at ``R = 31``):

* 16 chunks of 16 bits, ``r_c = 1``: 17 buckets per chunk; best up to ~2M rows.
* 12 chunks of 21 bits (3 per 64-bit word, 4 bits unindexed), ``r_c = 2`` for 8 chunks and
  ``1`` for 4: 1,944 buckets but far fewer candidates; at 10M rows about 9,300 candidates a
  query instead of 41,500.

Memory, for ``n`` rows (``32 n`` raw bytes) and ``m`` chunks keyed on ``k`` bits:

================  ========================  ==============================================
array             bytes                     what
================  ========================  ==============================================
``hashes``        ``32 n``                  the rows, sorted by chunk 0's key
``ids``           ``8 n``                   the caller's ``int64`` ids, same order
``positions``     ``(m - 1) × 3 n``         rows sorted by chunk 1… keys, 3-byte integers
``offsets``       ``m × 4 (2^k + 1)``       bucket starts per chunk
================  ========================  ==============================================

``k`` is the most bits (up to the chunk width) whose tables keep the total within
:data:`MEMORY_BUDGET` (2.9× the raw bytes); at 10M rows that is 2.6× (12 × 21 bits).
Chunk 0 needs no positions because the rows themselves are in its order; 3-byte
positions cap a segment at 2^24 rows (the index holds several segments beyond that).
Segments under :data:`FLAT_ROWS` rows have no tables and are scanned.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from verisight.matching import _pdq_kernels as kernels
from verisight.matching import _pdq_numpy as _np

MAX_ROWS = 1 << 24
"""Rows a segment can hold (positions are 3 bytes)."""
FLAT_ROWS = 1024
"""Segments smaller than this have no tables; they are scanned."""
WIDTHS = (16, 21)
"""Chunk widths in bits: 4 or 3 chunks per 64-bit word (16 or 12 chunks)."""
MEMORY_BUDGET = 2.9
"""Most bytes a segment may hold per raw hash byte (the tables are sized to fit)."""
MODEL_RADIUS = 31
"""The radius the split is chosen for (PDQ's match threshold)."""

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def chunk_count(width: int) -> int:
    return 4 * (64 // width)


def chunk_radii(radius: int, chunks: int) -> I64:
    """Per-chunk probe radii ``r_c`` with ``sum(r_c + 1) == radius + 1`` (``-1``: skip)."""
    base, extra = divmod(radius + 1, chunks)
    return np.array([base - 1 + (1 if c < extra else 0) for c in range(chunks)], np.int64)


def _ball(bits: int, r: int) -> int:
    """Keys within ``r`` bits of a ``bits``-bit key."""
    return sum(math.comb(bits, i) for i in range(min(r, bits) + 1)) if r >= 0 else 0


def _key_bits(rows: int, width: int) -> int:
    """The most key bits whose tables keep the segment within :data:`MEMORY_BUDGET`."""
    m = chunk_count(width)
    spare = MEMORY_BUDGET * 32 - 40 - 3 * (m - 1)  # bytes a row left for the tables
    return max(1, min(width, int(math.log2(spare * rows / (4 * m)))))


def choose_split(rows: int) -> tuple[int, int]:
    """``(width, key_bits)`` for a segment of ``rows`` rows; ``(0, 0)``: scanned, no tables."""
    if rows < FLAT_ROWS:
        return 0, 0
    best: tuple[float, int, int] | None = None
    for width in WIDTHS:
        k = _key_bits(rows, width)
        probes = sum(_ball(k, int(r)) for r in chunk_radii(MODEL_RADIUS, chunk_count(width)))
        cost = 2 * probes + rows * probes / (1 << k)  # bucket reads + candidate reads
        if best is None or cost < best[0]:
            best = (cost, width, k)
    assert best is not None
    return best[1], best[2]


@lru_cache(maxsize=64)
def probe_masks(key_bits: int, max_radius: int) -> I64:
    """Every ``key_bits``-bit mask of popcount ≤ ``max_radius``, by popcount."""
    masks = [0]
    for r in range(1, min(max_radius, key_bits) + 1):
        for combo in itertools.combinations(range(key_bits), r):
            masks.append(sum(1 << b for b in combo))
    out = np.array(masks, np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Segment:
    """Immutable arrays of one segment (see the module docstring for the layout)."""

    hashes: U8
    ids: I64
    offsets: U32
    positions: U8
    width: int
    key_bits: int

    @property
    def rows(self) -> int:
        return int(self.hashes.shape[0])

    @property
    def chunks(self) -> int:
        return chunk_count(self.width) if self.width else 0

    @property
    def nbytes(self) -> int:
        arrays = (self.hashes, self.ids, self.offsets, self.positions)
        return sum(int(a.nbytes) for a in arrays)

    @classmethod
    def build(
        cls, hashes: U8, ids: I64, backend: str = kernels.BACKENDS[0], threads: int = 1
    ) -> Segment:
        """Sort and index ``hashes`` (``(n, 32) uint8``) with their ``ids``.

        With the compiled back end, ``threads`` chunks are indexed at once.
        """
        n = int(hashes.shape[0])
        if n > MAX_ROWS:
            raise ValueError(f"a segment holds at most {MAX_ROWS} rows, got {n}")
        width, k = choose_split(n)
        if width == 0:  # copies: the caller's arrays may change or be read-only
            hashes = np.array(hashes, dtype=np.uint8, order="C")
            ids = np.array(ids, dtype=np.int64, order="C")
            return cls(hashes, ids, np.zeros((0, 0), np.uint32), np.zeros((0, 0), np.uint8), 0, 0)
        m = chunk_count(width)
        offsets = np.zeros((m, (1 << k) + 1), np.uint32)
        order, counts = kernels.chunk_order(
            backend, np.ascontiguousarray(hashes, dtype=np.uint8).view("<u8"), 0, width, k
        )
        np.cumsum(counts, out=offsets[0, 1:])  # chunk 0's row list is the row order itself
        hashes = np.ascontiguousarray(hashes[order])
        ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64)[order])
        del order, counts
        h64 = hashes.view("<u8")
        positions = np.empty((m - 1, 3 * n), np.uint8)

        def index(c: int) -> None:
            kernels.index_chunk(backend, h64, c, width, k, offsets[c], positions[c - 1])

        if threads > 1 and backend == "numba":
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(index, range(1, m)))
        else:
            for c in range(1, m):
                index(c)
        return cls(hashes, ids, offsets, positions, width, k)

    def search(self, q64: U64, radius: int, backend: str) -> _np.Hits:
        """Rows within ``radius`` of each query (``(m, 4) uint64``): block-relative hits."""
        h64 = self.hashes.view("<u8")
        if self.width == 0:
            return kernels.flat_search(backend)(h64, q64, radius)
        k = self.key_bits
        radii = chunk_radii(radius, self.chunks)
        nmasks = np.array([_ball(k, int(r)) for r in radii], np.int64)
        if int(nmasks.sum()) >= 1 << k:  # the probes would touch every row anyway
            return kernels.flat_search(backend)(h64, q64, radius)
        return kernels.mih_search(backend)(
            h64,
            self.offsets,
            self.positions,
            q64,
            probe_masks(k, int(radii.max())),
            nmasks,
            radii,
            self.width,
            k,
            radius,
        )

    def check(self, *, full: bool) -> str | None:
        """Why these arrays are not a consistent segment, or None.

        The bounds checks (always) make it safe for the compiled kernels, which do not check
        bounds, to read the arrays; ``full`` also checks that every table indexes these
        hashes (a few ``O(n)`` passes per chunk).
        """
        n = self.rows
        if self.hashes.dtype != np.uint8 or self.hashes.ndim != 2 or self.hashes.shape[1] != 32:
            return f"hashes must be (n, 32) uint8, got {self.hashes.shape} {self.hashes.dtype}"
        if self.ids.dtype != np.int64 or self.ids.shape != (n,):
            return f"ids must be ({n},) int64, got {self.ids.shape} {self.ids.dtype}"
        if self.width == 0:
            return None if self.key_bits == 0 else f"a scanned segment has key_bits {self.key_bits}"
        if self.width not in WIDTHS or not 1 <= self.key_bits <= self.width:
            return f"unknown split: {self.width}-bit chunks keyed on {self.key_bits} bits"
        m, k = self.chunks, self.key_bits
        if self.offsets.dtype != np.uint32 or self.offsets.shape != (m, (1 << k) + 1):
            return f"offsets must be ({m}, {(1 << k) + 1}) uint32, got {self.offsets.shape}"
        if self.positions.dtype != np.uint8 or self.positions.shape != (m - 1, 3 * n):
            return f"positions must be ({m - 1}, {3 * n}) uint8, got {self.positions.shape}"
        offsets = self.offsets.astype(np.int64)
        if (offsets[:, 0] != 0).any() or (offsets[:, -1] != n).any():
            return "offsets do not start at 0 and end at the row count"
        if (np.diff(offsets, axis=1) < 0).any():
            return "offsets are not monotonic"
        h64 = self.hashes.view("<u8")
        for c in range(1, m):
            rows = unpack_positions(self.positions[c - 1])
            if n and int(rows.max()) >= n:
                return f"chunk {c}: a position points past the last row"
            if full and (np.bincount(rows, minlength=n) != 1).any():
                return f"chunk {c}: positions are not a permutation of the rows"
            keys = _np.chunk_keys(h64, c, self.width, k)
            if full and not _buckets_match(keys[rows], offsets[c]):
                return f"chunk {c}: positions do not follow the chunk's keys"
        if full and not _buckets_match(_np.chunk_keys(h64, 0, self.width, k), offsets[0]):
            return "chunk 0: rows are not sorted by the chunk's key"
        return None


def unpack_positions(packed: U8) -> U32:
    """A whole 3-byte position array as ``uint32`` (for checks; search decodes in place)."""
    n = packed.size // 3
    wide = np.zeros((n, 4), np.uint8)
    wide[:, :3] = packed.reshape(n, 3)
    return wide.view("<u4").reshape(n)


def _buckets_match(sorted_keys: I64, offsets: I64) -> bool:
    """Whether ``sorted_keys`` is non-decreasing with bucket sizes ``diff(offsets)``."""
    if sorted_keys.size and (np.diff(sorted_keys) < 0).any():
        return False
    counts = np.bincount(sorted_keys, minlength=offsets.size - 1)
    return bool((counts == np.diff(offsets)).all())
