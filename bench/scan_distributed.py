"""Scanning on Dask against the local pool, and the coordinator's recording ceiling.

1. Builds a collection from ``bench/scan_throughput.py``'s generated 1–2 MP JPEGs (cached under
   ``bench/out/``): ``--images`` images, 80 % loose and 20 % in zip archives of 25.
2. Scans it three ways through the CLI, each into a fresh SQLite case, ``--repeat`` rounds
   round-robin (the best of each is kept: the machine may be shared):
   ``--workers 2`` (the local pool), ``--dask local:1`` and ``--dask local:2``, and reports
   items/s over the scan itself (the summary's ``elapsed_seconds``: cluster start-up excluded,
   shown apart) and the ratios (goals: Dask 2 workers ≥ 90 % of the local pool; 2 workers
   ≥ 1.8× one).
3. The coordinator's ceiling: the items/s it records into PostgreSQL when analysis costs
   nothing — real records (with thumbnail and luma grid) of a few images are replayed with
   fresh hashes through :func:`verisight.scanning.run_scan` and the same recording path as a
   Dask scan (:meth:`ScanState.accept`, thumbnails written by the coordinator); goal ≥ 5,000
   items/s. Needs the PostgreSQL server of the tests (``VERISIGHT_TEST_POSTGRES_URL``).
   ``--ceiling-store sqlite`` replays into a SQLite case instead (no server needed). The
   coordinator's resident memory is sampled during the replay (``rss_mb``), to show that it
   stays flat however many items pass.
4. On paper: the workers needed for 100M images in 24 h from the per-worker rate measured.

``--scale 1,2,4,8`` scans with ``--workers N`` and ``--dask local:N`` for each N instead of the
three ways (``bench/device_scale.sh`` runs it on a bigger machine); ``--budget`` stops starting
scans after that many seconds; ``--out FILE`` also writes the figures as JSON.

Run: ``.venv/bin/python bench/scan_distributed.py [--images 2000] [--replay 20000] [--json]``.
On a shared machine the figures are noisy: compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from scan_throughput import ensure_images  # noqa: E402

POSTGRES_URL = os.environ.get(
    "VERISIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PER_ARCHIVE = 25


def build_collection(images: int, root: Path, cache_root: Path, jobs: int) -> Path:
    cache = ensure_images(images, cache_root, jobs=jobs)
    files = sorted(cache.glob("img_*.jpg"))[:images]
    src = root / "collection"
    (src / "loose").mkdir(parents=True)
    n_loose = images - images // 5
    for f in files[:n_loose]:
        os.link(f, src / "loose" / f.name)
    rest = files[n_loose:]
    for k in range(0, len(rest), PER_ARCHIVE):
        with zipfile.ZipFile(src / f"batch-{k // PER_ARCHIVE:04d}.zip", "w") as zf:
            for f in rest[k : k + PER_ARCHIVE]:
                zf.write(f, f"photos/{f.name}")
    return src


def scan_once(src: Path, case: Path, how: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "verisight.cli", "scan", str(src), "--case", str(case)]
    cmd.append("--no-cluster")  # the scan alone (clustering is timed by bench/cluster_scale.py)
    started = time.perf_counter()
    out = subprocess.run([*cmd, *how, "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    summary = json.loads(out.stdout)
    assert summary["seen"] == summary["analysed"] + summary["failed"] + summary["skipped"]
    return {
        "how": " ".join(how),
        "seen": summary["seen"],
        "scan_seconds": summary["elapsed_seconds"],
        "wall_seconds": round(wall, 2),
        "items_per_s": round(summary["seen"] / summary["elapsed_seconds"], 1),
    }


class _Replay:
    """An executor whose analysis costs nothing: it hands ``count`` stored records (fresh
    hashes each) to the recorder, as a Dask worker's results would arrive."""

    def __init__(self, records: list[Any], count: int) -> None:
        self.records, self.count = records, count
        #: (items replayed, coordinator RSS in MiB), sampled as the replay goes.
        self.rss: list[tuple[int, float]] = []

    def run(self, state: Any) -> None:
        from verisight.scan_tasks import Result
        from verisight.sources import Item, Provenance

        for seq in range(self.count):
            base = self.records[seq % len(self.records)]
            rec = dataclasses.replace(
                base,
                sha256=secrets.token_hex(32),
                sha1=secrets.token_hex(20),
                md5=secrets.token_hex(16),
            )
            item = Item(
                Provenance(chain=(f"/replay/{seq // 1000:05d}/{seq:08d}.jpg",)),
                path=Path(f"/replay/{seq:08d}.jpg"),
                size=rec.size,
                mtime_ns=1,
            )
            if state.settle(seq, item, has_content=True):
                state.accept(seq, item, Result(seq, rec, rec.thumbnail is not None, None))
            state.tick(None)
            if seq % max(1, self.count // 20) == 0:
                self.rss.append((seq, rss_mb()))
        self.rss.append((self.count, rss_mb()))


def rss_mb() -> float:
    """This process's resident memory now, MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def ceiling(
    images: Path,
    count: int,
    batch_size: int,
    store_kind: str,
    *,
    thumbnails: bool = True,
    case_dir: Path | None = None,
) -> dict[str, Any]:
    import resource

    from verisight.analysis import analyse_path
    from verisight.limits import Limits
    from verisight.scanning import run_scan
    from verisight.store import Store

    records = [analyse_path(p, Limits()) for p in sorted(images.glob("img_*.jpg"))[:20]]
    if not thumbnails:
        records = [dataclasses.replace(r, thumbnail=None) for r in records]
    if case_dir is not None:
        case_dir.mkdir(parents=True)
    case = case_dir or Path(tempfile.mkdtemp(prefix="verisight-ceiling-"))
    replay = _Replay(records, count)
    try:
        with _database(store_kind, case) as url:
            store = Store.open(url)
            backends = _backend_pids(store.engine)
            pg_before = {pid: _cpu_seconds(pid) for pid in backends}
            me = resource.getrusage(resource.RUSAGE_SELF)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            s = run_scan(store, case, [REPO], executor=replay, batch_size=batch_size)
            seconds = time.perf_counter() - started
            me2 = resource.getrusage(resource.RUSAGE_SELF)
            kids2 = resource.getrusage(resource.RUSAGE_CHILDREN)
            pg = [_cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in backends]
            store.close()
    finally:
        if case_dir is None:
            shutil.rmtree(case, ignore_errors=True)
    assert s.seen == s.analysed == count

    def per_item(cpu: float) -> float:
        return round(cpu / count * 1e6, 1)

    out: dict[str, Any] = {
        "store": store_kind,
        "thumbnails": thumbnails,
        "items": count,
        "batch_size": batch_size,
        "seconds": round(seconds, 2),
        "items_per_s": round(count / seconds, 1),
        # CPU per item (µs), which the machine's other load disturbs less than items/s: the
        # coordinator's threads, its thumbnail writer process, and (a local server) PostgreSQL.
        "cpu_us_per_item": {
            "coordinator": per_item(me2.ru_utime - me.ru_utime + me2.ru_stime - me.ru_stime),
            "thumbnail_writer": per_item(
                kids2.ru_utime - kids.ru_utime + kids2.ru_stime - kids.ru_stime
            ),
        },
        "rss_mb": [(n, round(mb, 1)) for n, mb in replay.rss],
    }
    if pg and all(v >= 0 for v in pg):
        out["cpu_us_per_item"]["postgresql"] = per_item(sum(pg))
    return out


def _backend_pids(engine: Any) -> set[int]:
    """PostgreSQL: the server processes behind ``engine``'s connections, now and to come
    (their CPU is readable in ``/proc`` when the server is on this machine)."""
    import sqlalchemy as sa

    pids: set[int] = set()
    if engine.dialect.name != "postgresql":
        return pids

    @sa.event.listens_for(engine, "connect")
    def _note(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pids.add(int(cur.fetchone()[0]))
        cur.close()

    with engine.connect() as conn:
        pids.add(int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()))
    return pids


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``; -1 when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _database(kind: str, case: Path) -> Iterator[str]:
    """A database URL for the ceiling: a SQLite case, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        from verisight.store.db import sqlite_url

        yield sqlite_url(case)
        return
    from verisight.store.db import scratch_schema

    with scratch_schema(POSTGRES_URL, "verisight_bench") as url:
        yield url


def modes_for(scale: list[int]) -> list[tuple[str, list[str]]]:
    """The scans to compare: the three ways, or both executors at each worker count."""
    if not scale:
        return [
            ("pool2", ["--workers", "2"]),
            ("dask1", ["--dask", "local:1"]),
            ("dask2", ["--dask", "local:2"]),
        ]
    return [
        mode
        for n in scale
        for mode in ((f"pool{n}", ["--workers", str(n)]), (f"dask{n}", ["--dask", f"local:{n}"]))
    ]


def paper(rate: dict[str, float], ceiling_rate: float | None) -> dict[str, Any]:
    """On paper: workers (and coordinators) for 100M images in 24 h, from the per-worker
    rate of the largest Dask scan measured."""
    measured = [(int(k.removeprefix("dask")), v) for k, v in rate.items() if k.startswith("dask")]
    if not measured:
        return {}
    n, total = max(measured)
    per_worker = total / n
    need = 100_000_000 / 86_400
    out: dict[str, Any] = {
        "items_per_s_needed": round(need, 1),
        "per_worker_items_per_s": round(per_worker, 1),
        "measured_at_workers": n,
        "workers_at_100pct": int(-(-need // per_worker)),
        "workers_at_70pct": int(-(-need // (0.7 * per_worker))),
    }
    if ceiling_rate:
        out["coordinator_hours_for_100M"] = round(100_000_000 / ceiling_rate / 3600, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--replay", type=int, default=20000, help="items for the ceiling (0: skip)")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument(
        "--repeat", type=int, default=2, help="rounds of the three scans (best of each kept)"
    )
    ap.add_argument("--scale", default="", help="worker counts, e.g. 1,2,4,8 (see above)")
    ap.add_argument("--ceiling-store", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument(
        "--replay-without-thumbnails",
        action="store_true",
        help="replay records without their thumbnails (a long memory run, sparing the disk)",
    )
    ap.add_argument(
        "--case-dir",
        type=Path,
        default=None,
        help="a new folder for the replay's case, kept afterwards (default: a temporary one, "
        "deleted; on ext4 without a journal, files created within minutes of many deletions "
        "nearby cost several times the kernel time, so a run right after another is slower)",
    )
    ap.add_argument("--cache", type=Path, default=None, help="where generated images are kept")
    ap.add_argument("--jobs", type=int, default=1, help="processes generating the images")
    ap.add_argument("--budget", type=float, default=0, help="seconds; 0: no limit")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    started = time.monotonic()
    cache_root = args.cache or REPO / "bench" / "out"
    scale = [int(n) for n in args.scale.split(",") if n.strip()]
    root = Path(tempfile.mkdtemp(prefix="verisight-dist-bench-"))
    runs: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    try:
        if args.images == 0:  # the ceiling alone
            args.repeat = 0
        src = build_collection(args.images, root, cache_root, args.jobs)
        warm = root / "warm-up"  # compiles (and caches) the numba kernels before any timing
        warm.mkdir()
        for f in sorted((src / "loose").iterdir())[:4]:
            os.link(f, warm / f.name)
        if args.repeat:
            scan_once(warm, root / "case-warm-up", ["--workers", "1"])
        for rnd in range(args.repeat):  # round-robin, so that a busy spell hits every mode
            for key, how in modes_for(scale):
                if args.budget and time.monotonic() - started > args.budget:
                    skipped.append(f"{key} round {rnd + 1}")
                    continue
                run = scan_once(src, root / f"case-{key}-{rnd}", how)
                print(json.dumps(run), file=sys.stderr)
                if key not in runs or run["items_per_s"] > runs[key]["items_per_s"]:
                    runs[key] = run
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rate = {k: r["items_per_s"] for k, r in runs.items()}
    result: dict[str, Any] = {"images": args.images, "cpus": os.cpu_count(), "runs": runs}
    if skipped:
        result["skipped_over_budget"] = skipped
    for a, b in (("dask2", "pool2"), ("dask2", "dask1")):
        if a in rate and b in rate:
            result[f"{a}_vs_{b}"] = round(rate[a] / rate[b], 3)
    if args.replay:
        images = ensure_images(20, cache_root)
        c = ceiling(
            images,
            args.replay,
            args.batch_size,
            args.ceiling_store,
            thumbnails=not args.replay_without_thumbnails,
            case_dir=args.case_dir,
        )
        result["ceiling"] = c
    result["paper_100M_in_24h"] = paper(rate, result.get("ceiling", {}).get("items_per_s"))
    result["seconds"] = round(time.monotonic() - started, 1)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result, rate, scale)
    return 0


def print_table(result: dict[str, Any], rate: dict[str, float], scale: list[int]) -> None:
    runs = result["runs"]
    for k, r in runs.items():
        print(
            f"{k:7} {r['how']:18} {r['items_per_s']:8.1f} items/s "
            f"(scan {r['scan_seconds']} s, wall {r['wall_seconds']} s, {r['seen']} items)"
        )
    if scale:
        print(f"\n{'workers':>7} {'pool/s':>8} {'dask/s':>8} {'dask/pool':>9} {'dask vs 1':>9}")
        for n in scale:
            pool, dask = rate.get(f"pool{n}"), rate.get(f"dask{n}")
            one = rate.get("dask1")
            print(
                f"{n:>7} {pool or 0:8.1f} {dask or 0:8.1f} "
                f"{(dask / pool) if dask and pool else 0:9.2f} "
                f"{(dask / one) if dask and one else 0:9.2f}"
            )
    if "dask2_vs_pool2" in result:
        print(f"dask local:2 / pool --workers 2 = {result['dask2_vs_pool2']:.2f} (goal ≥ 0.90)")
    if "dask2_vs_dask1" in result:
        print(f"dask local:2 / local:1 = {result['dask2_vs_dask1']:.2f} (goal ≥ 1.8)")
    if "ceiling" in result:
        c = result["ceiling"]
        cpu = ", ".join(f"{k} {v:.0f}" for k, v in c["cpu_us_per_item"].items())
        print(
            f"coordinator ceiling into {c['store']}: {c['items_per_s']:,.0f} items/s "
            f"({c['items']:,} replayed, batch {c['batch_size']}, "
            f"{'with' if c['thumbnails'] else 'without'} thumbnails; goal ≥ 5,000); "
            f"CPU µs/item: {cpu}; RSS {c['rss_mb'][0][1]:.0f} → {c['rss_mb'][-1][1]:.0f} MiB"
        )
    if result.get("skipped_over_budget"):
        print(f"not run (over --budget): {', '.join(result['skipped_over_budget'])}")
    p = result["paper_100M_in_24h"]
    if not p:
        return
    print(
        f"100M images in 24 h: {p['items_per_s_needed']:,.0f} items/s = "
        f"{p['workers_at_100pct']} workers at {p['per_worker_items_per_s']:.0f} items/s each "
        f"(measured with {p['measured_at_workers']}), {p['workers_at_70pct']} at 70 % efficiency"
    )


if __name__ == "__main__":
    raise SystemExit(main())
