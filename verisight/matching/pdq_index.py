"""Exact PDQ radius search at millions of hashes: :class:`PDQIndex`.

``search`` returns exactly the brute-force result set (every ``(query, id)`` pair within the
radius, recall 1.0), by multi-index hashing: see :mod:`verisight.matching._pdq_segment` for the
method and the memory layout, :mod:`verisight.matching._pdq_kernels` for the inner loops.
Worked example::

    index = PDQIndex.build(hashes, ids)          # hashes: (n, 32) uint8; ids: (n,) int64
    index.add(more_hashes, more_ids)             # incremental
    found = index.search(queries, radius=31)     # queries: (q, 32) uint8
    for query_idx, entry_id, distance in found:  # sorted by query, distance, id
        ...
    index.save(case_dir / "pdq-index")           # .npy files and a JSON manifest
    index = PDQIndex.load(case_dir / "pdq-index", mmap=True)

Rows are kept in immutable segments; ``add`` builds a new segment and merges the newest
segments while one is at least half the size of the one before it (Bentley–Saxe), so there
are ``O(log n)`` segments and each row is rebuilt ``O(log n)`` times. ``add`` and ``compact``
swap in a new list of segments whole, so searches may run in other threads meanwhile, without
a lock, each on one consistent version. There is no delete: the
hash rows in the case database are the source of truth, and an index that no longer matches
them is rebuilt (:meth:`PDQIndex.save` takes a ``tag`` for the caller to tell). Ids are the
caller's; the index does not check that they are unique.

Rotations and flips cannot be derived from a hash; a caller wanting them hashes the 8
dihedral variants of the image (PDQ defines them on the DCT) and searches all 8.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from verisight.matching import _pdq_kernels as kernels
from verisight.matching._pdq_segment import MAX_ROWS, Segment
from verisight.matching.errors import IndexFileError, PDQIndexError
from verisight.matching.signals import PDQSignal

DEFAULT_RADIUS = 31
"""PDQ's match threshold: distance ≤ 31."""
MANIFEST = "manifest.json"
FORMAT = "verisight-pdq-index"
VERSION = 1
_ARRAYS = ("hashes", "ids", "offsets", "positions")
_FILE_RE = re.compile(r"^[0-9a-f]{8}-s[0-9]{3}-(hashes|ids|offsets|positions)\.npy$")

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class RadiusMatches:
    """Every ``(query, id)`` pair within the radius, as three aligned arrays.

    Sorted by query index, then distance, then id. Iterating yields
    ``(query_idx, id, distance)`` tuples of Python ints.
    """

    query_idx: I64
    ids: I64
    distances: I32

    def __len__(self) -> int:
        return int(self.query_idx.shape[0])

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return zip(self.query_idx.tolist(), self.ids.tolist(), self.distances.tolist(), strict=True)

    def for_query(self, query_idx: int) -> RadiusMatches:
        """The matches of one query."""
        lo, hi = np.searchsorted(self.query_idx, [query_idx, query_idx + 1])
        return RadiusMatches(self.query_idx[lo:hi], self.ids[lo:hi], self.distances[lo:hi])


@dataclass(frozen=True)
class SegmentInfo:
    """The shape of one segment (for stats and tests)."""

    rows: int
    chunks: int
    key_bits: int
    nbytes: int


def pdq_hashes_from_hex(values: Iterable[str]) -> U8:
    """Validated PDQ hex strings as an ``(n, 32) uint8`` array (raises on a bad one)."""
    rows = [bytes.fromhex(PDQSignal.validate(v)) for v in values]
    if not rows:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 32).copy()


def pdq_hex_from_hashes(hashes: npt.ArrayLike) -> list[str]:
    """An ``(n, 32) uint8`` array as lowercase PDQ hex strings."""
    array = _as_hashes(hashes, "hashes")
    return [row.tobytes().hex() for row in array]


