"""``bench/api_lookup.py`` needs HMA's virtual environment and ``wrk`` (benchmark-only
dependencies): without them it says so and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api_lookup.py"


def test_skips_with_a_reason_without_hma(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH), "--hma-venv", str(tmp_path / "absent")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SKIP: ")
    assert "wrk" in done.stdout or "absent" in done.stdout
