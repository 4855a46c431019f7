"""WARC captures: payloads with URL/date/record provenance, revisits, damage."""

from __future__ import annotations

import bz2
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from tests.sources.builders import (
    by_chain,
    http_request,
    http_response,
    jpeg,
    make_zip,
    png_noise,
    reason,
    scan,
)
from verisight.errors import Reason
from verisight.limits import Limits
from verisight.sources import Item

IMG = "https://host/t/123/img.jpg"
PAGE = "https://host/t/123"


def build_warc(*, gzip_records: bool) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip_records)
    http_request(writer, IMG)
    http_response(writer, IMG, jpeg("red"), "image/jpeg; charset=binary")
    http_response(writer, PAGE, b"<html><body>hello</body></html>", "text/html; charset=utf-8")
    http_response(
        writer,
        "https://host/raw.bin",
        png_noise(1),
        "application/octet-stream",
        date="2024-06-01T13:00:00.5+02:00",
    )
    http_response(writer, "https://host/odd", b"not really a gif", "image/gif")
    http_response(
        writer, "https://host/pack.zip", make_zip({"in.jpg": jpeg("blue")}), "application/zip"
    )
    http_response(
        writer,
        "https://host/cut.jpg",
        jpeg("green"),
        "image/jpeg",
        extra={"WARC-Truncated": "length"},
    )
    revisit = writer.create_revisit_record(
        "https://host/again.jpg",
        digest="sha1:AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH",
        refers_to_uri=IMG,
        refers_to_date="2024-06-01T12:30:00Z",
        warc_headers_dict={"WARC-Date": "2024-06-02T08:00:00Z"},
    )
    writer.write_record(revisit)
    resource = writer.create_warc_record(
        "file:///shot.png",
        "resource",
        payload=io.BytesIO(png_noise(2)),
        warc_content_type="image/png",
    )
    writer.write_record(resource)
    return out.getvalue()


def chains(items: list[Item]) -> dict[tuple[str, ...], Item]:
    return by_chain(items)


@pytest.mark.parametrize("gzip_records", [True, False], ids=["warc.gz", "warc"])
def test_warc_payloads_and_provenance(tmp_path: Path, gzip_records: bool) -> None:
    name = "crawl.warc.gz" if gzip_records else "crawl.warc"
    (tmp_path / name).write_bytes(build_warc(gzip_records=gzip_records))
    items = scan(tmp_path)
    got = chains(items)

    img = got[(name, IMG)]
    assert img.data == jpeg("red") and img.error is None and not img.skipped
    assert img.depth == 1 and img.path is None
    assert img.provenance.url == IMG
    assert img.provenance.captured_at == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert img.provenance.record_id and img.provenance.record_id.startswith("<urn:uuid:")
    assert img.declared_mime == "image/jpeg"
    assert img.provenance.locator.endswith(f"#{img.provenance.record_id}")

    page = got[(name, PAGE)]
    assert page.skipped and reason(page) == Reason.NOT_MEDIA
    assert page.data is None and page.provenance.url == PAGE
    assert page.declared_mime == "text/html"

    sniffed = got[(name, "https://host/raw.bin")]  # declared octet-stream, sniffed PNG
    assert sniffed.data == png_noise(1) and not sniffed.skipped
    assert sniffed.provenance.captured_at == datetime(2024, 6, 1, 11, 0, 0, 500000, tzinfo=UTC)

    declared = got[(name, "https://host/odd")]  # declared image, bytes are not: analysis decides
    assert declared.data == b"not really a gif" and not declared.skipped

    pack = got[(name, "https://host/pack.zip")]
    assert pack.is_container and pack.provenance.url == "https://host/pack.zip"
    inner = got[(name, "https://host/pack.zip", "in.jpg")]
    assert inner.data == jpeg("blue") and inner.depth == 2

    cut = got[(name, "https://host/cut.jpg")]
    assert reason(cut) == Reason.TRUNCATED and cut.data == jpeg("green")

    revisit = got[(name, "https://host/again.jpg")]
    assert revisit.revisit_digest == "sha1:AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH"
    assert revisit.data is None and revisit.path is None and revisit.error is None
    assert revisit.provenance.captured_at == datetime(2024, 6, 2, 8, 0, tzinfo=UTC)
    assert revisit.provenance.record_id

    resource = got[(name, "file:///shot.png")]
    assert resource.data == png_noise(2) and resource.declared_mime == "image/png"

    # request records are not items; the WARC itself comes last
    top = got[(name,)]
    assert top.is_container and top.error is None and items[-1] is top
    assert len(items) == 10


