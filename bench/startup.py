"""CLI start-up: how long a command takes before it does anything, against Meta's
``threatexchange`` command in the same run.

    .venv/bin/python bench/startup.py [--runs 15] [--json]

Times, as whole processes, the median wall-clock of ``verisight --version``, ``verisight media
list`` on the small demo case (built once in a temporary folder), ``verisight bank list`` and
``threatexchange --help``, alternating them so that each sees the same machine load. Goals
(issue 17): ``--version`` ≤ 0.3 s, ``media list`` ≤ 0.6 s on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = str(Path(tmp) / "case")
        subprocess.run(
            [str(BIN / "verisight"), "demo", "--case", case, "--collection", str(Path(tmp) / "c")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        commands = {
            "verisight --version": [str(BIN / "verisight"), "--version"],
            "verisight media list": [str(BIN / "verisight"), "media", "list", "--case", case],
            "verisight bank list": [str(BIN / "verisight"), "bank", "list", "--case", case],
            "threatexchange --help": [str(BIN / "threatexchange"), "--help"],
        }
        for cmd in commands.values():  # warm the file cache and the numba cache
            timed(cmd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd))
    medians = {name: statistics.median(t) for name, t in times.items()}
    anchor = medians["threatexchange --help"]
    for name, m in medians.items():
        print(f"{name:24} {m:6.3f} s   ({m / anchor:4.2f}× threatexchange --help)")
    if args.json:
        print(json.dumps({name: round(m, 3) for name, m in medians.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
