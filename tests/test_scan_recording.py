"""How the scan's coordinator records results fast without changing them: bulk ``COPY`` into
PostgreSQL gives the rows of row-by-row inserts; thumbnails that come back with results are
written off the coordinator's thread but always before a row names them; the set of media a
scan saw spills to disk past a limit and stays exact."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import fresh_schema, jpeg_bytes, write_images
from tests.helpers import descendants, dump_case, kill_and_survivors
from verisight.analysis import analyse_path
from verisight.case import Case
from verisight.limits import Limits
from verisight.scan_tasks import Result, thumbnail_path
from verisight.scanning import DistinctShas, ScanState, run_scan
from verisight.sources import Item, Provenance
from verisight.store import Store
from verisight.store import db as store_db
from verisight.store.db import sqlite_url


def _bulk_collection(root: Path) -> Path:
    """More items than one COPY threshold, with every kind of column value: archives,
    a name that is not UTF-8 (raw bytes kept), WARC capture times and URLs, failures."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    write_images(root / "loose", store_db.COPY_FROM_ROWS + 6)
    (root / "loose" / "dup.jpg").write_bytes((root / "loose" / "img-0000.jpg").read_bytes())
    with open(os.fsencode(root / "loose") + b"/caf\xe9.jpg", "wb") as f:
        f.write(jpeg_bytes(901))
    with zipfile.ZipFile(root / "seized.zip", "w") as zf:
        for i in range(5):
            zf.writestr(f"m/{i}.jpg", jpeg_bytes(910 + i))
    with (root / "june.warc.gz").open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i in range(3):
            http = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")], "HTTP/1.1")
            w.write_record(
                w.create_warc_record(
                    f"https://forum.example/{i}.jpg",
                    "response",
                    payload=io.BytesIO(jpeg_bytes(920 + i)),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": f"2026-06-0{i + 1}T10:00:00Z"},
                )
            )
    (root / "broken.jpg").write_bytes(jpeg_bytes(930)[:400])
    return root


@pytest.fixture
def other_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A second fresh schema (``postgres_url`` gives one per test)."""
    with fresh_schema(postgres_admin_url) as url:
        yield url


def _side_rows(url: str) -> tuple[list[bytes], list[tuple[str, bytes, bytes]]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.execute(
            sa.text("SELECT locator_raw FROM sighting WHERE locator_raw IS NOT NULL ORDER BY 1")
        ).all()
        luma = conn.execute(sa.text("SELECT sha256, key, grid FROM media_luma ORDER BY 1"))
        out = [bytes(r[0]) for r in raw], [(a, bytes(b), bytes(c)) for a, b, c in luma]
    engine.dispose()
    return out


@pytest.mark.postgres
def test_copy_into_postgresql_gives_the_rows_of_row_by_row_inserts(
    tmp_path: Path, postgres_url: str, other_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _bulk_collection(tmp_path / "src")
    copies: list[str] = []
    real = store_db._copy_ignoring_conflicts

    def spy(conn: Any, table: Any, *args: Any) -> None:
        copies.append(table.name)
        real(conn, table, *args)

    monkeypatch.setattr(store_db, "_copy_ignoring_conflicts", spy)
    with Case(tmp_path / "copy", postgres_url, create=True) as case:
        copied = case.scan([src], workers=1, batch_size=1000, cluster=False)
    assert {"media", "media_luma", "sighting"} <= set(copies)  # the bulk path was taken
    monkeypatch.setattr(store_db, "COPY_FROM_ROWS", 10**9)
    with Case(tmp_path / "rows", other_postgres_url, create=True) as case:
        inserted = case.scan([src], workers=1, batch_size=1000, cluster=False)
    with Case(tmp_path / "lite", create=True) as case:
        case.scan([src], workers=1, batch_size=1000, cluster=False)
    assert copied.to_json() | {"elapsed_seconds": 0, "case": ""} == inserted.to_json() | {
        "elapsed_seconds": 0,
        "case": "",
    }
    rows, by_row = dump_case(postgres_url), dump_case(other_postgres_url)
    assert rows["media"] == by_row["media"] == dump_case(sqlite_url(tmp_path / "lite"))["media"]
    assert rows["sighting"] == by_row["sighting"]
    assert any(r[5] is not None for r in rows["sighting"])  # captured_at went through COPY
    raw, luma = _side_rows(postgres_url)
    assert (raw, luma) == _side_rows(other_postgres_url)
    assert any(b"caf\xe9.jpg" in r for r in raw) and luma != []
    with Case(tmp_path / "copy", postgres_url) as case:  # idempotent on COPY too
        again = case.scan([src], workers=1, batch_size=1000, cluster=False)
    assert again.already_recorded == again.seen == copied.seen
    assert dump_case(postgres_url)["sighting"] == rows["sighting"]


class _Returning:
    """An executor whose results carry their thumbnails, as remote Dask workers' do."""

    def __init__(self, images: list[Path]) -> None:
        self.records = [analyse_path(p, Limits()) for p in images]

    def run(self, state: ScanState) -> None:
        for seq, rec in enumerate(self.records):
            item = Item(Provenance(chain=(f"/remote/{seq}.jpg",)), path=None, size=rec.size)
            assert rec.thumbnail is not None
            if state.settle(seq, item, has_content=True):
                state.accept(seq, item, Result(seq, rec, True, None))
            state.tick(None)