class PDQIndex:
    """Exact Hamming-radius search over 256-bit PDQ hashes, with incremental adds.

    ``backend`` is ``"numba"`` (default when installed) or ``"numpy"``; ``threads``
    defaults to the CPUs this process may use. Searches may run concurrently with each
    other, not with :meth:`add`.
    """

    def __init__(self, *, backend: str | None = None, threads: int | None = None) -> None:
        self.backend = backend or kernels.BACKENDS[0]
        if self.backend not in kernels.BACKENDS:
            raise PDQIndexError(
                f"unknown or unavailable back end {self.backend!r}; have {kernels.BACKENDS}"
            )
        self.threads = max(1, threads or _usable_cpus())
        self.tag = ""
        self._segments: list[Segment] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        hashes: npt.ArrayLike,
        ids: npt.ArrayLike,
        *,
        backend: str | None = None,
        threads: int | None = None,
    ) -> PDQIndex:
        """An index of ``hashes`` (``(n, 32) uint8``) labelled with ``ids`` (``(n,)`` ints)."""
        index = cls(backend=backend, threads=threads)
        index.add(hashes, ids)
        return index

    def add(self, hashes: npt.ArrayLike, ids: npt.ArrayLike) -> None:
        """Add rows; they are searchable when this returns."""
        self._segments = self._added(list(self._segments), hashes, ids)

    def _added(
        self, segments: list[Segment], hashes: npt.ArrayLike, ids: npt.ArrayLike
    ) -> list[Segment]:
        rows = _as_hashes(hashes, "hashes")
        labels = _as_ids(ids, rows.shape[0])
        for start in range(0, rows.shape[0], MAX_ROWS):
            stop = start + MAX_ROWS
            part = Segment.build(rows[start:stop], labels[start:stop], self.backend, self.threads)
            segments = _merge_tail([*segments, part], self.backend, self.threads)
        return segments

    def compact(self) -> None:
        """Merge segments into as few as possible (fewer probes per query)."""
        hashes, ids = self.rows()
        self._segments = self._added([], hashes, ids)

    def rows(self) -> tuple[U8, I64]:
        """Every ``(hashes, ids)`` row in the index (in the index's own order)."""
        if not self._segments:
            return np.zeros((0, 32), np.uint8), np.zeros(0, np.int64)
        return (
            np.concatenate([s.hashes for s in self._segments]),
            np.concatenate([s.ids for s in self._segments]),
        )

    # ------------------------------------------------------------------ searching

    def search(self, queries: npt.ArrayLike, radius: int = DEFAULT_RADIUS) -> RadiusMatches:
        """Every row within Hamming distance ``radius`` (inclusive) of each query.

        ``queries`` is ``(q, 32) uint8`` (or one ``(32,)`` hash: query index 0).
        """
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
            raise PDQIndexError(f"radius must be an integer, got {radius!r}")
        if not 0 <= radius <= 256:
            raise PDQIndexError(f"radius must be between 0 and 256, got {radius}")
        q = np.asarray(queries)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        q = _as_hashes(q, "queries")
        q64 = (np.array(q) if not q.flags.writeable else np.ascontiguousarray(q)).view("<u8")
        nq = int(q64.shape[0])
        segments = self._segments
        per_block = 64 if self.backend == "numba" else 16
        block = max(1, min(per_block, -(-nq // self.threads)))
        spans = [(a, min(a + block, nq)) for a in range(0, nq, block)]

        def run(span: tuple[int, int]) -> list[tuple[I64, I64, I32]]:
            a, b = span
            found = []
            for seg in segments:
                qi, rows, dist = seg.search(q64[a:b], int(radius), self.backend)
                found.append((qi + a, seg.ids[rows], dist))
            return found

        if self.threads > 1 and len(spans) > 1:
            with self._pool_lock:  # searches may run in several threads at once
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pdq-index")
            parts = [p for ps in self._pool.map(run, spans) for p in ps]
        else:
            parts = [p for span in spans for p in run(span)]
        if not parts:
            empty = np.zeros(0, np.int64)
            return RadiusMatches(empty, empty.copy(), np.zeros(0, np.int32))
        qidx = np.concatenate([p[0] for p in parts]).astype(np.int64)
        found_ids = np.concatenate([p[1] for p in parts]).astype(np.int64)
        dist = np.concatenate([p[2] for p in parts]).astype(np.int32)
        order = np.lexsort((found_ids, dist, qidx))
        return RadiusMatches(qidx[order], found_ids[order], dist[order])

    # ------------------------------------------------------------------ facts

    def __len__(self) -> int:
        return sum(s.rows for s in self._segments)

    @property
    def nbytes(self) -> int:
        """Bytes of every array the index holds."""
        return sum(s.nbytes for s in self._segments)

    @property
    def raw_nbytes(self) -> int:
        """Bytes of the hashes alone (32 a row): the yardstick for :attr:`nbytes`."""
        return 32 * len(self)

    def segments(self) -> list[SegmentInfo]:
        return [SegmentInfo(s.rows, s.chunks, s.key_bits, s.nbytes) for s in self._segments]

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | os.PathLike[str], *, tag: str | None = None) -> None:
        """Write the index to ``directory`` as ``.npy`` files and a JSON manifest.

        The manifest is replaced atomically after the arrays are written, and the files of
        the previous save are removed after that, so a reader sees the old index or the new
        one. ``tag`` (default: the current :attr:`tag`) is stored for the caller, e.g. to
        record which database state the index was built from.
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        manifest_path = path / MANIFEST
        existing = [p for p in path.iterdir() if p.name != MANIFEST]
        if not manifest_path.exists() and existing:
            raise IndexFileError(f"{path}: not a PDQ index directory and not empty; not saving")
        if tag is not None:
            self.tag = tag
        generation = secrets.token_hex(4)
        entries: list[dict[str, Any]] = []
        for i, seg in enumerate(self._segments):
            files: dict[str, str] = {}
            for name in _ARRAYS if seg.width else _ARRAYS[:2]:
                files[name] = f"{generation}-s{i:03d}-{name}.npy"
                np.save(path / files[name], getattr(seg, name), allow_pickle=False)
            entries.append(
                {"rows": seg.rows, "width": seg.width, "key_bits": seg.key_bits, "files": files}
            )
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "tag": self.tag,
            "rows": len(self),
            "segments": entries,
        }
        tmp = path / f".{MANIFEST}.{generation}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, manifest_path)
        for old in existing:
            if _FILE_RE.match(old.name) and not old.name.startswith(generation):
                old.unlink(missing_ok=True)

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        mmap: bool = True,
        verify: bool = True,
        backend: str | None = None,
        threads: int | None = None,
    ) -> PDQIndex:
        """Read an index written by :meth:`save`; never unpickles anything.

        ``mmap`` maps the arrays (copy-on-write, never written) instead of reading them.
        The arrays are always bounds-checked (the compiled search trusts them); ``verify``
        also checks that every table indexes the stored hashes (a few ``O(n)`` passes per
        chunk).
        """
        path = Path(directory)
        manifest = _read_manifest(path)
        index = cls(backend=backend, threads=threads)
        index.tag = str(manifest.get("tag", ""))
        segments: list[Segment] = []
        for i, entry in enumerate(manifest["segments"]):
            segments.append(_load_segment(path, i, entry, mmap=mmap, verify=verify))
        if sum(s.rows for s in segments) != manifest["rows"]:
            raise IndexFileError(f"{path}: segments do not add up to {manifest['rows']} rows")
        index._segments = segments
        return index


# ---------------------------------------------------------------------- helpers


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


def _merge_tail(segments: list[Segment], backend: str, threads: int) -> list[Segment]:
    while (
        len(segments) >= 2
        and 2 * segments[-1].rows >= segments[-2].rows
        and segments[-1].rows + segments[-2].rows <= MAX_ROWS
    ):
        b = segments.pop()
        a = segments.pop()
        hashes = np.concatenate([a.hashes, b.hashes])
        ids = np.concatenate([a.ids, b.ids])
        segments.append(Segment.build(hashes, ids, backend, threads))
    return segments


def _as_hashes(value: npt.ArrayLike, what: str) -> U8:
    array = np.asarray(value)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != 32:
        raise PDQIndexError(
            f"{what} must be an (n, 32) uint8 array, got shape {array.shape} of {array.dtype}"
        )
    return array


def _as_ids(value: npt.ArrayLike, n: int) -> I64:
    array = np.asarray(value)
    if array.ndim != 1 or array.shape[0] != n:
        raise PDQIndexError(f"ids must be a 1-d array of {n} integers, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise PDQIndexError(f"ids must be integers, got {array.dtype}")
    if array.dtype == np.uint64 and n and int(array.max()) > np.iinfo(np.int64).max:
        raise PDQIndexError("ids must fit in int64")
    return array.astype(np.int64, copy=False)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexFileError(f"{path}: no PDQ index here ({MANIFEST} is missing)") from None
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{path / MANIFEST}: unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFileError(f"{path / MANIFEST}: not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise IndexFileError(
            f"{path / MANIFEST}: version {manifest.get('version')!r}, "
            f"this Verisight reads {VERSION}"
        )
    if not isinstance(manifest.get("segments"), list) or not isinstance(manifest.get("rows"), int):
        raise IndexFileError(f"{path / MANIFEST}: malformed (segments, rows)")
    return manifest


def _load_segment(path: Path, i: int, entry: Any, *, mmap: bool, verify: bool) -> Segment:
    where = f"{path / MANIFEST}: segment {i}"
    try:
        rows, width, key_bits = int(entry["rows"]), int(entry["width"]), int(entry["key_bits"])
        files = dict(entry["files"])
    except (KeyError, TypeError, ValueError):
        raise IndexFileError(f"{where}: malformed entry") from None
    arrays: dict[str, Any] = {}
    for name in _ARRAYS if width else _ARRAYS[:2]:
        filename = files.get(name)
        if not isinstance(filename, str) or not _FILE_RE.match(filename):
            raise IndexFileError(f"{where}: bad file name for {name}: {filename!r}")
        try:
            # "c" (copy-on-write, never written) rather than "r": the compiled kernels are
            # specialised on writeable arrays, and a read-only map would compile them again.
            loaded = np.load(path / filename, mmap_mode="c" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"{path / filename}: unreadable: {exc}") from None
        arrays[name] = np.asarray(loaded)
    if not width:
        arrays["offsets"] = np.zeros((0, 0), np.uint32)
        arrays["positions"] = np.zeros((0, 0), np.uint8)
    seg = Segment(width=width, key_bits=key_bits, **arrays)
    if seg.rows != rows:
        raise IndexFileError(f"{where}: {seg.rows} rows stored, manifest says {rows}")
    problem = seg.check(full=verify)
    if problem:
        raise IndexFileError(f"{where}: {problem}")
    return seg
