"""Provenance of animated images and videos: the same signals as stills, C2PA in MP4/MOV."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
from PIL import Image

from tests.provenance import builders as b
from verisight.analysis import analyse_bytes, analyse_path
from verisight.analysis.provenance.containers import find_bmff_c2pa
from verisight.analysis.provenance.limits import DEFAULT_LIMITS
from verisight.analysis.record import ItemRecord
from verisight.limits import Limits

C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


def _comfy_exif() -> bytes:
    """EXIF as ComfyUI's SaveAnimatedWEBP writes it: 0x0110 ``prompt:``, 0x010F ``workflow:``."""
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(b.flux_graph())
    exif[0x010F] = "workflow:" + json.dumps({"nodes": [], "links": []})
    return exif.tobytes()


def _animated(fmt: str, **params: object) -> bytes:
    frames = [b.shapes(seed=s) for s in range(3)]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=200, **params)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_animated_comfyui_metadata_is_read(fmt: str) -> None:
    data = _animated(fmt, loop=0, exif=_comfy_exif())
    rec = analyse_bytes(data, Limits())
    assert rec.kind == "image" and rec.error is None
    if fmt == "WEBP":
        assert rec.video is not None and len(rec.video.frames) >= 1
    p = rec.provenance
    assert p is not None and p.provenance == "ai-declared" and not p.parse_errors
    assert p.generator is not None and p.generator.tool == "ComfyUI"
    assert p.generator.model_name == "flux1-schnell.safetensors"
    assert p.generator.seed == 424242


def test_animated_gif_gets_a_provenance_report() -> None:
    rec = analyse_bytes(_animated("GIF", loop=0), Limits())
    assert rec.video is not None
    assert rec.provenance is not None and rec.provenance.provenance == "none"


def _c2pa_box(payload: bytes) -> bytes:
    body = C2PA_UUID + payload
    return struct.pack(">I4s", 8 + len(body), b"uuid") + body


def test_ordinary_mp4_gets_an_empty_report(clip: bytes, tmp_path: Path) -> None:
    rec = analyse_bytes(clip, Limits())
    p = rec.provenance
    assert p is not None and p.provenance == "none"
    assert p.c2pa is None and p.parse_errors == () and p.generators == ()
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip)
    assert analyse_path(path, Limits()).provenance == p


def test_garbage_c2pa_box_is_a_parse_error(clip: bytes, tmp_path: Path) -> None:
    # version/flags, purpose "manifest", merkle offset, then bytes that are no JUMBF store
    data = clip + _c2pa_box(b"\x00" * 4 + b"manifest\x00" + b"\x00" * 8 + b"not jumbf" * 20)
    for rec in (analyse_bytes(data, Limits()), _via_path(data, tmp_path)):
        assert rec.kind == "video" and rec.error is None and rec.video is not None
        p = rec.provenance
        assert p is not None and p.c2pa is not None and p.c2pa.state == "unreadable"
        assert any(e.source.startswith("C2PA") for e in p.parse_errors)


def _via_path(data: bytes, tmp_path: Path) -> ItemRecord:
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    return analyse_path(path, Limits())


def test_box_walk_reads_headers_only(clip: bytes) -> None:
    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, n: int | None = -1, /) -> bytes:
            out = super().read(n)
            self.read_bytes += len(out)
            return out

    plain = Counting(clip)
    assert find_bmff_c2pa(plain, DEFAULT_LIMITS) == (None, [])
    assert plain.read_bytes < 32 * 16
    tagged = Counting(clip + _c2pa_box(b"x"))
    where, problems = find_bmff_c2pa(tagged, DEFAULT_LIMITS)
    assert where == "ISOBMFF C2PA uuid box" and problems == []


@pytest.mark.parametrize(
    "tail",
    [
        struct.pack(">I4s", 4, b"free"),  # smaller than its own header
        struct.pack(">I4s", 1000, b"free"),  # runs past the end
        struct.pack(">I4s", 1, b"free"),  # 64-bit size cut off
    ],
)
def test_broken_box_headers_are_problems_not_exceptions(clip: bytes, tail: bytes) -> None:
    where, problems = find_bmff_c2pa(io.BytesIO(clip + tail), DEFAULT_LIMITS)
    assert where is None and len(problems) == 1


def test_webm_gets_an_empty_report() -> None:
    from verisight.demo_video import make_video

    webm = make_video(2, seed=3, codec="libvpx-vp9", container="webm")
    rec = analyse_bytes(webm, Limits())
    assert rec.provenance is not None and rec.provenance.provenance == "none"
    assert rec.provenance.parse_errors == ()
