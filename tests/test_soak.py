"""A smoke of ``bench/soak.py``: two simulated analysts against ``verisight serve`` and
``wrk`` (when installed) against ``verisight api`` for a few seconds on a SQLite case: no
5xx, every decision made is in the database and audited, ``audit verify`` passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_soak_smoke() -> None:
    args = ["--minutes", "0.1", "--analysts", "2", "--images", "9", "--sqlite"]
    res = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "PASS" in res.stdout and "POST /item/{sha}/assess" in res.stdout
