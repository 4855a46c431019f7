"""Decisions per 1,000 items: how far near-duplicate clustering cuts the analysts' work.

Builds a benign synthetic "forum month" under a temporary directory (or ``--keep DIR``):

* base pictures: :func:`verisight.demo.scene` at 640×480 (~0.3 MP) with distinct seeds, each
  posted 1–20 times: the original JPEG, then variants drawn from JPEG re-encodes
  (quality 30–95), resizes (40–90 %), crops (up to 10 % of each side in total), mirror
  flips, a small text overlay, colour shifts, screenshot-style borders and exact re-posts;
* unrelated distractors (10 % of the items): other scenes posted once.

Then scans it with :meth:`verisight.case.Case.scan` (the code behind ``verisight scan``), clusters
it with :func:`verisight.clustering.update_clusters` (the code behind ``verisight cluster``) and
prints: items, distinct media, clusters = decisions required, decisions per 1,000 items
against the true number of distinct pictures per 1,000 (the anchor: the goal is within
10 %), purity (share of clusters holding one picture only: must be 100 %), completeness
(share of each picture's posts in its main cluster), the variant types that escape their
picture's main cluster, and the same figures for single linkage (connected components at
the same threshold), which chains.

Run: ``.venv/bin/python bench/decisions.py --items 20000`` (``--items 200000`` for the large
run; ``--json`` adds one JSON object). With ``--keep DIR`` the collection, its listing and the
scanned case stay in ``DIR``; ``--keep DIR --reuse-scan`` then clusters that scanned case
again without building or scanning (for measuring a change to clustering alone).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from verisight.case import Case  # noqa: E402
from verisight.clustering import ClusterParams, update_clusters  # noqa: E402
from verisight.clustering.near_duplicates import (  # noqa: E402
    connected_components,
    hashes_from_hex,
    neighbour_graph,
)
from verisight.demo import scene  # noqa: E402
from verisight.store.clusters import ClusterStore  # noqa: E402

SIZE = (640, 480)
VARIANTS = ("jpeg", "resize", "crop", "flip", "text", "colour", "border", "copy")


# ------------------------------------------------------------------ the collection


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def variant(img: Image.Image, original: bytes, kind: str, rng: random.Random) -> bytes:
    """One re-post of ``img`` (whose first post is ``original``)."""
    w, h = img.size
    if kind == "copy":
        return original
    if kind == "jpeg":
        return _jpeg(img, rng.choice((30, 50, 70, 85, 95)))
    if kind == "resize":
        s = rng.uniform(0.4, 0.9)
        return _jpeg(img.resize((round(w * s), round(h * s)), Image.Resampling.LANCZOS), 85)
    if kind == "crop":
        fx, fy = rng.uniform(0.02, 0.10), rng.uniform(0.02, 0.10)
        left, top = rng.uniform(0, fx), rng.uniform(0, fy)
        box = (
            round(w * left),
            round(h * top),
            round(w * (1 - fx + left)),
            round(h * (1 - fy + top)),
        )
        return _jpeg(img.crop(box), 85)
    if kind == "flip":
        return _jpeg(ImageOps.mirror(img), 85)
    if kind == "text":
        out = img.copy()
        draw = ImageDraw.Draw(out)
        x, y = rng.choice(((8, 8), (8, h - 24), (w - 170, h - 24)))
        draw.text((x, y), f"forum.example #{rng.randrange(10**5)}", fill=(255, 255, 255))
        return _jpeg(out, 85)
    if kind == "colour":
        out = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
        out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.85, 1.15))
        return _jpeg(out, 85)
    if kind == "border":  # a window frame: title bar with three dots, grey margins
        bar, side = rng.randint(24, 40), rng.randint(6, 20)
        out = Image.new("RGB", (w + 2 * side, h + bar + side), (236, 236, 236))
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, 0, out.width, bar), fill=(58, 58, 60))
        for i, c in enumerate(((255, 95, 87), (255, 189, 46), (39, 201, 63))):
            draw.ellipse((10 + 18 * i, bar // 2 - 5, 20 + 18 * i, bar // 2 + 5), fill=c)
        out.paste(img, (side, bar))
        return _jpeg(out, 85)
    raise ValueError(kind)


def _write_picture(job: tuple[str, int, int, int]) -> list[tuple[str, int, str]]:
    """Runs in a worker: write one picture's posts; returns (file, picture, variant)."""
    folder, picture, seed, posts = job
    rng = random.Random(seed)
    img = scene(seed, SIZE)
    original = _jpeg(img, 90)
    written = []
    sub = Path(folder) / f"{picture // 1000:04d}"
    sub.mkdir(parents=True, exist_ok=True)
    for k in range(posts):
        kind = "original" if k == 0 else rng.choice(VARIANTS)
        data = original if k == 0 else variant(img, original, kind, rng)
        name = sub / f"p{picture:07d}-{k:02d}.jpg"
        name.write_bytes(data)
        written.append((str(name), picture, kind))
    return written


