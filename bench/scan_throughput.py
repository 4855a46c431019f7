"""Scan throughput: Verisight's full pipeline against Meta's PDQ-only hashing, per core.

Generates ``--count`` distinct 1–2 megapixel JPEGs (gradients, shapes and noise from fixed
seeds, so PDQ quality is high), cached under ``bench/out/`` (gitignored), then:

1. times Verisight on them, single process:
   * default: end to end through the CLI, ``verisight scan DIR --case TMP --workers 1 --json``,
     then reads the hashes back with ``verisight media list --case TMP --json``;
   * ``--in-process``: ``verisight.analysis.analyse_path`` on each file in this process (the
     analysis step alone: hashes, sniffing, decode, PDQ, EXIF, thumbnail);
2. times python-threatexchange's PDQ-only hashing of the same files in this process
   (``threatexchange.signal_type.pdq.pdq_hasher.pdq_from_file``: the code behind
   ``threatexchange hash photo`` without the CLI start-up; it decodes at full resolution);
3. prints images/second for both, their ratio, and the Hamming distances between Verisight's PDQ
   and threatexchange's full-resolution PDQ of each file (goals: max ≤ 20, mean ≤ 6).

Run: ``.venv/bin/python bench/scan_throughput.py`` (CLI) or ``... --in-process``. ``--json``
also prints the figures as one JSON object. ``--phase-report`` adds the measurement behind
:mod:`verisight.analysis.pdq`'s phase correction: distances with and without it, against
threatexchange on the generated images and against Meta's ``expected.tsv``. ``--scaling N``
times only ``verisight scan`` with ``--workers 1`` and ``--workers N`` (alternating, medians of
3) and prints the ratio; ``--costs`` prints the mean cost of each step of the image path.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
#: Bump when the generator changes so stale caches are not reused.
GENERATOR_VERSION = 1


# ---------------------------------------------------------------- image generation


def make_scene(seed: int) -> tuple[Image.Image, int]:
    """A deterministic, varied 1–2 megapixel RGB scene and its JPEG quality."""
    rng = np.random.default_rng(seed)
    pixels = int(rng.integers(1_000_000, 2_000_001))
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    w = max(64, round(math.sqrt(pixels * aspect)))
    h = max(64, round(pixels / w))

    # Background: a linear gradient between two colours in a random direction, plus a
    # low-frequency wave so large areas are not flat.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (xx * np.cos(angle) + yy * np.sin(angle)) / max(w, h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    fx, fy = rng.uniform(1, 6, 2) * 2 * np.pi
    wave = np.sin(xx / w * fx + rng.uniform(0, 6)) * np.cos(yy / h * fy + rng.uniform(0, 6))
    img += (wave * rng.uniform(10, 40))[..., None] * rng.uniform(-1, 1, 3)[None, None, :]
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")

    # Shapes of every size.
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(6, 25))):
        kind = int(rng.integers(0, 3))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.02, 0.3) * w, rng.uniform(0.02, 0.3) * h
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (cx - rx, cy - ry, cx + rx, cy + ry)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            n = int(rng.integers(3, 7))
            pts = [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in rng.uniform(0, 6.3, n)]
            draw.polygon(pts, fill=colour)
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))

    # Sensor-like noise.
    arr = np.asarray(im).astype(np.int16)
    arr += rng.normal(0, rng.uniform(2, 10), arr.shape).astype(np.int16)
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return im, int(rng.integers(70, 96))


def _make_image(path: Path, seed: int) -> None:
    im, quality = make_scene(seed)
    tmp = path.with_suffix(".tmp")
    im.save(tmp, "JPEG", quality=quality)
    tmp.replace(path)


def ensure_images(count: int, root: Path = OUT, *, jobs: int = 1) -> Path:
    """Generate (or reuse) ``count`` JPEGs, in ``jobs`` processes; return their directory."""
    folder = root / f"images-v{GENERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    todo = [(folder / f"img_{i:05d}.jpg", 1_000_003 + i) for i in range(count)]
    todo = [(path, seed) for path, seed in todo if not path.exists()]
    started = time.perf_counter()
    if jobs > 1 and len(todo) > 1:
        from multiprocessing import Pool

        with Pool(jobs) as pool:
            pool.starmap(_make_image, todo, chunksize=4)
    else:
        for path, seed in todo:
            _make_image(path, seed)
    if todo:
        took = time.perf_counter() - started
        print(f"generated {len(todo)} images in {took:.1f} s", file=sys.stderr)
    return folder


def bench_set(folder: Path, count: int) -> Path:
    """A directory holding exactly the first ``count`` images (links into the cache)."""
    sel = folder.parent / f"set-{count}"
    if sel.exists() and len(list(sel.iterdir())) == count:
        return sel
    shutil.rmtree(sel, ignore_errors=True)
    sel.mkdir(parents=True)
    for i in range(count):
        name = f"img_{i:05d}.jpg"
        try:
            os.link(folder / name, sel / name)
        except OSError:
            shutil.copy2(folder / name, sel / name)
    return sel


# ---------------------------------------------------------------- the contenders


def time_in_process(
    files: list[Path], batch: int = 50
) -> tuple[float, dict[str, str | None], float, dict[str, str]]:
    """Verisight's analyse_path and threatexchange's pdq_from_file, alternating in batches.

    Alternating batches of ``batch`` files keeps both exposed to the same machine load.
    Returns (verisight seconds, verisight PDQs, threatexchange seconds, threatexchange PDQs).
    """
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    from verisight.analysis import analyse_path
    from verisight.limits import Limits

    limits = Limits()
    for f in files[:5]:  # warm-up: imports, plugin registration, caches
        analyse_path(f, limits)
        pdq_from_file(f)
    ours: dict[str, str | None] = {}
    theirs: dict[str, str] = {}
    verisight_s = tx_s = 0.0
    for i in range(0, len(files), batch):
        chunk = files[i : i + batch]
        started = time.perf_counter()
        for f in chunk:
            ours[f.name] = analyse_path(f, limits).pdq
        verisight_s += time.perf_counter() - started
        started = time.perf_counter()
        for f in chunk:
            theirs[f.name] = pdq_from_file(f)[0]
        tx_s += time.perf_counter() - started
    return verisight_s, ours, tx_s, theirs


def time_verisight_cli(
    folder: Path, verisight: str, workers: int = 1
) -> tuple[float, dict[str, str | None], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="verisight-bench-") as tmp:
        case = Path(tmp) / "case"
        cmd = [verisight, "scan", str(folder), "--case", str(case), "--workers", str(workers)]
        cmd.append("--json")
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
        summary = json.loads(done.stdout)
        listing = subprocess.run(
            [verisight, "media", "list", "--case", str(case), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
    hashes: dict[str, str | None] = {}
    for line in listing.stdout.splitlines():
        if not line.strip():
            continue
        media = json.loads(line)
        for sighting in media.get("sightings", []):
            hashes[Path(str(sighting["path"])).name] = media.get("pdq")
    return elapsed, hashes, summary


def time_threatexchange(files: list[Path]) -> tuple[float, dict[str, str]]:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    for f in files[:5]:
        pdq_from_file(f)
    hashes: dict[str, str] = {}
    started = time.perf_counter()
    for f in files:
        hashes[f.name] = pdq_from_file(f)[0]
    return time.perf_counter() - started, hashes


def phase_report(files: list[Path], theirs: dict[str, str]) -> dict[str, Any]:
    """PDQ distances with and without the phase correction (see verisight.analysis.pdq)."""
    from verisight.analysis.pdq import pdq_from_pixels, pdq_input
    from verisight.limits import Limits
    from verisight.media.decode import decode_image

    def ours(path: Path, phase_correct: bool) -> str:
        d = decode_image(path.read_bytes(), Limits(), draft_side=512)
        size = (d.header.width, d.header.height)
        image = pdq_input(d.image, size, d.extent, phase_correct=phase_correct)
        return pdq_from_pixels(np.asarray(image))[0]

    expected_tsv = REPO.parent / "shared" / "testdata" / "pdq" / "expected.tsv"
    rows = []
    if expected_tsv.is_file():
        lines = expected_tsv.read_text().splitlines()[1:]
        rows = [(expected_tsv.parent / ln.split("\t")[0], ln.split("\t")[1]) for ln in lines if ln]
    report: dict[str, Any] = {}
    for phase_correct in (False, True):
        key = "corrected" if phase_correct else "uncorrected"
        mine = {f.name: ours(f, phase_correct) for f in files}
        report[f"{key}_vs_threatexchange"] = distance_stats(dict(mine), theirs)
        if rows:
            ref = {str(p): h for p, h in rows}
            got: dict[str, str | None] = {str(p): ours(p, phase_correct) for p, _ in rows}
            report[f"{key}_vs_expected_tsv"] = distance_stats(got, ref)
    return report


# ---------------------------------------------------------------- report


def distance_stats(ours: dict[str, str | None], theirs: dict[str, str]) -> dict[str, Any]:
    from verisight.analysis.pdq import hamming

    dists = [hamming(h, theirs[name]) for name, h in ours.items() if h and name in theirs]
    missing = sum(1 for name in theirs if not ours.get(name))
    if not dists:
        return {"compared": 0, "missing": missing}
    dists.sort()
    p95 = dists[min(len(dists) - 1, math.ceil(0.95 * len(dists)) - 1)]
    return {
        "compared": len(dists),
        "missing": missing,
        "min": dists[0],
        "median": statistics.median(dists),
        "mean": round(statistics.fmean(dists), 2),
        "p95": p95,
        "max": dists[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="number of images (1000)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="time verisight.analysis.analyse_path in this process instead of the verisight CLI",
    )
    parser.add_argument("--verisight", default=str(REPO / ".venv" / "bin" / "verisight"))
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--phase-report",
        action="store_true",
        help="also measure PDQ distances with and without the phase correction",
    )
    parser.add_argument(
        "--costs",
        action="store_true",
        help="only print the per-image cost of each analysis phase (ms, in this process)",
    )
    parser.add_argument(
        "--scaling",
        type=int,
        default=0,
        metavar="N",
        help="only time `verisight scan` with --workers 1 and --workers N, alternating (3 each)",
    )
    args = parser.parse_args(argv)

    folder = bench_set(ensure_images(args.count), args.count)
    files = sorted(folder.glob("*.jpg"))
    megapixels = sum(_pixels(f) for f in files) / len(files) / 1e6

    result: dict[str, Any] = {
        "images": len(files),
        "mean_megapixels": round(megapixels, 2),
        "cpu": _cpu_name(),
    }
    if args.costs:
        return phase_costs(files, result, args.json)
    if args.scaling:
        return scaling(folder, args.verisight, args.scaling, result, args.json)
    if args.in_process:
        verisight_s, ours, tx_s, theirs = time_in_process(files)
        result["verisight_mode"] = (
            "in-process: verisight.analysis.analyse_path per file (alternating 50-file batches)"
        )
    else:
        verisight_s, ours, summary = time_verisight_cli(folder, args.verisight)
        result["verisight_mode"] = (
            "CLI: verisight scan --workers 1 (end to end, incl. start-up and DB)"
        )
        result["scan_summary"] = summary
        tx_s, theirs = time_threatexchange(files)
    result["threatexchange_mode"] = "library: threatexchange pdq_hasher.pdq_from_file, in-process"
    result["verisight_images_per_s"] = round(len(files) / verisight_s, 1)
    result["threatexchange_images_per_s"] = round(len(files) / tx_s, 1)
    result["speedup_per_core"] = round(tx_s / verisight_s, 2)
    result["pdq_distance_vs_threatexchange"] = distance_stats(ours, theirs)

    if args.phase_report:
        result["phase_report"] = phase_report(files, theirs)

    d = result["pdq_distance_vs_threatexchange"]
    print(f"images: {len(files)} JPEGs, mean {megapixels:.2f} MP, cpu: {result['cpu']}")
    print(
        f"verisight          ({result['verisight_mode']}): "
        f"{result['verisight_images_per_s']} images/s"
    )
    print(f"threatexchange ({result['threatexchange_mode']}): ", end="")
    print(f"{result['threatexchange_images_per_s']} images/s")
    print(f"speed-up per core (both single-process): {result['speedup_per_core']}×")
    print(f"PDQ distance verisight vs threatexchange full-res: {d}")
    for key, value in result.get("phase_report", {}).items():
        print(f"  {key}: {value}")
    if args.json:
        print(json.dumps(result))
    return 0


def phase_costs(files: list[Path], result: dict[str, Any], as_json: bool) -> int:
    """Mean milliseconds per image of each step of the image path of
    :func:`verisight.analysis.analyse_bytes`, called as it calls them (file read excluded)."""
    from verisight.analysis.luma import luma_grid
    from verisight.analysis.pdq import (
        PDQ_SIDE,
        pdq_dihedral_from_pixels,
        pdq_input,
        pdq_trimmed_from_pixels,
    )
    from verisight.limits import Limits
    from verisight.media.decode import decode_image
    from verisight.media.thumbnail import make_thumbnail

    limits = Limits()
    pdq_dihedral_from_pixels(np.zeros((64, 64, 3), np.uint8))  # compile or load the kernel
    spent: dict[str, float] = dict.fromkeys(
        ("decode", "reduce to 512", "PDQ + dihedral", "trimmed PDQ", "luma grid", "thumbnail"),
        0.0,
    )
    names = list(spent)
    for f in files:
        data = f.read_bytes()
        marks = [time.perf_counter()]
        decoded = decode_image(data, limits, mime="image/jpeg", draft_side=PDQ_SIDE)
        decoded.image.load()
        marks.append(time.perf_counter())
        header = decoded.header
        image = pdq_input(decoded.image, (header.width, header.height), decoded.extent)
        marks.append(time.perf_counter())
        pixels = np.asarray(image)
        pdq_dihedral_from_pixels(pixels)
        marks.append(time.perf_counter())
        pdq_trimmed_from_pixels(pixels)
        marks.append(time.perf_counter())
        luma_grid(image)
        marks.append(time.perf_counter())
        make_thumbnail(image)
        marks.append(time.perf_counter())
        for name, start, end in zip(names, marks, marks[1:], strict=False):
            spent[name] += end - start
    result["phase_ms"] = {k: round(v / len(files) * 1e3, 2) for k, v in spent.items()}
    print(f"images: {result['images']} JPEGs, mean {result['mean_megapixels']} MP")
    for name, ms in result["phase_ms"].items():
        print(f"  {name:16} {ms:6.2f} ms/image")
    if as_json:
        print(json.dumps(result))
    return 0


def scaling(folder: Path, verisight: str, n: int, result: dict[str, Any], as_json: bool) -> int:
    """Median wall-clock of whole ``verisight scan`` runs with 1 and ``n`` workers, alternated
    so that both see the same machine load (issue 17: ≥ 1.85× with 2 workers on 2 cores)."""
    times: dict[int, list[float]] = {1: [], n: []}
    for _ in range(3):
        for workers in times:
            times[workers].append(time_verisight_cli(folder, verisight, workers)[0])
    one, many = (statistics.median(times[w]) for w in (1, n))
    result["scan_s"] = {str(w): [round(t, 2) for t in ts] for w, ts in times.items()}
    result["scaling"] = round(one / many, 2)
    print(f"images: {result['images']} JPEGs, mean {result['mean_megapixels']} MP")
    print(f"verisight scan --workers 1: {one:.2f} s, --workers {n}: {many:.2f} s (medians of 3)")
    print(f"scaling with {n} workers: {result['scaling']}×")
    if as_json:
        print(json.dumps(result))
    return 0


def _pixels(path: Path) -> int:
    with Image.open(path) as im:
        return im.width * im.height


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
