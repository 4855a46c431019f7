"""Persisted index segments: a replica starting on a large bank reads numpy files, not rows.

A segment is one ``.npy`` file under ``<case>/api-index/`` holding the PDQ hashes and ids of
the entries with ``first < id <= last`` (32 + 8 bytes an entry), plus the change-feed sequence
current when it was written. The segments chain from id 0 upwards; :meth:`SegmentStore.load`
returns the contiguous chain from 0 (dropping anything after a gap) and the oldest sequence in
it. The caller (:class:`verisight.api.index.FollowedIndex`) discards the chain if entries were
removed after that sequence, reads only the rows after the chain's last id, and checks the
total against the database's count, falling back to a full load from rows.

Files are written under a temporary name and renamed, so a reader never sees half a segment and
several workers of one case may write at once. Nothing here is authoritative: deleting the
folder only makes the next start slower.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

#: A new segment is written once this many entries lie past the chain's end.
SEGMENT_MIN = 50_000
_HEADER = 3  # first, last, seq (int64 each) ahead of the packed ids and hashes


class SegmentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _files(self) -> list[tuple[int, int, Path]]:
        if not self.directory.is_dir():
            return []
        out = []
        for p in self.directory.glob("pdq-*-*.npy"):
            parts = p.stem.split("-")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                out.append((int(parts[1]), int(parts[2]), p))
        return sorted(out)

    def load(self) -> tuple[np.ndarray, np.ndarray, int, int] | None:
        """(hashes (n, 32) uint8, ids, last id, oldest seq) of the chain from 0, or None."""
        hashes, ids, seqs = [], [], []
        last = 0
        for first, end, path in self._files():
            if first != last:
                continue  # superseded, or after a gap
            try:
                raw = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                break
            n = (len(raw) - _HEADER * 8) // 40
            head = raw[: _HEADER * 8].view(np.int64)
            if (int(head[0]), int(head[1])) != (first, end) or len(raw) != _HEADER * 8 + 40 * n:
                break
            ids.append(raw[_HEADER * 8 : _HEADER * 8 + 8 * n].view(np.int64))
            hashes.append(raw[_HEADER * 8 + 8 * n :].reshape(n, 32))
            seqs.append(int(head[2]))
            last = end
        if not seqs:
            return None
        return np.concatenate(hashes), np.concatenate(ids), last, min(seqs)

    def append(self, hashes: np.ndarray, ids: np.ndarray, first: int, last: int, seq: int) -> None:
        """Write the segment ``first < id <= last`` (``ids`` must lie in that range)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        head = np.asarray([first, last, seq], dtype=np.int64).view(np.uint8)
        packed = np.concatenate(
            [head, np.ascontiguousarray(ids, dtype=np.int64).view(np.uint8),
             np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1)]
        )  # fmt: skip
        path = self.directory / f"pdq-{first:012d}-{last:012d}.npy"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            np.save(f, packed, allow_pickle=False)
        os.replace(tmp, path)

    def replace(self, hashes: np.ndarray, ids: np.ndarray, last: int, seq: int) -> None:
        """Drop every segment and write one covering ``0 < id <= last``."""
        self.clear()
        self.append(hashes, ids, 0, last, seq)

    def clear(self) -> None:
        for _, _, path in self._files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
