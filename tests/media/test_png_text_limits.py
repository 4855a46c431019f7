"""PNG text chunks over Pillow's memory limits cost only the metadata, never the pixels
(issue 18, finding 2): about 1 KiB of zTXt must not hide an image from hashing."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from PIL import PngImagePlugin

from tests.conftest import png_bytes
from verisight.analysis import analyse_bytes
from verisight.limits import Limits
from verisight.media.decode import DecodeFailure, decode_image


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _with_chunk(png: bytes, chunk: bytes, before: bytes) -> bytes:
    at = png.index(before) - 4
    return png[:at] + chunk + png[at:]


def _ztxt_bomb(inflated: int) -> bytes:
    return _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * inflated, 9))


@pytest.mark.parametrize("before", [b"IDAT", b"IEND"])  # read by open(), or by load()
def test_ztxt_over_pillows_limit_still_hashes_the_pixels(before: bytes) -> None:
    plain = png_bytes(7)
    bomb = _ztxt_bomb(16 << 20)  # past Pillow's 1 MiB and provenance's 8 MiB
    assert len(bomb) < 20_000
    hostile = _with_chunk(plain, bomb, before)
    record = analyse_bytes(hostile, Limits())
    assert record.error is None
    assert record.pdq == analyse_bytes(plain, Limits()).pdq
    assert record.thumbnail is not None and record.provenance is not None
    errors = record.provenance.to_json()["parse_errors"]
    assert [e["source"] for e in errors] == ["PNG zTXt Comment"]
    assert "decompresses to more than" in errors[0]["message"]
    # Pillow's own limit is unchanged: metadata memory stays bounded.
    assert PngImagePlugin.MAX_TEXT_CHUNK == 1 << 20


def test_too_much_text_altogether_still_hashes_the_pixels() -> None:
    plain = png_bytes(8)
    many = b"".join(_ztxt_bomb(1_000_000) for _ in range(70))  # 70 MB > MAX_TEXT_MEMORY
    decoded = decode_image(_with_chunk(plain, many, b"IDAT"), Limits())
    assert decoded.image.size == (320, 240)


def test_large_comfyui_workflow_keeps_pixels_and_provenance() -> None:
    nodes = [{"id": i, "type": "KSampler", "widgets_values": [i, "x" * 100]} for i in range(12_000)]
    workflow = json.dumps({"nodes": nodes, "links": []}).encode()
    assert len(workflow) > 1_300_000
    itxt = _chunk(b"iTXt", b"workflow\x00\x01\x00\x00\x00" + zlib.compress(workflow))
    record = analyse_bytes(_with_chunk(png_bytes(9), itxt, b"IDAT"), Limits())
    assert record.error is None and record.pdq is not None
    assert record.provenance is not None
    assert record.provenance.to_json()["parse_errors"] == []


def test_other_png_damage_is_still_reported() -> None:
    broken = bytearray(png_bytes(10))
    at = broken.index(b"IDAT") + 4
    broken[at : at + 64] = bytes(64)
    with pytest.raises(DecodeFailure) as info:
        decode_image(bytes(broken), Limits())
    assert info.value.error.reason.value in {"corrupt-image", "truncated"}
