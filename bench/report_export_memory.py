"""Peak memory of `verisight export hashes` over N synthetic assessed media (default 1,000,000).

Rows are inserted straight into a SQLite case with SQL (no images). The export runs in a
child process (the real CLI); its peak RSS is read with getrusage(RUSAGE_CHILDREN). The
anchor is the same command on the same case exporting nothing (an outcome no media has), so
the ratio shows what streaming N rows adds.

    .venv/bin/python bench/report_export_memory.py [N] [--format vics]
"""

from __future__ import annotations

import hashlib
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from verisight.case import Case

MEDIA_SQL = (
    "INSERT INTO media (sha256, md5, sha1, size, mime, kind, pdq, pdq_quality, has_thumbnail) "
    "VALUES (?,?,?,?,?,?,?,90,0)"
)
ASSESS_SQL = (
    "INSERT INTO assessment (media_sha256, outcome, category, origin, age_band, sex, "
    "analyst_id, version, status, created_at, updated_at) "
    "VALUES (?,?,?,'unknown','unknown','unidentified',1,1,'final',?,?)"
)


def populate(case_dir: Path, n: int) -> None:
    Case(case_dir, create=True).close()  # migrate
    db = sqlite3.connect(case_dir / "verisight.db")
    now = datetime.now(UTC).isoformat(sep=" ")
    db.execute("INSERT INTO app_user (name, password_hash, role, active, created_at) "
               "VALUES ('bench', 'x', 'analyst', 1, ?)", (now,))  # fmt: skip
    outcomes = ("not-illegal", "indecent-photograph", "pseudo-photograph", "prohibited-image")
    batch = 50_000
    for start in range(0, n, batch):
        media, assess = [], []
        for i in range(start, min(n, start + batch)):
            b = i.to_bytes(8, "big")
            sha = hashlib.sha256(b).hexdigest()
            media.append((sha, hashlib.md5(b).hexdigest(), hashlib.sha1(b).hexdigest(),
                          1000 + i, "image/jpeg", "image", sha))  # fmt: skip
            o = outcomes[i % 4]
            assess.append((sha, o, None if o == "not-illegal" else "ABC"[i % 3], now, now))
        db.executemany(MEDIA_SQL, media)
        db.executemany(ASSESS_SQL, assess)
        db.commit()
    db.close()


def run(case_dir: Path, out: Path, fmt: str, extra: list[str]) -> tuple[float, float]:
    verisight = str(Path(sys.executable).with_name("verisight"))
    code = (
        "import resource, subprocess, sys, time; t=time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stderr=subprocess.DEVNULL); "
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, verisight, "export", "hashes", "--case", str(case_dir),
         "--format", fmt, "-o", str(out), *extra],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "VERISIGHT_DATABASE_URL": ""},
    )  # fmt: skip
    seconds, kib = res.stdout.split()
    return float(seconds), int(kib) / 1024


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    fmt = sys.argv[sys.argv.index("--format") + 1] if "--format" in sys.argv else "vics"
    with tempfile.TemporaryDirectory() as tmp:
        case_dir = Path(tmp) / "case"
        t = time.perf_counter()
        populate(case_dir, n)
        print(f"inserted {n:,} media + assessments in {time.perf_counter() - t:.1f} s")
        out = Path(tmp) / f"export.{fmt}"
        s0, rss0 = run(case_dir, out, fmt, ["--category", "A", "--outcome", "not-illegal"])
        s1, rss1 = run(case_dir, out, fmt, [])
        lines = sum(1 for _ in out.open(encoding="utf-8"))
        print(f"| export {fmt} | rows | seconds | peak RSS MiB |")
        print("|---|---:|---:|---:|")
        print(f"| anchor (nothing exported) | 0 | {s0:.1f} | {rss0:.0f} |")
        print(f"| all assessed media | {lines:,} lines | {s1:.1f} | {rss1:.0f} |")
        print(f"ratio of peak RSS: {rss1 / rss0:.2f}; file {out.stat().st_size / 2**20:.0f} MiB")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this process's own peak: {own:.0f} MiB)")


if __name__ == "__main__":
    main()