def build_collection(
    folder: Path, items: int, seed: int, workers: int
) -> list[tuple[str, int, str]]:
    rng = random.Random(seed)
    jobs: list[tuple[str, int, int, int]] = []
    total = 0
    target = round(items * 0.9)
    seeds = rng.sample(range(10**6, 10**9), k=items + 10)
    while total < target:
        posts = min(rng.randint(1, 20), target - total)
        jobs.append((str(folder), len(jobs), seeds[len(jobs)], posts))
        total += posts
    while total < items:  # distractors: unrelated pictures posted once
        jobs.append((str(folder), len(jobs), seeds[len(jobs)], 1))
        total += 1
    with ProcessPoolExecutor(workers) as pool:
        return [row for rows in pool.map(_write_picture, jobs, chunksize=16) for row in rows]


# ------------------------------------------------------------------ measuring


def evaluate(
    files: list[tuple[str, int, str]], media_of: dict[str, str], groups: dict[str, int]
) -> dict[str, Any]:
    """Purity, completeness and escapes of a grouping (media → group label)."""
    by_group: dict[int, set[int]] = defaultdict(set)
    picture_of_media: dict[str, int] = {}
    for path, picture, _ in files:
        sha = media_of[path]
        picture_of_media[sha] = picture
        by_group[groups[sha]].add(picture)
    impure = [g for g, pics in by_group.items() if len(pics) > 1]
    per_picture: dict[int, Counter[int]] = defaultdict(Counter)
    for path, picture, _ in files:
        per_picture[picture][groups[media_of[path]]] += 1
    main = {p: c.most_common(1)[0][0] for p, c in per_picture.items()}
    escaped: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    in_main = 0
    for path, picture, kind in files:
        by_kind[kind] += 1
        if groups[media_of[path]] == main[picture]:
            in_main += 1
        else:
            escaped[kind] += 1
    shares = [c[main[p]] / sum(c.values()) for p, c in per_picture.items()]
    return {
        "groups": len(by_group),
        "purity": 1 - len(impure) / len(by_group),
        "impure_groups": len(impure),
        "pictures_in_impure_groups": sum(len(by_group[g]) for g in impure),
        "completeness_items": in_main / len(files),
        "completeness_mean_per_picture": float(np.mean(shares)),
        "escaped_by_variant": {k: f"{escaped[k]}/{by_kind[k]}" for k in sorted(by_kind)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--threshold", type=int, default=31)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the collection and case here")
    ap.add_argument(
        "--reuse-scan",
        action="store_true",
        help="with --keep: start from the scanned case kept by an earlier run (case-scanned/) "
        "and only cluster again (no scan time is reported)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="verisight-decisions-"))
    collection, case_dir, scanned = root / "collection", root / "case", root / "case-scanned"
    if args.reuse_scan and not (args.keep and scanned.is_dir()):
        ap.error("--reuse-scan needs --keep DIR holding case-scanned/ from an earlier run")
    listing = root / "collection.tsv"  # (file, picture, variant) of a kept collection
    t0 = time.perf_counter()
    if args.reuse_scan and listing.is_file():
        rows = (line.split("\t") for line in listing.read_text().splitlines())
        files = [(path, int(picture), kind) for path, picture, kind in rows]
    else:
        files = build_collection(collection, args.items, args.seed, args.workers)
        if args.keep:
            listing.write_text("".join(f"{f}\t{p}\t{k}\n" for f, p, k in files))
    t_build = time.perf_counter() - t0
    if case_dir.exists():
        shutil.rmtree(case_dir)
    if args.reuse_scan:
        shutil.copytree(scanned, case_dir)
    try:
        with Case(case_dir, create=not args.reuse_scan) as case:
            t0 = time.perf_counter()
            summary = (
                None
                if args.reuse_scan
                else case.scan([collection], workers=args.workers, cluster=False)
            )  # clustered (and timed) below
            t_scan: float | None = None if args.reuse_scan else time.perf_counter() - t0
            if args.keep and summary is not None:  # for a later --reuse-scan
                shutil.rmtree(scanned, ignore_errors=True)
                shutil.copytree(case_dir, scanned)
            media_of = {s.path: s.media_sha256 for s in case.sightings() if s.media_sha256}
            params = ClusterParams(threshold=args.threshold)
            repo = ClusterStore(case.store.engine)
            t0 = time.perf_counter()
            upd = update_clusters(repo, params)
            t_cluster = time.perf_counter() - t0
            clusters = list(repo.iter_clusters("near-duplicate"))
            leader = {m.sha256: c.id for c in clusters for m in c.members}
            kept_apart = sum(1 for c in clusters if c.reason is not None)
            media = list(case.media())
        # single linkage on the same neighbour graph, for comparison
        ok = [m for m in media if m.pdq and (m.pdq_quality or 0) >= params.min_quality]
        rows = [i for i, m in enumerate(ok) for _ in m.pdq_variants or []]
        var = [v for m in ok for v in m.pdq_variants or []]
        inner = [i for i, m in enumerate(ok) if m.pdq_trimmed]
        graph = neighbour_graph(
            hashes_from_hex([m.pdq or "" for m in ok]),
            args.threshold,
            variants=(np.array(rows, np.int64), hashes_from_hex(var)),
            trimmed=(
                np.array(inner, np.int64),
                hashes_from_hex([ok[i].pdq_trimmed or "" for i in inner]),
            ),
        )
        labels = connected_components(graph)
        single = {m.sha256: int(labels[i]) for i, m in enumerate(ok)}
        offset = len(ok)
        for i, m in enumerate(x for x in media if x.sha256 not in single):
            single[m.sha256] = offset + i
        missing = [f for f in files if f[0] not in media_of]
        files = [f for f in files if f[0] in media_of]
        pictures = len({p for _, p, _ in files})
        res_leader = evaluate(files, media_of, leader)
        res_single = evaluate(files, media_of, single)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    items = len(files)
    decisions = res_leader["groups"]
    report = {
        "items": items,
        "unreadable_items": len(missing),
        "distinct_media": len(media),
        "true_pictures": pictures,
        "clusters": decisions,
        "singletons_kept_apart": kept_apart,
        "low_quality_or_no_pdq_media": sum(
            1 for m in media if not m.pdq or (m.pdq_quality or 0) < params.min_quality
        ),
        "decisions_per_1000": 1000 * decisions / items,
        "true_pictures_per_1000": 1000 * pictures / items,
        "decisions_vs_truth": decisions / pictures,
        "leader": res_leader,
        "single_linkage": res_single,
        "seconds": {
            "build": round(t_build, 1),
            "scan": None if t_scan is None else round(t_scan, 1),
            "cluster": round(t_cluster, 2),
        },
        "scan_summary": None if summary is None else summary.to_json(),
        "cluster_summary": upd.to_json(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "workers": args.workers,
    }
    _print(report)
    if args.json:
        print(json.dumps(report))


def _print(r: dict[str, Any]) -> None:
    lead, single = r["leader"], r["single_linkage"]
    rows = [
        ("items (files posted)", f"{r['items']:,}"),
        ("distinct media (SHA-256)", f"{r['distinct_media']:,}"),
        ("true distinct pictures", f"{r['true_pictures']:,}"),
        ("clusters = decisions required", f"{r['clusters']:,}"),
        ("  of which low-quality/no-PDQ singletons", f"{r['singletons_kept_apart']:,}"),
        ("media with a low-quality or no PDQ", f"{r['low_quality_or_no_pdq_media']:,}"),
        ("decisions per 1,000 items", f"{r['decisions_per_1000']:.1f}"),
        ("true pictures per 1,000 items (anchor)", f"{r['true_pictures_per_1000']:.1f}"),
        ("decisions / true pictures", f"{r['decisions_vs_truth']:.3f}  (goal ≤ 1.10)"),
        ("purity (leader clustering)", f"{100 * lead['purity']:.3f} %  (goal 100 %)"),
        ("completeness, items in main cluster", f"{100 * lead['completeness_items']:.2f} %"),
        ("completeness, mean per picture", f"{100 * lead['completeness_mean_per_picture']:.2f} %"),
        ("escaped their picture's main cluster", json.dumps(lead["escaped_by_variant"])),
        ("single linkage: groups", f"{single['groups']:,}"),
        ("single linkage: purity", f"{100 * single['purity']:.3f} %"),
        ("single linkage: impure groups (pictures)",
         f"{single['impure_groups']} ({single['pictures_in_impure_groups']})"),
        ("wall time: build / scan / cluster (s)",
         f"{r['seconds']['build']} / {r['seconds']['scan']} / {r['seconds']['cluster']}"),
        ("peak RSS of this process (MB)", f"{r['peak_rss_mb']}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
