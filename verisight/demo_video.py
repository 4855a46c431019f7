"""Benign generated videos for tests, demos and benchmarks (PyAV, all in memory).

:func:`make_video` stitches abstract scenes from :func:`verisight.demo.scene` (a new scene every
``scene_seconds``) with a moving coloured disc and a frame counter drawn on top.
:func:`transcode` re-encodes a video (other codec or container, resized, trimmed), as a
re-upload of the same footage would be.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw

from verisight.demo import scene

__all__ = ["make_video", "transcode"]


def make_video(
    seconds: float = 6.0,
    *,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
    seed: int = 1,
    scene_seconds: float = 2.0,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = False,
) -> bytes:
    """Encode a deterministic benign clip and return the file's bytes."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream: Any = box.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        sound: Any = box.add_stream("aac", rate=16000) if audio else None
        w, h = size
        scenes: dict[int, Image.Image] = {}
        total = round(seconds * fps)
        for i in range(total):
            k = int(i / fps / scene_seconds)
            if k not in scenes:
                scenes = {k: scene(seed * 1000 + k, size)}
            img = scenes[k].copy()
            draw = ImageDraw.Draw(img)
            x = int((i * 7) % max(1, w - 40))
            y = int(h / 2 + (h / 4) * ((i % 50) / 25 - 1))
            draw.ellipse((x, y, x + 40, y + 40), fill=(255, 240, 0))
            draw.text((8, 8), f"frame {i}", fill=(255, 255, 255))
            for packet in stream.encode(_frame(img)):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
        if sound is not None:
            _silence(box, sound, seconds)
    return out.getvalue()


def transcode(
    data: bytes,
    *,
    size: tuple[int, int] | None = None,
    start: float = 0.0,
    end: float | None = None,
    codec: str = "libx264",
    container: str = "mp4",
    fps: int | None = None,
) -> bytes:
    """Re-encode ``data``: optionally resized, trimmed to [start, end) seconds, new codec."""
    out = io.BytesIO()
    src: Any
    dst: Any
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format=container) as dst:
        vin = src.streams.video[0]
        rate = fps or round(float(vin.average_rate or 25))
        vout: Any = dst.add_stream(codec, rate=rate)
        w, h = size or (vin.codec_context.width, vin.codec_context.height)
        vout.width, vout.height = w, h
        vout.pix_fmt = "yuv420p"
        n = 0
        for frame in src.decode(vin):
            t = float(frame.pts * vin.time_base) if frame.pts is not None else n / rate
            n += 1
            if t < start or (end is not None and t >= end):
                continue
            img = frame.to_image()
            if (w, h) != img.size:
                img = img.resize((w, h), Image.Resampling.BILINEAR)
            for packet in vout.encode(_frame(img)):
                dst.mux(packet)
        for packet in vout.encode():
            dst.mux(packet)
    return out.getvalue()


def _frame(img: Image.Image) -> Any:
    return av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]


def _silence(box: Any, sound: Any, seconds: float) -> None:
    rate = 16000
    samples = int(rate * seconds)
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, samples), dtype=np.float32), format="fltp", layout="mono"
    )
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    for packet in sound.encode(frame):
        box.mux(packet)
    for packet in sound.encode():
        box.mux(packet)