def test_returned_thumbnails_are_on_disk_before_their_rows(tmp_path: Path) -> None:
    images = write_images(tmp_path / "img", 12)
    case = tmp_path / "case"
    case.mkdir()
    store = Store.open(sqlite_url(case))
    s = run_scan(store, case, [tmp_path / "img"], executor=_Returning(images), batch_size=5)
    assert s.analysed == 12
    shas = [m.sha256 for m in store.iter_media()]
    assert len(shas) == 12 and all(store.get_media(h).has_thumbnail for h in shas)
    assert all(thumbnail_path(case / "thumbs", h).is_file() for h in shas)
    store.close()
    with Case(case) as c:
        assert c.check().problems == []


def test_a_thumbnail_write_that_fails_stops_the_scan_before_its_rows(tmp_path: Path) -> None:
    images = write_images(tmp_path / "img", 12)
    executor = _Returning(images)
    doomed = executor.records[7].sha256
    case = tmp_path / "case"
    # The thumbnail's folder is a file: the write fails in the writer process.
    (case / "thumbs").mkdir(parents=True)
    blocker = thumbnail_path(case / "thumbs", doomed).parent
    blocker.write_bytes(b"")
    store = Store.open(sqlite_url(case))
    with pytest.raises(OSError, match="Not a directory"):
        run_scan(store, case, [tmp_path / "img"], executor=executor, batch_size=5)
    recorded = [m.sha256 for m in store.iter_media()]
    assert doomed not in recorded and len(recorded) < 12
    assert all(thumbnail_path(case / "thumbs", h).is_file() for h in recorded)
    store.close()


def test_the_media_seen_spill_to_disk_and_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DistinctShas, "LIMIT", 10)
    monkeypatch.setattr(DistinctShas, "CHUNK", 4)
    shas = DistinctShas()
    digests = [f"{i % 37:064x}" for i in range(200)]  # 37 distinct, seen again and again
    for d in digests:
        shas.add(d)
    assert shas._db is not None  # it spilled
    assert len(shas) == 37 and bool(shas)
    assert list(shas) == sorted(set(digests))
    assert f"{5:064x}" in shas and f"{99:064x}" not in shas
    shas.close()
    assert len(shas) == 0 and not shas


def test_a_summary_counts_distinct_media_past_the_spill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DistinctShas, "LIMIT", 3)
    monkeypatch.setattr(DistinctShas, "CHUNK", 2)
    src = tmp_path / "src"
    write_images(src, 8)
    (src / "again.jpg").write_bytes((src / "img-0003.jpg").read_bytes())
    with Case(tmp_path / "case", create=True) as case:
        s = case.scan([src], workers=1, cluster=False)
    assert (s.seen, s.distinct_media, s.duplicate_sightings) == (9, 8, 1)
    assert len(list(s.media_shas)) == 8 and s.to_json()["distinct_media"] == 8


_ENDLESS_COORDINATOR = """
import dataclasses, secrets, sys, time
from pathlib import Path

from verisight.analysis import analyse_path
from verisight.limits import Limits
from verisight.scan_tasks import Result
from verisight.scanning import run_scan
from verisight.sources import Item, Provenance
from verisight.store import Store
from verisight.store.db import sqlite_url


class Endless:
    def __init__(self, images):
        self.records = [analyse_path(p, Limits()) for p in images]

    def run(self, state):
        seq = 0
        while True:
            rec = dataclasses.replace(self.records[seq % 3], sha256=secrets.token_hex(32))
            item = Item(Provenance(chain=(f"/remote/{seq}.jpg",)), path=None, size=rec.size)
            if state.settle(seq, item, has_content=True):
                state.accept(seq, item, Result(seq, rec, True, None))
            state.tick(None)
            seq += 1
            time.sleep(0.002)


if __name__ == "__main__":
    case = Path(sys.argv[1])
    images = sorted(Path(sys.argv[2]).glob("*.jpg"))
    store = Store.open(sqlite_url(case))
    run_scan(store, case, [Path(sys.argv[2])], executor=Endless(images), batch_size=20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_a_killed_coordinator_leaves_no_thumbnail_writer_behind(tmp_path: Path) -> None:
    """The process writing returned thumbnails dies with a coordinator killed by SIGKILL."""
    write_images(tmp_path / "img", 3)
    case = tmp_path / "case"
    case.mkdir()
    script = tmp_path / "coordinator.py"
    script.write_text(_ENDLESS_COORDINATOR)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(case), str(tmp_path / "img")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kids: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        kids |= descendants(proc.pid)
        if kids and any((case / "thumbs").rglob("*.jpg")):
            break
        time.sleep(0.05)
    kids |= descendants(proc.pid)
    assert proc.poll() is None and kids, "the writer must be running when the scan is killed"
    assert not kill_and_survivors(proc, kids)