def test_whole_file_gzip_and_bzip2_warc(tmp_path: Path) -> None:
    plain = build_warc(gzip_records=False)
    (tmp_path / "one.warc.gz").write_bytes(gzip.compress(plain))
    (tmp_path / "two.warc.bz2").write_bytes(bz2.compress(plain))
    got = chains(scan(tmp_path))
    for name in ("one.warc.gz", "two.warc.bz2"):
        assert got[(name, IMG)].data == jpeg("red")
        assert got[(name,)].error is None


def test_warc_cut_mid_record(tmp_path: Path) -> None:
    plain = build_warc(gzip_records=False)
    cut_at = plain.index(png_noise(1)) + 100  # inside the raw.bin payload
    (tmp_path / "cut.warc").write_bytes(plain[:cut_at])
    gz = build_warc(gzip_records=True)
    (tmp_path / "cut.warc.gz").write_bytes(gz[: len(gz) // 2])
    (tmp_path / "z.jpg").write_bytes(jpeg())
    items = scan(tmp_path)
    got = chains(items)
    assert got[("cut.warc", IMG)].data == jpeg("red")
    lost = got[("cut.warc", "https://host/raw.bin")]
    assert reason(lost) == Reason.CORRUPT_WARC and lost.data is None
    assert reason(got[("cut.warc",)]) == Reason.CORRUPT_WARC
    assert ("cut.warc", "https://host/odd") not in got
    assert got[("cut.warc.gz", IMG)].data == jpeg("red")
    assert reason(got[("cut.warc.gz",)]) == Reason.CORRUPT_WARC
    assert got[("z.jpg",)].error is None


@pytest.mark.parametrize(
    "garbage",
    [gzip.compress(b"this is not a warc record\r\n\r\n"), b"\x1f\x8b\x08\x00garbage-bytes" * 4],
    ids=["valid-gzip-of-junk", "broken-gzip"],
)
def test_garbage_gzip_member_in_warc(tmp_path: Path, garbage: bytes) -> None:
    first = io.BytesIO()
    http_response(WARCWriter(first, gzip=True), IMG, jpeg("red"), "image/jpeg")
    rest = io.BytesIO()
    http_response(WARCWriter(rest, gzip=True), "https://host/b.jpg", jpeg("blue"), "image/jpeg")
    (tmp_path / "g.warc.gz").write_bytes(first.getvalue() + garbage + rest.getvalue())
    got = chains(scan(tmp_path))
    assert got[("g.warc.gz", IMG)].data == jpeg("red")
    top = got[("g.warc.gz",)]
    assert top.is_container and reason(top) == Reason.CORRUPT_WARC


def test_warc_payload_limits(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    http_response(writer, "https://host/big.png", png_noise(5, 64), "image/png")
    http_response(writer, IMG, jpeg(), "image/jpeg")
    (tmp_path / "l.warc.gz").write_bytes(out.getvalue())
    got = chains(scan(tmp_path, Limits(max_member_bytes=len(jpeg()) + 10)))
    big = got[("l.warc.gz", "https://host/big.png")]
    assert reason(big) == Reason.TOO_LARGE and big.data is None
    assert big.provenance.url == "https://host/big.png"
    assert got[("l.warc.gz", IMG)].data == jpeg()

    got = chains(scan(tmp_path, Limits(max_members=1)))
    assert reason(got[("l.warc.gz",)]) == Reason.TOO_MANY_MEMBERS
    assert ("l.warc.gz", IMG) not in got


def test_warc_in_zip_keeps_url_provenance(tmp_path: Path) -> None:
    (tmp_path / "export.zip").write_bytes(make_zip({"c.warc.gz": build_warc(gzip_records=True)}))
    got = chains(scan(tmp_path))
    img = got[("export.zip", "c.warc.gz", IMG)]
    assert img.data == jpeg("red") and img.depth == 2 and img.provenance.url == IMG
    assert got[("export.zip", "c.warc.gz")].is_container


def test_compressed_warc_bomb_stops_the_capture(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    http_response(writer, IMG, jpeg(), "image/jpeg")
    http_response(writer, "https://host/zeros.png", bytes(8 << 20), "image/png")
    http_response(writer, "https://host/after.jpg", jpeg(), "image/jpeg")
    (tmp_path / "b.warc.gz").write_bytes(out.getvalue())
    got = chains(scan(tmp_path, Limits(max_compression_ratio=50)))
    assert got[("b.warc.gz", IMG)].data == jpeg()
    assert reason(got[("b.warc.gz", "https://host/zeros.png")]) == Reason.ZIP_BOMB
    assert reason(got[("b.warc.gz",)]) == Reason.ZIP_BOMB
    assert ("b.warc.gz", "https://host/after.jpg") not in got
