"""Memory stays bounded inside the limits (issue 18, finding 8): a member costs its size once,
not once per copy, whatever the number of workers; HTTP content encodings in a WARC obey the
compression-ratio limit like any compressed member."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.conftest import png_bytes
from tests.sources.builders import by_chain, reason, scan
from verisight.case import Case

MIB = 1 << 20


def _encoded_response(uri: str, body: bytes, encoding: str, content_type: str) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    headers = StatusAndHeaders(
        "200 OK",
        [
            ("Content-Type", content_type),
            ("Content-Encoding", encoding),
            ("Content-Length", str(len(body))),
        ],
        protocol="HTTP/1.1",
    )
    record = writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), http_headers=headers
    )
    writer.write_record(record)
    return out.getvalue()


def test_gzip_content_encoding_bomb_in_a_warc_is_a_zip_bomb(tmp_path: Path) -> None:
    bomb = gzip.compress(bytes(64 * MIB), 9)  # ~64 KB that decodes to 64 MiB
    image = png_bytes(3)
    warc = _encoded_response("http://host/bomb.png", bomb, "gzip", "image/png")
    warc += _encoded_response("http://host/ok.png", gzip.compress(image), "gzip", "image/png")
    (tmp_path / "capture.warc").write_bytes(warc)
    items = by_chain(scan(tmp_path))
    bombed = items[("capture.warc", "http://host/bomb.png")]
    assert reason(bombed) == "zip-bomb" and bombed.data is None
    assert bombed.error is not None and "compressed" in bombed.error.detail
    ok = items[("capture.warc", "http://host/ok.png")]
    assert ok.error is None and ok.data == image  # a normal encoded payload is decoded
    assert reason(items[("capture.warc",)]) is None  # the WARC goes on after the bomb


def test_gzip_content_encoding_bomb_is_recorded_by_a_scan(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    bomb = gzip.compress(bytes(16 * MIB), 9)
    (src / "c.warc").write_bytes(_encoded_response("http://h/x.png", bomb, "gzip", "image/png"))
    with Case(tmp_path / "case", None, create=True) as case:
        summary = case.scan([src], workers=1)
    assert summary.reconciles and summary.errors_by_reason == {"zip-bomb": 1}


def _dense_zip(path: Path, members: int, size: int) -> None:
    """Members of ``size`` bytes that deflate about 200:1 (below the 250 ratio limit)."""
    rng = np.random.default_rng(0)
    noisy = int(MIB * 0.0036)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for m in range(members):
            with archive.open(f"blob{m}.bin", "w", force_zip64=True) as out:
                for _ in range(size // MIB):
                    block = bytearray(MIB)
                    block[:noisy] = rng.integers(0, 256, noisy, dtype=np.uint8).tobytes()
                    out.write(block)


def _peak_rss_mib(target: Path, case: Path, workers: int) -> float:
    """Peak RSS of the largest process of ``verisight scan`` (scan or worker), in MiB."""
    code = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    cmd = [sys.executable, "-m", "verisight", "scan", str(target), "--case", str(case)]
    done = subprocess.run(
        [sys.executable, "-c", code, *cmd, "--workers", str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip()) / 1024


@pytest.mark.parametrize("workers", [1, 2])
def test_archive_members_cost_their_size_once(tmp_path: Path, workers: int) -> None:
    size = 128 * MIB
    _dense_zip(tmp_path / "dense.zip", 3, size)
    assert (tmp_path / "dense.zip").stat().st_size < 3 * size / 150
    _dense_zip(tmp_path / "tiny.zip", 1, MIB)
    baseline = _peak_rss_mib(tmp_path / "tiny.zip", tmp_path / "case0", workers)
    peak = _peak_rss_mib(tmp_path / "dense.zip", tmp_path / "case1", workers)
    # Before: the member was copied (bytearray -> bytes), the previous member stayed alive
    # while the next was read, and queued members were pickled: 2-4 times its size.
    assert peak - baseline < 1.5 * size / MIB, (baseline, peak)
    assert not list((tmp_path / "case1" / "spill").glob("*"))  # spilled copies are removed


def test_a_tar_inside_a_zip_costs_at_most_the_tar_and_one_member(tmp_path: Path) -> None:
    """zip › tar › member: the tar is held whole (it is itself a sighting, hashed from its
    bytes) and its members are read from it one at a time, so the peak is the tar plus one
    member, 2 × ``max_member_bytes`` at most (docs/scanning.md). Before, 3.31 GB from 8.9 MB."""
    import tarfile

    size = 96 * MIB
    _dense_zip(tmp_path / "blob.zip", 1, size)
    with zipfile.ZipFile(tmp_path / "blob.zip") as archive:
        archive.extract("blob0.bin", tmp_path)
    (tmp_path / "blob.zip").unlink()
    with tarfile.open(tmp_path / "inner.tar", "w") as tar:
        tar.add(tmp_path / "blob0.bin", arcname="blob0.bin")
    (tmp_path / "blob0.bin").unlink()
    with zipfile.ZipFile(tmp_path / "outer.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "inner.tar", "inner.tar")
    (tmp_path / "inner.tar").unlink()
    _dense_zip(tmp_path / "tiny.zip", 1, MIB)
    baseline = _peak_rss_mib(tmp_path / "tiny.zip", tmp_path / "case0", 1)
    peak = _peak_rss_mib(tmp_path / "outer.zip", tmp_path / "case1", 1)
    assert peak - baseline < 2.5 * size / MIB, (baseline, peak)
