"""Decoding only what vPDQ sampling needs gives exactly the frames of a full decode.

Clips are generated here (small, a couple of seconds) with the encoder settings that matter:
B-frames with b-pyramid (so some sampled frames are non-reference B-frames), no B-frames,
open GOPs (keyframes that are not IDR pictures), HEVC and intra-only MJPEG; codecs the plan
does not handle and damaged files must fall back to the full decode.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from verisight.analysis import analyse_bytes
from verisight.analysis.pdq import hamming, pdq_from_pixels
from verisight.analysis.video import frame_feature, hash_video
from verisight.errors import ItemFailure, Reason
from verisight.limits import Limits
from verisight.media import video as media_video
from verisight.media.video import SampledFrame, open_video

FPS = 25
LIMITS = Limits()
X264_PYRAMID = "bframes=3:b-adapt=0:b-pyramid=normal:keyint=30:scenecut=0"


def encode(
    frames: int = 60,
    *,
    size: tuple[int, int] = (128, 96),
    codec: str = "libx264",
    container: str = "mp4",
    params: str | None = X264_PYRAMID,
    pix_fmt: str = "yuv420p",
) -> bytes:
    """A clip of moving gradients and a moving square (every frame differs)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    options = {f"{codec.removeprefix('lib')}-params": params} if params else {}
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream: Any = box.add_stream(codec, rate=FPS, options=options)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        for i in range(frames):
            img = np.empty((h, w, 3), np.uint8)
            img[..., 0] = (xx * 2 + i * 3) % 256
            img[..., 1] = (yy * 3 + i * 2) % 256
            img[..., 2] = ((xx + yy) // 8 * 40 + i * 5) % 256
            x = (i * 5) % (w - 16)
            img[h // 4 : h // 4 + 16, x : x + 16] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return out.getvalue()


CLIPS = {
    "b-pyramid": {},
    "x264-defaults": {"params": "keyint=30"},
    "no-b-frames": {"params": "bframes=0:keyint=30"},
    "open-gop": {"params": "bframes=3:keyint=20:open-gop=1:scenecut=0"},
    "hevc": {"codec": "libx265", "params": "bframes=3:keyint=30:log-level=error"},
    "mjpeg": {"codec": "mjpeg", "container": "avi", "params": None, "pix_fmt": "yuvj420p"},
}


@pytest.fixture(scope="module")
def clips() -> dict[str, bytes]:
    return {name: encode(**kw) for name, kw in CLIPS.items()}


@pytest.fixture(scope="module")
def wide() -> bytes:
    """Wider than 512 px: the image path would reduce its frames before hashing."""
    return encode(30, size=(640, 360))


def sample(
    data: bytes, step: int, *, plan: bool = True, threads: int | None = 1, limits: Limits = LIMITS
) -> tuple[list[tuple[int, float, bytes]], str, int, Reason | None]:
    """(frames as (number, t, pixels), strategy, frames decoded, error reason)."""
    out: list[tuple[int, float, bytes]] = []
    reason = None
    with open_video(data, limits, threads=threads) as reader:
        try:
            for f in reader.sampled_frames((step + 0.5) / FPS, plan=plan):
                out.append((f.number, f.t, f.pixels.tobytes()))
        except ItemFailure as failure:
            reason = failure.error.reason
        return out, reader.strategy, reader.decoded, reason


def non_reference(data: bytes) -> set[int]:
    """Frame numbers of the non-reference frames (those FFmpeg's NONREF skip drops)."""
    with av.open(io.BytesIO(data)) as box:
        stream = box.streams.video[0]
        pts = sorted(p.pts for p in box.demux(stream) if p.size)
    with av.open(io.BytesIO(data)) as box:
        stream = box.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        kept = {f.pts for f in box.decode(stream)}
    return {n for n, p in enumerate(pts) if p not in kept}


@pytest.mark.parametrize("name", list(CLIPS))
@pytest.mark.parametrize("step", [2, 3, 5, 25])
def test_planned_decode_gives_the_full_decode_frames(
    clips: dict[str, bytes], name: str, step: int
) -> None:
    data = clips[name]
    full, strategy, decoded_full, _ = sample(data, step, plan=False)
    planned, strategy, decoded, _ = sample(data, step)
    assert strategy == "planned"
    assert [f[0] for f in full] == list(range(0, 60, step))
    assert planned == full  # numbers, times and every pixel
    assert decoded_full == 60 and decoded < 60  # something was skipped


def test_sampled_non_reference_b_frames_decode_identically(clips: dict[str, bytes]) -> None:
    data = clips["b-pyramid"]
    skippable = non_reference(data)
    assert len(skippable) >= 20  # b-pyramid: the non-reference Bs
    for step in (3, 5, 7):
        planned, strategy, decoded, _ = sample(data, step)
        assert strategy == "planned"
        assert {f[0] for f in planned} & skippable  # some sampled frames are such Bs
        assert planned == sample(data, step, plan=False)[0]
        assert decoded <= 60 - len(skippable - {f[0] for f in planned})


def test_frame_threads_follow_the_per_packet_switch(clips: dict[str, bytes]) -> None:
    for name in ("b-pyramid", "hevc"):
        full = sample(clips[name], 3, plan=False)[0]
        planned, strategy, _, _ = sample(clips[name], 3, threads=4)
        assert strategy == "planned" and planned == full


def test_video_hashes_equal_full_decode_and_full_frame_pdq(wide: bytes) -> None:
    data = wide
    ours = hash_video(data, Limits(), 1.0, threads=1).info.frames
    with open_video(data, Limits()) as reader:
        full = [frame_feature(f) for f in reader.sampled_frames(1.0, plan=False)]
    assert ours == tuple(full) and [f.number for f in ours] == [0, 25]
    with av.open(io.BytesIO(data)) as box:
        second = next(f for i, f in enumerate(box.decode(video=0)) if i == 25)
    # vPDQ's hash: PDQ of the whole decoded frame, quality from the same call
    assert pdq_from_pixels(second.to_ndarray(format="rgb24")) == (ours[1].pdq, ours[1].quality)
    png = io.BytesIO()
    second.to_image().save(png, "PNG")
    still = analyse_bytes(png.getvalue(), Limits()).pdq  # the image path: reduced to 512 px
    assert still is not None and hamming(still, ours[1].pdq) <= 16


@pytest.mark.parametrize(
    "kw",
    [
        {"codec": "libvpx-vp9", "container": "webm", "params": None},
        {"codec": "mpeg4", "container": "avi", "params": None},
    ],
    ids=["vp9", "mpeg4-part2"],
)
def test_other_codecs_decode_every_frame(kw: dict[str, Any]) -> None:
    data = encode(30, **kw)
    frames, strategy, decoded, _ = sample(data, 5)
    assert strategy == "full" and decoded == 30
    assert frames == sample(data, 5, plan=False)[0]


def test_every_frame_sampled_means_full_decode(clips: dict[str, bytes]) -> None:
    frames, strategy, decoded, _ = sample(clips["b-pyramid"], 1)
    assert strategy == "full" and decoded == 60 and len(frames) == 60


def test_a_surprise_falls_back_and_yields_each_frame_once(
    clips: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan the decoder contradicts part-way: the rest comes from a full decode."""
    planner = media_video.VideoReader._plan

    def wrong_plan(self: media_video.VideoReader, step: int, deadline: float) -> Any:
        plan = planner(self, step, deadline)
        decisions = bytearray(plan.decisions)
        wanted = next(p for p, n in plan.rank.items() if n == 2 * step)
        decisions[plan.pts.index(wanted)] = 0  # never send a sampled frame's packet
        return dataclasses.replace(plan, decisions=decisions)

    data = clips["b-pyramid"]
    full = sample(data, 5, plan=False)[0]
    monkeypatch.setattr(media_video.VideoReader, "_plan", wrong_plan)
    frames, strategy, _, _ = sample(data, 5)
    assert strategy == "fallback" and frames == full


def test_damaged_files_fall_back_to_the_full_decode(clips: dict[str, bytes]) -> None:
    data = clips["b-pyramid"]
    cut = len(data) // 2
    damaged = data[:cut] + bytes(range(256)) * 8 + data[cut + 2048 :]
    full = sample(damaged, 5, plan=False)
    planned = sample(damaged, 5)
    assert planned[1] == "fallback" and full[3] is Reason.CORRUPT_VIDEO
    assert (planned[0], planned[3]) == (full[0], full[3])  # same frames, same error


def test_frame_limit_trips_exactly_as_before(clips: dict[str, bytes]) -> None:
    limits = Limits(max_video_frames=40)
    full = sample(clips["b-pyramid"], 5, plan=False, limits=limits)
    planned = sample(clips["b-pyramid"], 5, limits=limits)
    assert planned[3] is full[3] is Reason.VIDEO_TOO_LONG
    assert planned[0] == full[0] and len(full[0]) == 8


def test_contact_sheet_comes_from_small_copies(wide: bytes) -> None:
    result = hash_video(wide, Limits(), 0.2, threads=1)
    assert result.contact_sheet is not None and result.poster is not None
    sheet = Image.open(io.BytesIO(result.contact_sheet))
    assert sheet.size[0] > 4 * 150 and result.poster.size == (192, 108)


def test_previews_look_like_the_frame(wide: bytes) -> None:
    """FFmpeg's small copy (video) and Pillow's (images) both resemble a careful reduction.

    Compared in luminance: FFmpeg averages before converting to RGB, so the clip's sharp
    saturated stripes come out with other colours where RGB clips.
    """
    with open_video(wide, Limits()) as reader:
        frame = next(reader.sampled_frames(1.0))
    careful = frame.image.resize((192, 108), Image.Resampling.LANCZOS).convert("L")
    from_pillow = SampledFrame(frame.number, frame.t, frame.image)
    for small in (frame.preview(192), from_pillow.preview(192)):
        assert small.mode == "RGB" and small.size == (192, 108)
        diff = np.abs(np.asarray(small.convert("L"), np.int16) - np.asarray(careful, np.int16))
        assert diff.mean() < 3, diff.mean()
    assert frame.preview(1000).size == (640, 360)  # never enlarged
    assert np.array_equal(frame.pixels, np.asarray(frame.image))
    assert np.array_equal(from_pillow.pixels, frame.pixels)
