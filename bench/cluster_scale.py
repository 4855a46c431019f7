"""Clustering at scale: a million media, time and peak memory, on the PDQ index.

Synthetic PDQ hashes (no images): ``--media`` rows of which ``--grouped`` (share) belong
to planted near-duplicate groups of 2–20 members (each member = the group's base hash
with up to 12 random bits flipped, so members lie ≤ 24 apart) and the rest are random
distractors; 2 % have PDQ quality below 50 (they must stay singletons). Runs
:func:`verisight.clustering.plan_update` then the crop pass
:func:`verisight.clustering.crops.plan_crops`
(the library path ``verisight cluster`` takes on a fresh case, Python objects included) and prints
the wall time of each step, peak RSS (``resource.getrusage``) over the input's own, purity and
completeness of the planted groups.

For the crop pass every media gets a layout key built like a real one from a synthetic
64×64 luma grid (a vertical gradient plus random 8×8 detail, so that keys are about as alike
as those of pictures: many candidate pairs pass the key similarity and must be screened);
the grids are written to a temporary file and read back one by one when the pass asks for
them (as the store would read rows). No crops are planted: the figure is the pass's cost,
and it moves nothing.

Run: ``.venv/bin/python bench/cluster_scale.py --media 1000000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verisight.analysis.luma import GRID_SIDE, layout_keys
from verisight.clustering import Candidate, ClusterParams, plan_update
from verisight.clustering.crops import plan_crops


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int, grouped: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes ``(n, 32) uint8``, planted group per row (-1: distractor), quality per row."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    group = np.full(n, -1, np.int64)
    target = int(n * grouped)
    sizes = []
    while sum(sizes) < target:
        sizes.append(int(rng.integers(2, 21)))
    sizes[-1] -= sum(sizes) - target
    if sizes[-1] < 1:
        sizes.pop()
    rows = rng.permutation(n)[: sum(sizes)]
    start = 0
    for g, size in enumerate(sizes):
        members = rows[start : start + size]
        start += size
        base = hashes[members[0]].copy()
        bits = np.unpackbits(np.broadcast_to(base, (size, 32)), axis=1)
        for i in range(size):
            flips = rng.choice(256, int(rng.integers(0, 13)), replace=False)
            bits[i, flips] ^= 1
        hashes[members] = np.packbits(bits, axis=1)
        group[members] = g
    quality = np.where(rng.random(n) < 0.02, 30, 100).astype(np.int64)
    return hashes, group, quality


_UP = np.clip(1 - np.abs((np.arange(GRID_SIDE) + 0.5) / 8 - 0.5 - np.arange(8)[:, None]), 0, 1).T


def synthetic_grids(rows: int, seed: int) -> np.ndarray:
    """``(rows, 64, 64)`` uint8 luma grids with the structure pictures share: a vertical
    gradient (light above, as a sky) plus random 8×8 detail, upsampled bilinearly."""
    rng = np.random.default_rng(seed)
    up = _UP.astype(np.float32)
    cells = rng.uniform(0, 255, (rows, 8, 8)).astype(np.float32)
    wide = (cells.reshape(-1, 8) @ up.T).reshape(rows, 8, GRID_SIDE)  # columns upsampled
    # rows upsampled as one large product: (64, 8) @ (8, rows * 64)
    detail = (up @ wide.transpose(1, 0, 2).reshape(8, -1)).reshape(GRID_SIDE, rows, GRID_SIDE)
    top, bottom = rng.uniform(150, 230, rows), rng.uniform(30, 110, rows)
    sky = top[:, None] + (bottom - top)[:, None] * np.linspace(0, 1, GRID_SIDE)[None, :]
    out = 0.4 * detail.transpose(1, 0, 2)
    out += (0.6 * sky[:, :, None]).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


class GridFile:
    """The synthetic grids of every media in a temporary file, read back one by one with
    ``pread`` as the store would read rows (page cache, not this process's memory)."""

    def __init__(self, media: int, seed: int) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the run
        self.keys: list[bytes] = []
        for start in range(0, media, 2_000):
            chunk = synthetic_grids(min(2_000, media - start), seed + start)
            self.file.write(chunk.tobytes())
            self.keys += [k.tobytes() for k in layout_keys(chunk)]
        self.file.flush()
        self.fd = self.file.fileno()

    def read(self, row: int) -> bytes:
        return os.pread(self.fd, GRID_SIDE * GRID_SIDE, row * GRID_SIDE * GRID_SIDE)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=int, default=1_000_000)
    ap.add_argument("--grouped", type=float, default=0.3, help="share of media in groups")
    ap.add_argument("--threshold", type=int, default=31)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-crops", dest="crops", action="store_false", help="skip the crop pass")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    hashes, group, quality = synthetic(args.media, args.grouped, args.seed)
    shas = [f"{i:064x}" for i in range(args.media)]
    hexes = [row.tobytes().hex() for row in hashes]
    grids = GridFile(args.media, args.seed) if args.crops else None
    candidates = [
        Candidate(s, h, int(q), key=grids.keys[i] if grids else None)
        for i, (s, h, q) in enumerate(zip(shas, hexes, quality.tolist(), strict=True))
    ]
    del hexes
    t_input = time.perf_counter() - t0
    rss_input = rss_mb()

    params = ClusterParams(threshold=args.threshold)
    t0 = time.perf_counter()
    plan = plan_update(candidates, [], params)
    t_cluster = time.perf_counter() - t0
    t_crops = 0.0
    moved = 0
    if args.crops:
        row = {s: i for i, s in enumerate(shas)}
        t0 = time.perf_counter()
        cropped = plan_crops(
            plan, candidates, [], lambda want: {s: grids.read(row[s]) for s in want}, params
        )
        t_crops = time.perf_counter() - t0
        moved = len(plan.new_clusters) - len(cropped.new_clusters)
        plan = cropped
    rss_peak = rss_mb()

    row_of = {s: i for i, s in enumerate(shas)}
    # a distractor is a picture of its own: picture id = group, or media + row
    picture = np.where(group >= 0, group, args.media + np.arange(args.media))
    impure = 0
    main_share: Counter[int] = Counter()
    for c in plan.new_clusters:
        rows = [row_of[m.sha256] for m in c.members]
        impure += len({int(picture[r]) for r in rows}) > 1
        for g, n in Counter(int(group[r]) for r in rows).items():
            if g >= 0:
                main_share[g] = max(main_share[g], n)
    ok = quality >= 50
    group_sizes = Counter(int(g) for g in group[ok].tolist() if g >= 0)
    completeness = sum(main_share[g] for g in group_sizes) / max(1, sum(group_sizes.values()))
    report = {
        "media": args.media,
        "planted_groups": int(group.max()) + 1,
        "media_in_groups": int((group >= 0).sum()),
        "clusters": len(plan.new_clusters),
        "singletons_low_quality": sum(1 for c in plan.new_clusters if c.reason),
        "impure_clusters": impure,
        "completeness_of_planted_groups": round(completeness, 5),
        "seconds_input": round(t_input, 1),
        "seconds_cluster": round(t_cluster, 1),
        "seconds_crop_pass": round(t_crops, 1),
        "clusters_moved_by_crop_pass": moved,
        "peak_rss_mb_inputs": round(rss_input),
        "peak_rss_mb_total": round(rss_peak),
        "cpus": len(os.sched_getaffinity(0)),
    }
    width = max(len(k) for k in report)
    for k, v in report.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
