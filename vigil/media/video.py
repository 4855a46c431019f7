"""Safe video probing and frame sampling with PyAV (FFmpeg), the way Meta's vPDQ samples.

:func:`open_video` opens a video from memory (``bytes``) or from its original path, probes it
(:class:`VideoProbe`) and checks the limits before any frame is decoded;
:meth:`VideoReader.sampled_frames` then decodes every frame of the first video stream and
yields one every ``seconds_per_frame`` seconds. Nothing is ever written to disk: bytes are
read through :class:`io.BytesIO`, paths are read by FFmpeg in place.

Sampling follows vPDQ's ``filehasher.cpp`` exactly: the frame rate is the stream's average
frame rate (its ``r_frame_rate`` when that is unknown), ``step = int(seconds_per_frame * fps)``
(at least 1), decoded frame *n* (counting from 0 in decode output order) is sampled when
``n % step == 0``, and its timestamp is ``n / fps``.

Limits (:class:`vigil.limits.Limits`): longest side and pixel count (``max_dimension``,
``max_pixels``), duration (``max_video_seconds``), frames decoded (``max_video_frames``) and
wall-clock decode time (``max_video_decode_seconds``, checked after every decoded frame). A
broken, truncated or hostile file raises :class:`vigil.errors.ItemFailure` with one of the
reasons ``corrupt-video``, ``truncated``, ``unsupported-video``, ``video-too-long``,
``absurd-dimensions``, ``decompression-bomb`` or ``decode-timeout``; frames already yielded
stay valid.

Animated GIF and WebP are read with Pillow instead (FFmpeg cannot decode animated WebP):
:func:`sample_animation` yields the frame on screen at each sampling time.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.error
from PIL import Image, ImageSequence

from vigil.errors import ItemFailure, Reason
from vigil.limits import Limits

__all__ = ["SampledFrame", "VideoProbe", "VideoReader", "open_video", "sample_animation"]

av.logging.set_level(av.logging.PANIC)


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What the container says about a video, before decoding."""

    #: Seconds (container duration, else the video stream's), ``None`` when unknown.
    duration: float | None
    #: Frames per second used for sampling (vPDQ's choice of rate).
    fps: float
    width: int
    height: int
    #: FFmpeg codec name of the video stream, e.g. "h264", "vp9", "gif", "webp".
    codec: str
    #: True when the container has at least one audio stream.
    audio: bool


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """One sampled frame: its number in decode order, its timestamp and its RGB pixels."""

    number: int
    t: float
    image: Image.Image


class VideoReader:
    """An open video; use as a context manager. Create with :func:`open_video`."""

    def __init__(self, container: Any, stream: Any, probe: VideoProbe, limits: Limits) -> None:
        self._container = container
        self._stream = stream
        self.probe = probe
        self._limits = limits
        #: Frames decoded so far (sampled or not).
        self.decoded = 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def sampled_frames(self, seconds_per_frame: float | None = None) -> Iterator[SampledFrame]:
        """Decode the video and yield every ``seconds_per_frame``-th second's frame (vPDQ).

        ``0`` samples every frame. Raises :class:`ItemFailure` when a limit trips or the
        stream is broken; frames yielded before that are valid.
        """
        spf = (
            self._limits.video_seconds_per_frame if seconds_per_frame is None else seconds_per_frame
        )
        if spf < 0:
            raise ValueError("seconds_per_frame must be ≥ 0")
        fps = self.probe.fps
        step = max(1, int(spf * fps))
        deadline = time.monotonic() + self._limits.max_video_decode_seconds
        max_frames = self._limits.max_video_frames
        max_n = int(self._limits.max_video_seconds * fps) + 1
        try:
            for frame in self._container.decode(self._stream):
                n = self.decoded
                self.decoded += 1
                if n >= max_frames or n >= max_n:
                    what = "frames" if n >= max_frames else "seconds of frames"
                    limit = max_frames if n >= max_frames else self._limits.max_video_seconds
                    raise ItemFailure(Reason.VIDEO_TOO_LONG, f"more than {limit:,} {what}")
                if time.monotonic() > deadline:
                    raise ItemFailure(
                        Reason.DECODE_TIMEOUT,
                        f"decoding took over {self._limits.max_video_decode_seconds:g} s "
                        f"({n:,} frames)",
                    )
                if n % step == 0:
                    _check_size(frame.width, frame.height, self._limits)
                    yield SampledFrame(n, n / fps, frame.to_image())
        except av.error.FFmpegError as exc:
            reason = (
                Reason.TRUNCATED if isinstance(exc, av.error.EOFError) else Reason.CORRUPT_VIDEO
            )
            raise ItemFailure(reason, _describe(exc, self.decoded)) from None


