"""Luma grids for media scanned before the scan kept them (``verisight cluster grids``).

The crop pass (:mod:`verisight.clustering.crops`) needs each image's 64×64 luma grid and layout
key, which scans store from migration 0009 on. A case scanned earlier has none for its old
media, so a crop of an old picture could never join that picture's cluster. This re-reads
each such original from where it was seen (:func:`verisight.sources.originals.read_originals`:
loose files directly, each archive walked once, every file checked against the media's
SHA-256), computes the grid exactly as a scan would (:func:`verisight.analysis.luma_grid_of`)
and stores it. Nothing else about the media changes, and existing clusters do not move: the
grids serve the media clustered from then on (new crops find old representatives).

What cannot be re-read (moved, deleted or changed files, images above the decode limit) is
reported with the reason; running it again retries only those.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verisight.analysis.analyse import luma_grid_of
from verisight.errors import ItemFailure
from verisight.limits import Limits
from verisight.sources.originals import Original, Place, read_originals
from verisight.store.clusters import ClusterStore

#: Grids written per transaction.
_BATCH = 500
#: Originals decoded or waiting, per thread.
_IN_FLIGHT = 8


@dataclass(frozen=True, slots=True)
class GridBackfill:
    """What a backfill did: media that had no grid, grids computed, and the media left
    without one as ``(sha256, why)``."""

    missing: int
    computed: int
    failed: tuple[tuple[str, str], ...]
    elapsed_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "computed": self.computed,
            "failed": [{"sha256": s, "reason": why} for s, why in self.failed],
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def _grid(found: Original, limits: Limits) -> tuple[str, bytes | None, str]:
    if found.data is None:
        return found.sha256, None, found.how
    try:
        return found.sha256, luma_grid_of(found.data, limits), ""
    except ItemFailure as exc:
        return found.sha256, None, f"does not decode ({exc.error})"
    except ValueError as exc:
        return found.sha256, None, str(exc)
    except Exception as exc:  # one hostile file must not stop the backfill
        return found.sha256, None, f"internal error ({exc.__class__.__name__}: {exc})"


def _grids(
    originals: Iterator[Original], limits: Limits
) -> Iterator[tuple[str, bytes | None, str]]:
    """``(sha256, grid or None, why not)`` per original, decoded on one thread per core
    (Pillow releases the GIL while decoding and resizing) with a bounded number in flight,
    so that memory stays bounded whatever the number of media."""
    threads = max(1, len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[tuple[str, bytes | None, str]]] = deque()
        for found in originals:
            pending.append(pool.submit(_grid, found, limits))
            if len(pending) >= _IN_FLIGHT * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def backfill_grids(repo: ClusterStore, limits: Limits | None = None) -> GridBackfill:
    """Compute and store the luma grid of every image media that has none (module
    docstring)."""
    start = time.perf_counter()
    limits = limits or Limits()
    todo = repo.media_without_grids()
    failed: list[tuple[str, str]] = []
    wanted: dict[str, list[Place]] = {}
    for sha, m in todo.items():
        if m.size > limits.max_decode_bytes:
            failed.append(
                (sha, f"larger than the decode limit ({limits.max_decode_bytes:,} bytes)")
            )
        elif not m.places:
            failed.append((sha, "no sighting with a file to read"))
        else:
            wanted[sha] = [Place(Path(p.root), p.locator, p.depth, p.path) for p in m.places]
    batch: dict[str, bytes] = {}
    computed = 0
    for sha, grid, why in _grids(read_originals(wanted, limits), limits):
        if grid is None:
            failed.append((sha, why))
        else:
            batch[sha] = grid
        if len(batch) >= _BATCH:
            repo.store_grids(batch)
            computed += len(batch)
            batch = {}
    repo.store_grids(batch)
    computed += len(batch)
    return GridBackfill(len(todo), computed, tuple(sorted(failed)), time.perf_counter() - start)
