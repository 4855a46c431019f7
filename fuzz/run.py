"""Run one fuzz target (or all) under atheris, coverage-guided.

    .venv/bin/python fuzz/run.py TARGET [--seconds 60] [--jobs 1]
    .venv/bin/python fuzz/run.py --all --seconds 60      # what `make fuzz` runs
    .venv/bin/python fuzz/run.py --list

Each target (``fuzz/targets.py``) starts from its generated seeds, written to
``fuzz/out/<target>/corpus`` (gitignored) where the fuzzer keeps what it finds interesting, so
a later run continues from there. A finding (an exception, a hang over ``--timeout``
seconds, more than ``--rss-mb`` of memory) is written to ``fuzz/out/<target>/`` as the input
that caused it; turn it into a regression test with the input generated in the test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "out"


def fuzz_one(
    name: str, seconds: int, timeout: int, rss_mb: int, runs: int | None, out: Path = OUT
) -> None:
    import atheris

    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports(include=["verisight"]):
        from fuzz.targets import TARGETS

    if name not in TARGETS:
        sys.exit(f"unknown target {name!r}; --list shows them")
    target = TARGETS[name]
    corpus = out / name / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(target.seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    args = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_mb}",
        f"-artifact_prefix={out / name}/",
        "-max_len=262144",
        "-print_final_stats=1",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    atheris.Setup(args, target.run)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", nargs="?", help="a target name (see --list)")
    parser.add_argument("--all", action="store_true", help="run every target in turn")
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--seconds", type=int, default=60, help="time per target (60)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit (2048 MiB)")
    parser.add_argument("--runs", type=int, default=None, help="stop after this many inputs")
    parser.add_argument("--out", type=Path, default=OUT, help="corpus and findings (fuzz/out)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.target and not (args.list or args.all):
        # Nothing of Verisight may be imported before atheris instruments it.
        fuzz_one(args.target, args.seconds, args.timeout, args.rss_mb, args.runs, args.out)
        return 0
    from fuzz.targets import TARGETS

    if args.list:
        print("\n".join(TARGETS))
        return 0
    if args.all:
        failed = []
        for name in TARGETS:
            started = time.monotonic()
            cmd = [sys.executable, __file__, name, "--seconds", str(args.seconds),
                   "--timeout", str(args.timeout), "--rss-mb", str(args.rss_mb),
                   "--out", str(args.out)]  # fmt: skip
            code = subprocess.call(cmd, cwd=ROOT)
            took = time.monotonic() - started
            print(f"== {name}: exit {code} after {took:.0f} s", flush=True)
            if code:
                failed.append(name)
        print(f"targets with findings: {', '.join(failed) or 'none'}")
        return 1 if failed else 0
    parser.error("name a target, or --all, or --list")
    return 2


if __name__ == "__main__":
    sys.exit(main())
