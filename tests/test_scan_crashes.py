"""Worker processes that die: only the culprit item fails (``worker-crash``), everything
else is recorded; and a scan killed with SIGKILL leaves no process behind."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import jpeg_bytes, write_images
from tests.helpers import descendants, dump_case, kill_and_survivors
from verisight.case import Case
from verisight.scan_tasks import CRASH_MARKER_ENV

MARKER = "VERISIGHT-POISON-7f3a"


def poison_collection(root: Path) -> Path:
    """Images, one loose poison file and one poison member in a zip (the crash hook kills
    the worker that analyses content containing :data:`MARKER`)."""
    write_images(root / "a", 8)
    (root / "a" / "poison.bin").write_bytes(b"junk " + MARKER.encode())
    with zipfile.ZipFile(root / "b.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"m/{i}.jpg", jpeg_bytes(500 + i))
        zf.writestr("m/poison.bin", b"more junk " + MARKER.encode())
    return root


def failed_items(url: str, src: Path) -> dict[str, str]:
    """Failed sightings: path below ``src`` → reason."""
    return {
        row[2].removeprefix(f"{src}/"): row[8]
        for row in dump_case(url)["sighting"]
        if row[7] == "failed"
    }


def test_local_pool_marks_only_the_culprit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = poison_collection(tmp_path / "src")
    monkeypatch.setenv(CRASH_MARKER_ENV, MARKER)
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([src], workers=2, batch_size=4)
        url = case.database_url
    assert s.reconciles and s.seen == 8 + 1 + 3 + 1 + 1
    assert s.errors_by_reason == {"worker-crash": 2}
    assert failed_items(url, src) == {
        "a/poison.bin": "worker-crash",
        "b.zip › m/poison.bin": "worker-crash",
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("how", [["--workers", "2"], ["--dask", "local:2"]])
def test_sigkilled_scan_leaves_no_process_behind(tmp_path: Path, how: list[str]) -> None:
    src = tmp_path / "src"
    write_images(src, 400)
    cmd = [sys.executable, "-m", "verisight.cli", "scan", str(src), "--case", str(tmp_path / "c")]
    proc = subprocess.Popen([*cmd, *how], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        kids |= descendants(proc.pid)
        if (
            len(kids) >= 2
            and (tmp_path / "c" / "thumbs").is_dir()
            and any((tmp_path / "c" / "thumbs").rglob("*.jpg"))
        ):
            break
        time.sleep(0.05)
    kids |= descendants(proc.pid)
    assert proc.poll() is None and len(kids) >= 2, "the scan must be killed mid-way"
    assert not kill_and_survivors(proc, kids)
