"""Video ingest: probing, vPDQ sampling, frame hashes, limits and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from verisight.analysis import analyse_bytes, analyse_path
from verisight.analysis.pdq import hamming, pdq_from_pixels
from verisight.analysis.video import collapse, quality_filter
from verisight.demo import scene
from verisight.demo_video import make_video
from verisight.errors import Reason
from verisight.limits import Limits


def test_video_probe_and_one_frame_per_second(clip: bytes) -> None:
    rec = analyse_bytes(clip, Limits())
    assert rec.error is None and rec.kind == "video" and rec.mime == "video/mp4"
    v = rec.video
    assert v is not None
    assert (v.width, v.height, v.codec, v.audio) == (320, 240, "h264", True)
    assert v.fps == 25.0 and v.duration == pytest.approx(8.0, abs=0.1)
    assert [f.t for f in v.frames] == [float(i) for i in range(8)]
    assert [f.number for f in v.frames] == [25 * i for i in range(8)]
    assert all(len(f.pdq) == 64 and f.quality >= 50 for f in v.frames)
    assert rec.contact_sheet is not None and rec.contact_sheet[:3] == b"\xff\xd8\xff"
    assert rec.thumbnail is not None
    assert Image.open(io.BytesIO(rec.contact_sheet)).size[0] > 4 * 100


def test_sampling_interval_is_configurable(clip: bytes) -> None:
    rec = analyse_bytes(clip, Limits(video_seconds_per_frame=2.0))
    assert rec.video is not None and [f.t for f in rec.video.frames] == [0.0, 2.0, 4.0, 6.0]
    every = analyse_bytes(clip, Limits(video_seconds_per_frame=0))
    assert every.video is not None and len(every.video.frames) == 200


def test_frame_hashes_are_pdq_of_the_whole_decoded_frames(clip: bytes) -> None:
    """vPDQ's hashes: PDQ of each sampled frame at its own size, quality from the same call."""
    rec = analyse_bytes(clip, Limits())
    assert rec.video is not None
    with av.open(io.BytesIO(clip)) as box:
        decoded = [f.to_ndarray(format="rgb24") for i, f in enumerate(box.decode(video=0))]
    want = [pdq_from_pixels(decoded[25 * i]) for i in range(8)]
    assert [(f.pdq, f.quality) for f in rec.video.frames] == want


@pytest.mark.parametrize(("size", "distance"), [((320, 240), 0), ((1280, 720), 16)])
def test_stills_of_frames_hash_close_to_the_frames(size: tuple[int, int], distance: int) -> None:
    """A still of a frame is hashed by the image path (reduced to 512 px first when larger):
    the same hash for small frames, a few bits away for larger ones, so frames match image
    banks and stills match video banks."""
    data = make_video(3, size=size, seed=5)
    rec = analyse_bytes(data, Limits())
    assert rec.video is not None and len(rec.video.frames) == 3
    with av.open(io.BytesIO(data)) as box:
        stills = [f.to_image() for i, f in enumerate(box.decode(video=0)) if i % 25 == 0]
    for frame, still in zip(rec.video.frames, stills, strict=True):
        png = io.BytesIO()
        still.save(png, "PNG")
        pdq = analyse_bytes(png.getvalue(), Limits()).pdq
        assert pdq is not None and hamming(pdq, frame.pdq) <= distance


def test_path_and_bytes_agree(clip: bytes, tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(clip)
    assert analyse_path(path, Limits()) == analyse_bytes(clip, Limits())


def test_webm_vp9_and_collapse(tmp_path: Path) -> None:
    still = make_video(4, seed=3, scene_seconds=10, codec="libvpx-vp9", container="webm")
    rec = analyse_bytes(still, Limits())
    assert rec.error is None and rec.mime == "video/webm" and rec.video is not None
    assert rec.video.codec == "vp9" and len(rec.video.frames) == 4
    assert collapse(rec.video.frames)[0] == rec.video.frames[0]
    assert len(quality_filter(rec.video.frames, 101)) == 0


@pytest.mark.parametrize("size", [(120, 90), (800, 600)])
def test_animated_gif_gets_frames_and_image_pdq(size: tuple[int, int]) -> None:
    frames = [scene(s, size) for s in (1, 1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    rec = analyse_bytes(out.getvalue(), Limits())
    assert rec.kind == "image" and rec.pdq is not None and rec.video is not None
    assert rec.video.duration == pytest.approx(2.0)
    assert [f.t for f in rec.video.frames] == [0.0, 1.0]
    with Image.open(io.BytesIO(out.getvalue())) as gif:
        first = np.asarray(gif.convert("RGB"))
    # frames are hashed whole, as video frames are; the still's hash is the image path's
    assert (rec.video.frames[0].pdq, rec.video.frames[0].quality) == pdq_from_pixels(first)
    assert hamming(rec.video.frames[0].pdq, rec.pdq) <= (0 if max(size) <= 512 else 16)
    assert rec.contact_sheet is not None


@pytest.mark.parametrize(
    ("mutate", "reasons"),
    [
        (lambda b: b[: len(b) // 2], {Reason.CORRUPT_VIDEO, Reason.TRUNCATED}),
        (lambda b: b[:32] + b"\x00" * 4000, {Reason.CORRUPT_VIDEO, Reason.TRUNCATED}),
        (lambda b: b[:12] + bytes(range(256)) * 40, {Reason.CORRUPT_VIDEO, Reason.TRUNCATED}),
        # an unknown sample entry: a stream without a decoder (found by fuzzing)
        (lambda b: b.replace(b"avc1", b"qqqq"), {Reason.UNSUPPORTED_VIDEO}),
    ],
)
def test_broken_videos_become_item_errors(clip: bytes, mutate, reasons) -> None:  # type: ignore[no-untyped-def]
    rec = analyse_bytes(mutate(clip), Limits())
    assert rec.kind == "video" and rec.error is not None and rec.error.reason in reasons
    assert rec.sha256 and rec.size > 0


def test_limits_trip_as_item_errors(clip: bytes) -> None:
    def reason(limits: Limits) -> Reason | None:
        err = analyse_bytes(clip, limits).error
        return err.reason if err else None

    assert reason(Limits(max_video_seconds=3)) is Reason.VIDEO_TOO_LONG
    assert reason(Limits(max_video_frames=30)) is Reason.VIDEO_TOO_LONG
    assert reason(Limits(max_dimension=200)) is Reason.ABSURD_DIMENSIONS
    assert reason(Limits(max_pixels=10_000)) is Reason.DECOMPRESSION_BOMB
    timed = analyse_bytes(clip, Limits(max_video_decode_seconds=0))
    assert timed.error is not None and timed.error.reason is Reason.DECODE_TIMEOUT
