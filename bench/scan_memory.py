"""Peak memory of ``verisight scan`` on dense archives that stay inside the limits.

Generates (in a temporary folder) a zip whose members each inflate about 200:1 (below the
default 250 ratio limit) and a zip › tar › member of the same size, scans each with
``python -m verisight scan --workers N`` in a subprocess and prints the peak RSS of its
largest process (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: the scan or one worker),
next to the anchor: the same scan of a 1 MiB zip, and the member size. A member should cost
its size about once (issue 18, finding 8; 2–4 times before).

Run: ``.venv/bin/python bench/scan_memory.py --member-mib 1000 --members 2 --workers 2``.
Another build can be measured by putting its source first on ``PYTHONPATH`` (and running
from outside this checkout, which ``python -m`` would otherwise import first).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MIB = 1 << 20
_NOISE = 0.0036  # share of random bytes in zeros: deflate ratio about 200


class _Dense(io.RawIOBase):
    """``size`` bytes of mostly zeros with a little noise, generated as they are read."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__()
        self.left = size
        self.rng = np.random.default_rng(seed)

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1, /) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        block = bytearray(n)
        k = int(n * _NOISE)
        block[:k] = self.rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        self.left -= n
        return bytes(block)


def dense_zip(path: Path, members: int, size: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for m in range(members):
            with archive.open(f"blob{m}.bin", "w", force_zip64=True) as out:
                src = _Dense(size, m)
                while chunk := src.read(MIB):
                    out.write(chunk)


def zip_tar(path: Path, size: int) -> None:
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("inner.tar", "w", force_zip64=True) as out,
        tarfile.open(fileobj=out, mode="w|") as tar,
    ):
        info = tarfile.TarInfo("blob.bin")
        info.size = size
        tar.addfile(info, _Dense(size, 0))


def peak_mib(target: Path, workers: int) -> float:
    code = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    with tempfile.TemporaryDirectory() as case:
        cmd = [sys.executable, "-m", "verisight", "scan", str(target), "--case", case]
        done = subprocess.run(
            [sys.executable, "-c", code, *cmd, "--workers", str(workers)],
            check=True,
            capture_output=True,
            text=True,
        )
    return int(done.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--member-mib", type=int, default=256)
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    size = args.member_mib * MIB
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dense_zip(folder / "anchor.zip", 1, MIB)
        dense_zip(folder / "dense.zip", args.members, size)
        zip_tar(folder / "nested.zip", size)
        anchor = peak_mib(folder / "anchor.zip", args.workers)
        print(f"{'input':<36} {'file MB':>8} {'peak MiB':>9} {'over anchor / member':>21}")
        print(f"{'anchor: 1 MiB member':<36} {'':>8} {anchor:>9.0f}")
        rows = [
            (f"zip, {args.members} x {args.member_mib} MiB members", folder / "dense.zip"),
            (f"zip > tar > {args.member_mib} MiB member", folder / "nested.zip"),
        ]
        for label, path in rows:
            peak = peak_mib(path, args.workers)
            mb = path.stat().st_size / 1e6
            print(f"{label:<36} {mb:>8.1f} {peak:>9.0f} {(peak - anchor) * MIB / size:>21.2f}")


if __name__ == "__main__":
    main()
