"""``verisight scan --dask`` and ``verisight cluster --dask``: the same rows as a local run,
on SQLite and PostgreSQL; a worker killed mid-scan loses nothing; a poison item is recorded
as ``worker-crash`` while the rest completes; clear errors for an unreachable scheduler and
for workers of another version."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import Client, LocalCluster

from tests.conftest import jpeg_bytes, write_images
from tests.helpers import dump_case
from tests.test_item_timeout import MARKER as STALL
from tests.test_scan import _collection
from tests.test_scan_crashes import MARKER, failed_items, poison_collection
from verisight.analysis import analyse_bytes
from verisight.case import Case
from verisight.distributed import FAKE_VERSION_ENV, LOCAL_SCHEDULER_CONFIG, DaskUnavailable
from verisight.limits import Limits
from verisight.scan_tasks import CRASH_MARKER_ENV, HANG_MARKER_ENV
from verisight.scanning import ScanSummary


def _local_cluster(
    workers: int, env: dict[str, str], allowed_failures: int | None = None
) -> LocalCluster:
    """A cluster of ``workers`` processes (one thread each) with the settings ``local:N`` uses
    and ``env`` in the workers' environment (a test hook's marker); ``allowed_failures``
    overrides the scheduler's."""
    config = dict(LOCAL_SCHEDULER_CONFIG)
    if allowed_failures is not None:
        config["distributed.scheduler.allowed-failures"] = allowed_failures
    with dask.config.set(config):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env=env,
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two worker processes (one thread each), with the test-only crash hook armed; a task
    errs with KilledWorker after 2 tries (not 3: each worker restart takes seconds)."""
    lc = _local_cluster(2, {CRASH_MARKER_ENV: MARKER}, allowed_failures=1)
    yield lc
    lc.close()


def _scan(
    tmp: Path, name: str, src: Path, url: str | None = None, **kw: Any
) -> tuple[ScanSummary, str]:
    with Case(tmp / name, url, create=True) as case:
        s = case.scan([src], batch_size=3, cluster=False, **kw)  # the analysis rows alone
        return s, case.database_url


def _thumbs(case: Path) -> list[str]:
    return sorted(p.name for p in (case / "thumbs").rglob("*.jpg"))


def test_dask_scan_gives_the_rows_of_a_local_scan(
    tmp_path: Path, database_url: str, cluster: LocalCluster
) -> None:
    src = _collection(tmp_path / "src")
    local, _ = _scan(tmp_path, "local", src, workers=2)
    local_rows = dump_case(f"sqlite:///{tmp_path / 'local' / 'verisight.db'}")
    on_dask, url = _scan(tmp_path, "dask", src, database_url, dask=cluster.scheduler_address)
    assert on_dask.to_json() | {"elapsed_seconds": 0, "case": ""} == local.to_json() | {
        "elapsed_seconds": 0,
        "case": "",
    }
    rows = dump_case(url)
    assert rows["media"] == local_rows["media"]
    assert rows["sighting"] == local_rows["sighting"]
    assert _thumbs(tmp_path / "dask") == _thumbs(tmp_path / "local") != []
    # re-running adds nothing and resumes nothing
    again, _ = _scan(tmp_path, "dask", src, database_url, dask=cluster.scheduler_address)
    assert again.already_recorded == again.seen == local.seen
    assert dump_case(url)["sighting"] == rows["sighting"]


def test_a_worker_killed_mid_scan_loses_nothing(tmp_path: Path, cluster: LocalCluster) -> None:
    src = tmp_path / "src"
    from tests.conftest import jpeg_bytes, write_images

    write_images(src / "loose", 40)
    import zipfile

    with zipfile.ZipFile(src / "batch.zip", "w") as zf:
        for i in range(20):
            zf.writestr(f"m/{i:03d}.jpg", jpeg_bytes(700 + i))
    local, _ = _scan(tmp_path, "local", src, workers=2)
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_one(s: ScanSummary) -> None:
        if s.seen >= 10 and not killed:
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    on_dask, url = _scan(
        tmp_path, "dask", src, dask=cluster.scheduler_address, on_progress=kill_one
    )
    assert killed
    assert on_dask.reconciles and on_dask.seen == local.seen == 40 + 20 + 1
    assert on_dask.errors_by_reason == local.errors_by_reason == {}
    local_rows = dump_case(f"sqlite:///{tmp_path / 'local' / 'verisight.db'}")
    rows = dump_case(url)
    assert (rows["media"], rows["sighting"]) == (local_rows["media"], local_rows["sighting"])


def test_a_poison_item_is_recorded_as_worker_crash(tmp_path: Path) -> None:
    # its own cluster: worker restarts under load may fail (a nanny gives up when its new
    # worker dies while starting), which must not starve the other tests
    src = poison_collection(tmp_path / "src")
    lc = _local_cluster(2, {CRASH_MARKER_ENV: MARKER}, allowed_failures=1)
    with lc:
        s, url = _scan(tmp_path, "dask", src, dask=lc.scheduler_address)
    assert s.reconciles and s.seen == 8 + 1 + 3 + 1 + 1
    assert s.errors_by_reason == {"worker-crash": 2}
    assert failed_items(url, src) == {
        "a/poison.bin": "worker-crash",
        "b.zip › m/poison.bin": "worker-crash",
    }
    assert s.analysed == 8 + 3 + 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("x")
    case = tmp_path / "case"
    address = f"tcp://127.0.0.1:{_free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "verisight.cli", "scan", str(src), "--case", str(case),
         "--dask", address],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"cannot reach the Dask scheduler at {address}" in proc.stderr
    assert not case.exists()


def test_workers_of_another_version_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("x")
    lc = _local_cluster(1, {FAKE_VERSION_ENV: "0.0.1"})
    with lc, pytest.raises(DaskUnavailable) as exc:
        _scan(tmp_path, "case", src, dask=lc.scheduler_address)
    assert "runs Verisight 0.0.1, the coordinator" in str(exc.value)


def test_crop_pass_on_the_cluster_gives_the_clusters_of_a_local_run(
    tmp_path: Path, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tests.clustering.test_crops import CROPS, _crop, _jpeg, _write
    from verisight.cli import app
    from verisight.clustering import crops
    from verisight.demo import scene

    files = {}
    for i in range(4):
        im = scene(60 + i, (480, 360))
        files[f"o{i}.jpg"] = _jpeg(im)
        for j, cut in enumerate(CROPS[:3]):
            files[f"o{i}-crop{j}.jpg"] = _jpeg(_crop(im, cut))
            files[f"o{i}-mirror{j}.jpg"] = _jpeg(_crop(im, cut).transpose(0))
    _write(tmp_path / "src", files)
    # several tasks even for this small case
    monkeypatch.setattr(crops, "SCREEN_CHUNK", 5)
    monkeypatch.setattr(crops, "_PAIR_BATCH", 3)
    cli = CliRunner()
    out = {}
    for how in ("local", "dask"):
        case = str(tmp_path / how)
        scan = ["scan", str(tmp_path / "src"), "--case", case, "--workers", "1", "--no-cluster"]
        res = cli.invoke(app, scan)
        assert res.exit_code == 0, res.output
        extra = ["--dask", cluster.scheduler_address] if how == "dask" else []
        res = cli.invoke(app, ["cluster", "--case", case, "--json", *extra])
        assert res.exit_code == 0, res.output
        listed = cli.invoke(app, ["cluster", "list", "--case", case, "--json"])
        out[how] = (json.loads(res.stdout) | {"elapsed_seconds": 0}, listed.stdout)
    assert out["dask"] == out["local"]
    assert out["local"][0]["crop_matches"] >= 3  # the pass did place crops


def test_a_killed_coordinator_resumes(tmp_path: Path, cluster: LocalCluster) -> None:
    import json as _json
    import time
    import zipfile

    from tests.conftest import jpeg_bytes, write_images
    from tests.test_scan import _scan_cmd, _sightings

    src = tmp_path / "src"
    write_images(src / "loose", 120)
    for k in range(4):
        with zipfile.ZipFile(src / f"batch{k}.zip", "w") as zf:
            for i in range(10):
                zf.writestr(f"m/{i:03d}.jpg", jpeg_bytes(900 + 10 * k + i))
    total = 120 + 4 * 11
    args = ("--dask", cluster.scheduler_address, "--batch-size", "5")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_scan_cmd(src, killed, *args), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while _sightings(killed / "verisight.db") < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = _sightings(killed / "verisight.db")
    assert 0 < at_kill < total, "the scan must be killed part-way for this test to mean anything"
    resumed = subprocess.run(
        _scan_cmd(src, killed, *args, "--json"), capture_output=True, check=True, text=True
    )
    summary = _json.loads(resumed.stdout)
    assert summary["resumed"] is True and summary["seen"] == total
    assert summary["already_recorded"] >= at_kill
    _scan(tmp_path, "clean", src, workers=2)
    a = dump_case(f"sqlite:///{killed / 'verisight.db'}")
    b = dump_case(f"sqlite:///{tmp_path / 'clean' / 'verisight.db'}")
    assert (a["media"], a["sighting"]) == (b["media"], b["sighting"])
    assert _thumbs(killed) == _thumbs(tmp_path / "clean")


def _env(name: str) -> str | None:
    return os.environ.get(name)


def test_a_local_cluster_runs_with_the_recommended_settings() -> None:
    # `--dask local:N` itself (not a cluster the test builds): workers keep glibc's adaptive
    # allocator (Dask's default MALLOC_TRIM_THRESHOLD_ costs ~20 % CPU per image), the
    # scheduler sends one task per thread and gives up on a task after 3 tries
    from verisight.distributed import LOCAL_ALLOWED_FAILURES, DaskExecutor

    with DaskExecutor("local:1") as ex:
        envs = ex.client.run(_env, "MALLOC_TRIM_THRESHOLD_")
        assert list(envs.values()) == [None]
        assert list(ex.client.run(_env, "OMP_NUM_THREADS").values()) == ["1"]
        sched = ex.cluster.scheduler
        assert sched.WORKER_SATURATION == 1.0
        assert sched.allowed_failures == LOCAL_ALLOWED_FAILURES


def _warm() -> None:
    """Load the compiled kernels on a worker before any timed item."""
    analyse_bytes(jpeg_bytes(1), Limits(), None)


def test_an_item_past_its_time_on_a_worker_is_decode_timeout(tmp_path: Path) -> None:
    """A Dask task runs on a worker thread, where no timer can interrupt it: the coordinator
    asks the workers what they are on, has one stuck past the item's hard deadline stopped
    (its nanny starts a fresh one), and records that item ``decode-timeout``; the files batched
    with it, the other members of its zip and the rest of the scan complete, as locally."""
    src = tmp_path / "src"
    write_images(src / "a", 6)
    for mode in ("python", "native"):  # a hang in Python code, and one with signals blocked
        (src / "a" / f"{mode}.bin").write_bytes(f"stalls {STALL}:{mode}".encode())
    with zipfile.ZipFile(src / "b.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(2):
            zf.writestr(f"m/{i}.jpg", jpeg_bytes(700 + i))
        zf.writestr("m/native.bin", f"stalls {STALL}:native".encode())
    lc = _local_cluster(2, {HANG_MARKER_ENV: STALL})
    with lc, Client(lc) as client:
        client.run(_warm)
        limits = Limits(max_item_seconds=3.0)  # a worker is stopped after 6 s (hard_deadline)
        s, url = _scan(tmp_path, "dask", src, dask=lc.scheduler_address, limits=limits)
    assert s.reconciles and s.seen == 6 + 2 + 1 + 3
    assert failed_items(url, src) == {
        "a/python.bin": "decode-timeout",
        "a/native.bin": "decode-timeout",
        "b.zip › m/native.bin": "decode-timeout",
    }
    assert s.errors_by_reason == {"decode-timeout": 3}
    assert s.analysed == 6 + 1 + 2