def open_video(source: bytes | Path, limits: Limits) -> VideoReader:
    """Open and probe ``source`` (bytes in memory, or a path read in place); check limits.

    Raises :class:`ItemFailure` when the file is not a readable video or breaks a limit.
    """
    file: Any = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(file, mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise ItemFailure(Reason.CORRUPT_VIDEO, _describe(exc, 0)) from None
    try:
        if not container.streams.video:
            raise ItemFailure(Reason.UNSUPPORTED_VIDEO, "no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not fps > 0:
            raise ItemFailure(Reason.CORRUPT_VIDEO, "the frame rate is unknown or zero")
        width, height = int(ctx.width), int(ctx.height)
        if width <= 0 or height <= 0:
            raise ItemFailure(Reason.CORRUPT_VIDEO, f"the video size is empty ({width}×{height})")
        _check_size(width, height, limits)
        duration = _duration(container, stream)
        if duration is not None and duration > limits.max_video_seconds:
            raise ItemFailure(
                Reason.VIDEO_TOO_LONG,
                f"{duration:,.0f} s exceeds the limit of {limits.max_video_seconds:,.0f} s",
            )
        stream.thread_type = "AUTO"
        probe = VideoProbe(
            duration=duration,
            fps=fps,
            width=width,
            height=height,
            codec=str(ctx.name),
            audio=bool(container.streams.audio),
        )
    except ItemFailure:
        container.close()
        raise
    except (av.error.FFmpegError, ValueError, ZeroDivisionError) as exc:
        container.close()
        raise ItemFailure(Reason.CORRUPT_VIDEO, _describe(exc, 0)) from None
    return VideoReader(container, stream, probe, limits)


def sample_animation(
    data: bytes, limits: Limits, seconds_per_frame: float | None = None
) -> tuple[VideoProbe, list[SampledFrame]] | None:
    """Probe and sample an animated GIF/WebP; ``None`` when it has a single frame.

    Frame *n* is the one on screen at ``n * seconds_per_frame`` (every frame when 0); ``fps``
    is frames over total duration.
    """
    spf = limits.video_seconds_per_frame if seconds_per_frame is None else seconds_per_frame
    with Image.open(io.BytesIO(data)) as im:
        count = int(getattr(im, "n_frames", 1))
        if count < 2:
            return None
        _check_size(im.width, im.height, limits)
        if count > limits.max_video_frames:
            raise ItemFailure(Reason.VIDEO_TOO_LONG, f"{count:,} frames")
        durations = []
        for frame in ImageSequence.Iterator(im):
            durations.append(max(0.0, float(frame.info.get("duration", 100) or 100)) / 1000)
        total = sum(durations)
        if total > limits.max_video_seconds:
            raise ItemFailure(Reason.VIDEO_TOO_LONG, f"{total:,.0f} s")
        probe = VideoProbe(
            duration=total,
            fps=count / total if total > 0 else 10.0,
            width=im.width,
            height=im.height,
            codec=str(im.format).lower(),
            audio=False,
        )
        starts, acc = [], 0.0
        for d in durations:
            starts.append(acc)
            acc += d
        wanted = _animation_picks(starts, total, spf)
        frames = []
        for number, t in wanted:
            im.seek(number)
            frames.append(SampledFrame(number, t, im.convert("RGB")))
        return probe, frames


def _animation_picks(starts: list[float], total: float, spf: float) -> list[tuple[int, float]]:
    """(frame number, time) of the frame on screen every ``spf`` seconds (all frames if 0)."""
    if spf <= 0 or total <= 0:
        return list(enumerate(starts))
    picks: list[tuple[int, float]] = []
    i, k = 0, 0
    while k * spf < total:
        t = k * spf
        while i + 1 < len(starts) and starts[i + 1] <= t:
            i += 1
        picks.append((i, t))
        k += 1
    return picks


def _check_size(width: int, height: int, limits: Limits) -> None:
    if max(width, height) > limits.max_dimension:
        raise ItemFailure(
            Reason.ABSURD_DIMENSIONS, f"{width}×{height} exceeds {limits.max_dimension:,} px"
        )
    if width * height > limits.max_pixels:
        raise ItemFailure(
            Reason.DECOMPRESSION_BOMB,
            f"{width * height:,} pixels per frame exceeds {limits.max_pixels:,}",
        )


def _duration(container: Any, stream: Any) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    return None


def _describe(exc: BaseException, decoded: int) -> str:
    where = f" after {decoded:,} frames" if decoded else ""
    return f"{type(exc).__name__}: {exc}"[:280] + where
