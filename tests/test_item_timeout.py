"""The per-item time limit (issue 18): an item stuck in Python code is interrupted in its
worker, one stuck in native code (signals blocked) has its worker killed and replaced; either
is recorded ``decode-timeout`` and the rest of the scan goes on, counts reconciling. The hang
is the test-only hook :data:`verisight.scan_tasks.HANG_MARKER_ENV`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import jpeg_bytes, write_images
from tests.test_scan_crashes import failed_items
from verisight.case import Case
from verisight.limits import Limits
from verisight.scan_tasks import HANG_MARKER_ENV

MARKER = "VERISIGHT-STALL-51c2"
#: Long enough for a cold worker (numba loading its compiled kernels on a loaded machine).
LIMITS = Limits(max_item_seconds=5.0)


@pytest.fixture(autouse=True, scope="module")
def _warm_kernels() -> None:
    """Compile (or load) the cached numba kernels once before any timed item: on a fresh
    installation that takes seconds, which the items' time limit must not count."""
    from verisight.analysis import analyse_bytes

    analyse_bytes(jpeg_bytes(1), Limits(), None)


def stalling_collection(root: Path, *modes: str) -> Path:
    """Images, a loose file and a zip member per hang ``mode`` (python, native)."""
    write_images(root / "a", 6)
    with zipfile.ZipFile(root / "b.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(2):
            zf.writestr(f"m/{i}.jpg", jpeg_bytes(700 + i))
        for mode in modes:
            zf.writestr(f"m/{mode}.bin", f"stalls {MARKER}:{mode}".encode())
    for mode in modes:
        (root / "a" / f"{mode}.bin").write_bytes(f"stalls {MARKER}:{mode}".encode())
    return root


@pytest.mark.parametrize("modes", [("python",), ("python", "native")])
def test_local_pool_times_out_only_the_stalled_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modes: tuple[str, ...]
) -> None:
    src = stalling_collection(tmp_path / "src", *modes)
    monkeypatch.setenv(HANG_MARKER_ENV, MARKER)
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([src], workers=2, batch_size=4, limits=LIMITS, cluster=False)
        url = case.database_url
    assert s.reconciles and s.seen == 6 + len(modes) + 1 + 2 + len(modes)
    assert s.errors_by_reason == {"decode-timeout": 2 * len(modes)}
    expected = {f"a/{m}.bin": "decode-timeout" for m in modes}
    expected |= {f"b.zip › m/{m}.bin": "decode-timeout" for m in modes}
    assert failed_items(url, src) == expected
    assert s.analysed == 6 + 1 + 2  # the images, the zip, its images


def test_in_process_scan_interrupts_a_python_level_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one worker the analysis runs in the scan's own process: a Python-level hang is
    interrupted by the timer (a native one cannot be, there is no worker to kill)."""
    src = stalling_collection(tmp_path / "src", "python")
    monkeypatch.setenv(HANG_MARKER_ENV, MARKER)
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([src], workers=1, limits=LIMITS, cluster=False)
        url = case.database_url
    assert s.reconciles and s.errors_by_reason == {"decode-timeout": 2}
    assert set(failed_items(url, src).values()) == {"decode-timeout"}


def test_item_timeout_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from verisight.cli import app

    src = stalling_collection(tmp_path / "src", "python")
    monkeypatch.setenv(HANG_MARKER_ENV, MARKER)
    args = ["scan", str(src), "--case", str(tmp_path / "case"), "--workers", "2"]
    res = CliRunner().invoke(app, [*args, "--item-timeout", "5", "--no-cluster", "--json"])
    assert res.exit_code == 0, res.output
    assert '"decode-timeout": 2' in res.output


def test_an_interrupted_pool_worker_retires_before_its_next_item(tmp_path: Path) -> None:
    """A timer can interrupt Python code anywhere (an import or a numba compile half done), so
    a pool worker hands back ``decode-timeout`` and then exits rather than analyse again."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os
        from verisight import scan_tasks
        from verisight.limits import Limits
        os.environ[scan_tasks.HANG_MARKER_ENV] = {MARKER!r}
        scan_tasks._busy = ([0.0, -1.0, 0.0], 0)  # as init_pool_worker leaves a pool worker
        limits = Limits(max_item_seconds=1.0)
        stall = scan_tasks.Task(0, None, b"stalls {MARKER}:python", limits, None)
        print(scan_tasks.analyse_task(stall).error.reason, flush=True)
        scan_tasks.analyse_task(scan_tasks.Task(1, None, b"plain bytes", limits, None))
        print("analysed again", flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["decode-timeout"], (done.stdout, done.stderr)
    from verisight.scan_tasks import RETIRED_EXIT

    assert done.returncode == RETIRED_EXIT
