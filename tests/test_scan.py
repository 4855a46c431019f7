"""`verisight scan` end to end: counts reconcile, nothing is lost, re-runs add nothing, a killed
scan resumes to exactly the content of an uninterrupted one, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import jpeg_bytes, png_bytes, write_images
from tests.helpers import dump_case
from verisight.case import Case
from verisight.demo import build_demo_collection
from verisight.store import Status


def _collection(root: Path) -> Path:
    """A small mixed collection: images, a duplicate, an archive with a nested archive,
    corrupt and empty files."""
    write_images(root / "a", 6)
    (root / "a" / "dup.jpg").write_bytes((root / "a" / "img-0000.jpg").read_bytes())
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        data = jpeg_bytes(100)
        info = tarfile.TarInfo("photos/a.jpg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(root / "seized.zip", "w") as zf:
        zf.writestr("inner.tar.gz", inner.getvalue())
        zf.writestr("b.png", png_bytes(101))
    (root / "broken.jpg").write_bytes(jpeg_bytes(102)[:500])
    (root / "empty.bin").write_bytes(b"")
    return root


def test_scan_counts_reconcile_and_record_provenance(tmp_path: Path, database_url: str) -> None:
    src = _collection(tmp_path / "src")
    with Case(tmp_path / "case", database_url, create=True) as case:
        s = case.scan([src], workers=1)
        assert s.reconciles
        # 6 images + dup + zip + tar.gz + a.jpg + b.png + broken + empty = 13 items
        assert s.seen == 13
        assert (s.analysed, s.failed, s.skipped) == (11, 2, 0)
        assert s.errors_by_reason == {"truncated": 1, "empty-file": 1}
        assert s.distinct_media == 12 and s.duplicate_sightings == 1
        paths = {sg.path for m in case.media() for sg in m.sightings}
        zip_path = str(src / "seized.zip")
        assert f"{zip_path} › inner.tar.gz › photos/a.jpg" in paths
        assert f"{zip_path} › b.png" in paths
        dup = next(m for m in case.media() if len(m.sightings) == 2)
        assert {Path(sg.path).name for sg in dup.sightings} == {"img-0000.jpg", "dup.jpg"}
        assert all(m.pdq for m in case.media() if m.kind == "image" and not m.error)
        assert len(list(case.sightings())) == 13


def test_rescan_adds_nothing(tmp_path: Path, database_url: str) -> None:
    src = _collection(tmp_path / "src")
    with Case(tmp_path / "case", database_url, create=True) as case:
        first = case.scan([src], workers=1)
        before = dump_case(case.database_url)
        second = case.scan([src], workers=1)
        after = dump_case(case.database_url)
    assert before["media"] == after["media"] and before["sighting"] == after["sighting"]
    assert second.already_recorded == second.seen == first.seen
    assert (second.analysed, second.failed, second.skipped) == (
        first.analysed,
        first.failed,
        first.skipped,
    )


def test_changed_file_is_a_new_sighting(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    f = src / "x.jpg"
    f.write_bytes(jpeg_bytes(1))
    with Case(tmp_path / "case", create=True) as case:
        case.scan([src], workers=1)
        f.write_bytes(jpeg_bytes(2))
        os.utime(f, ns=(1, 2))
        s = case.scan([src], workers=1)
        assert s.already_recorded == 0
        assert len(list(case.media())) == 2


def test_pool_and_in_process_give_identical_content(tmp_path: Path) -> None:
    src = _collection(tmp_path / "src")
    urls = []
    for workers in (1, 2):
        with Case(tmp_path / f"case{workers}", create=True) as case:
            case.scan([src], workers=workers, batch_size=3)
            urls.append(case.database_url)
    assert dump_case(urls[0]) == dump_case(urls[1])


def test_warc_revisit_becomes_sighting_of_earlier_media(tmp_path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    payload = jpeg_bytes(7)
    path = tmp_path / "src" / "june.warc.gz"
    path.parent.mkdir()
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")], protocol="HTTP/1.1")
        rec = w.create_warc_record(
            "https://forum.example/a.jpg",
            "response",
            payload=io.BytesIO(payload),
            http_headers=http,
            warc_headers_dict={"WARC-Date": "2026-06-01T10:00:00Z"},
        )
        w.write_record(rec)
        digest = rec.rec_headers.get_header("WARC-Payload-Digest")
        revisit = w.create_revisit_record(
            "https://mirror.example/a.jpg",
            digest,
            "https://forum.example/a.jpg",
            "2026-06-01T10:00:00Z",
        )
        revisit.rec_headers.replace_header("WARC-Date", "2026-06-20T08:00:00Z")
        w.write_record(revisit)
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([path.parent], workers=1)
        assert s.reconciles and s.failed == 0
        (m,) = [m for m in case.media() if m.kind == "image"]
        urls = {(sg.url, sg.captured_at) for sg in m.sightings}
        assert urls == {
            ("https://forum.example/a.jpg", datetime(2026, 6, 1, 10, tzinfo=UTC)),
            ("https://mirror.example/a.jpg", datetime(2026, 6, 20, 8, tzinfo=UTC)),
        }


def test_demo_collection_scans_cleanly(tmp_path: Path) -> None:
    build_demo_collection(tmp_path / "demo")
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([tmp_path / "demo"], workers=2)
        assert s.reconciles
        assert s.errors_by_reason == {
            "truncated": 1,
            "corrupt-image": 1,
            "empty-file": 1,
            "warc-not-media": 1,
        }
        assert s.duplicate_sightings >= 1
        cams = [m.camera for m in case.media() if m.camera]
        assert cams and cams[0].make == "DemoCam"
        failed = {Path(sg.path).name for sg in case.sightings(Status.FAILED)}
        assert failed == {"truncated.jpg", "garbage.png", "empty.jpg"}


def _scan_cmd(src: Path, case: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "verisight.cli", "scan", str(src), "--case", str(case), *extra]


def _sightings(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM sighting").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_scan_resumes_to_identical_content(tmp_path: Path, workers: str) -> None:
    src = tmp_path / "src"
    write_images(src / "loose", 150)
    with zipfile.ZipFile(src / "batch.zip", "w") as zf:
        for i in range(150):
            zf.writestr(f"m/{i:03d}.jpg", jpeg_bytes(1000 + i))
    total = 150 + 150 + 1
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ("--workers", workers, "--batch-size", "5")
    killed_case = tmp_path / "killed"
    proc = subprocess.Popen(_scan_cmd(src, killed_case, *args), env=env)
    deadline = time.monotonic() + 60
    while _sightings(killed_case / "verisight.db") < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = _sightings(killed_case / "verisight.db")
    assert 0 < at_kill < total, "the scan must be killed part-way for this test to mean anything"
    resumed = subprocess.run(
        _scan_cmd(src, killed_case, *args, "--json"), env=env, capture_output=True, check=True
    )
    summary = json.loads(resumed.stdout)
    assert summary["resumed"] is True and summary["seen"] == total
    assert summary["seen"] == summary["analysed"] + summary["failed"] + summary["skipped"]
    clean_case = tmp_path / "clean"
    subprocess.run(_scan_cmd(src, clean_case, *args), env=env, capture_output=True, check=True)
    a = dump_case(f"sqlite:///{killed_case / 'verisight.db'}")
    b = dump_case(f"sqlite:///{clean_case / 'verisight.db'}")
    assert a == b
    assert len(a["sighting"]) == total
    thumbs = lambda c: sorted(p.name for p in (c / "thumbs").rglob("*.jpg"))  # noqa: E731
    assert thumbs(killed_case) == thumbs(clean_case)
    assert not list((killed_case / "thumbs").rglob("*.tmp"))


def test_a_rescan_past_the_in_memory_limit_reads_known_places_from_disk(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known places past ``KnownPlaces.LIMIT`` move to a temporary file (bounded memory on
    resume at millions of items): the re-scan skips exactly the same items."""
    from verisight.store.known import KnownPlaces

    monkeypatch.setattr(KnownPlaces, "LIMIT", 4)
    monkeypatch.setattr(KnownPlaces, "CHUNK", 3)
    src = _collection(tmp_path / "src")
    with Case(tmp_path / "case", database_url, create=True) as case:
        first = case.scan([src], workers=1)
        before = dump_case(case.database_url)
        known = case.store.known_sightings([str(src)])
        assert known.spilled and len(known) == first.seen > 4
        for locator in known:
            assert known[locator].status in (Status.ANALYSED, Status.FAILED, Status.SKIPPED)
        assert "/nowhere" not in known and known.get("/nowhere") is None
        known.close()
        again = case.scan([src], workers=1)
        assert again.already_recorded == first.seen and again.reconciles
        after = dump_case(case.database_url)
    assert before["media"] == after["media"] and before["sighting"] == after["sighting"]
