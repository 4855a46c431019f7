"""The store behaves identically on SQLite and PostgreSQL (run against both, for real)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from verisight.analysis.record import Camera, ItemRecord
from verisight.errors import ItemError, MediaNotFound, Reason, UsageError
from verisight.sources.base import Provenance
from verisight.store import NewSighting, Status, Store
from verisight.store.schema import Base


def record(n: int, **kw: object) -> ItemRecord:
    base = dict(
        sha256=f"{n:02x}" * 32,
        md5=f"{n:032x}",
        sha1=f"{n:040x}",
        size=100 + n,
        mime="image/jpeg",
        kind="image",
        format="JPEG",
        width=10,
        height=20,
        pdq="ab" * 32,
        pdq_quality=90,
    )
    base.update(kw)
    return ItemRecord(**base)  # type: ignore[arg-type]


def sighting(path: str, sha: str | None, **kw: object) -> NewSighting:
    return NewSighting(
        provenance=Provenance((path,)),
        media_sha256=sha,
        status=kw.pop("status", Status.ANALYSED),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_migrations_match_models(database_url: str) -> None:
    store = Store.open(database_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    Store.open(database_url).close()  # re-opening an up-to-date case is a no-op
    store.close()


def test_write_is_idempotent_and_roundtrips(database_url: str) -> None:
    store = Store.open(database_url)
    scan = store.begin_scan(["/x"])
    cam = Camera("Canon", "EOS", "2011-07-30T15:41:25")
    rec = record(1, camera=cam, exif_orientation=6)
    bad = record(2, error=ItemError(Reason.CORRUPT_IMAGE, "broken data"), pdq=None)
    when = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
    s1 = NewSighting(
        Provenance(("/x/june.warc.gz", "https://h/a.jpg"), "https://h/a.jpg", when, "<urn:1>"),
        rec.sha256,
        Status.ANALYSED,
        depth=1,
    )
    s2 = sighting("/x/b.jpg", rec.sha256)
    s3 = sighting("/x/c.jpg", bad.sha256, status=Status.FAILED, reason="corrupt-image")
    s4 = sighting("/x/d.jpg", None, status=Status.FAILED, reason="unreadable", detail="EACCES")
    for _ in range(2):
        store.write(scan.id, [(rec, True), (bad, False)], [s1, s2, s3, s4])
    assert store.count_media() == 2
    assert len(list(store.iter_sightings())) == 4
    m = store.get_media(rec.sha256[:10])
    assert m.camera == cam and m.exif_orientation == 6 and m.has_thumbnail
    assert sorted(s.path for s in m.sightings) == [
        "/x/b.jpg",
        "/x/june.warc.gz › https://h/a.jpg",
    ]
    warc = next(s for s in m.sightings if s.url)
    assert warc.captured_at == when and warc.captured_at.tzinfo is not None
    assert store.get_media(bad.sha256).error == "corrupt-image: broken data"
    failed = list(store.iter_sightings(Status.FAILED))
    assert {s.reason for s in failed} == {"corrupt-image", "unreadable"}
    store.close()


def test_lookup_errors(database_url: str) -> None:
    store = Store.open(database_url)
    with pytest.raises(MediaNotFound):
        store.get_media("ab" * 32)
    with pytest.raises(UsageError):
        store.get_media("xyz")
    store.close()


def test_unfinished_scan_is_resumed_finished_is_not(database_url: str) -> None:
    store = Store.open(database_url)
    a = store.begin_scan(["/b", "/a"])
    again = store.begin_scan(["/a", "/b"])
    assert again.id == a.id and again.resumed
    store.finish_scan(a.id, {"seen": 0})
    fresh = store.begin_scan(["/a", "/b"])
    assert fresh.id != a.id and not fresh.resumed
    other = store.begin_scan(["/c"])
    assert other.id not in (a.id, fresh.id)
    store.close()


def test_known_sightings_are_limited_to_roots(database_url: str) -> None:
    store = Store.open(database_url)
    scan = store.begin_scan(["/data"])
    rec = record(3)
    store.write(
        scan.id,
        [(rec, False)],
        [
            sighting("/data/a_1.jpg", rec.sha256, size=5, mtime_ns=7),
            sighting("/database/x.jpg", rec.sha256),
            sighting("/dataXa_1.jpg", rec.sha256),
        ],
    )
    known = store.known_sightings(["/data/"])
    assert set(known) == {"/data/a_1.jpg"}
    k = known["/data/a_1.jpg"]
    assert (k.size, k.mtime_ns, k.status, k.kind) == (5, 7, Status.ANALYSED, "image")
    store.close()


def test_revisit_digest_lookup(database_url: str) -> None:
    store = Store.open(database_url)
    scan = store.begin_scan(["/r"])
    rec = record(4)
    store.write(scan.id, [(rec, False)], [])
    assert store.media_for_digest("sha1", rec.sha1.upper()) == rec.sha256
    assert store.media_for_digest("md5", "0" * 32) is None
    store.close()
