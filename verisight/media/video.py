"""Safe video probing and frame sampling with PyAV (FFmpeg), the way Meta's vPDQ samples.

:func:`open_video` opens a video from memory (``bytes``) or from its original path, probes it
(:class:`VideoProbe`) and checks the limits before any frame is decoded;
:meth:`VideoReader.sampled_frames` then yields one frame every ``seconds_per_frame`` seconds.
Nothing is ever written to disk: bytes are read through :class:`io.BytesIO`, paths are read
by FFmpeg in place.

Sampling follows vPDQ's ``filehasher.cpp`` exactly: the frame rate is the stream's average
frame rate (its ``r_frame_rate`` when that is unknown), ``step = int(seconds_per_frame * fps)``
(at least 1), decoded frame *n* (counting from 0 in decoder output order, which is
presentation order) is sampled when ``n % step == 0``, and its timestamp is ``n / fps``. A
sampled frame (:class:`SampledFrame`) carries FFmpeg's RGB conversion of the whole frame, at
its own size, as vPDQ hashes it.

Decoding only what is needed (:attr:`VideoReader.strategy` ``"planned"``): a demux pass (no
decoding) reads every packet's ``pts``; frame *n* is the packet whose ``pts`` ranks *n*-th.
H.264 packets whose frame is not sampled are sent with ``skip_frame = NONREF`` (FFmpeg drops
non-reference frames, mostly B-frames), sampled ones with ``DEFAULT``; reference frames always
decode, so sampled frames are bit-identical to a full decode. Packets after a group of
pictures' last sampled frame (decode order) up to the next IDR picture are not sent at all
(nothing refers back across an IDR); intra-only codecs (MJPEG, ProRes...) send only sampled
packets; HEVC drops such tails only (its ``NONREF`` pictures may serve higher temporal
layers). Every frame out of the decoder is checked against the plan by ``pts`` (skipped frames
return nothing, so counting outputs would be wrong); a surprise, a damaged (concealed) frame
or an FFmpeg error abandons the plan for a full decode (``"fallback"``) that yields only the
frames not yet yielded and reports a broken file exactly as before. The full decode
(``"full"``) is used from the start for other codecs (VP8/VP9/AV1 have hidden frames, MPEG-4
part 2 packs B-frames), packets without or with duplicate ``pts``, packets marked corrupt or
discarded (MP4 edit lists), a first packet that is not an IDR picture, more frames than the
limits allow, and sampling of every frame.

Limits (:class:`verisight.limits.Limits`): longest side and pixel count (``max_dimension``,
``max_pixels``), duration (``max_video_seconds``), frames (``max_video_frames``: every frame
of the stream counts, sampled, skipped or not) and wall-clock decode time
(``max_video_decode_seconds``, checked after every packet). A broken, truncated or hostile
file raises :class:`verisight.errors.ItemFailure` with one of the reasons ``corrupt-video``,
``truncated``, ``unsupported-video``, ``video-too-long``, ``absurd-dimensions``,
``decompression-bomb`` or ``decode-timeout``; frames already yielded stay valid.

Animated GIF and WebP are read with Pillow instead (FFmpeg cannot decode animated WebP):
:func:`sample_animation` yields the frame on screen at each sampling time.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import av.error
import numpy as np
from PIL import Image, ImageSequence

from verisight.errors import ItemFailure, Reason
from verisight.limits import Limits
from verisight.media.decode import pillow_pixel_limit

__all__ = ["SampledFrame", "VideoProbe", "VideoReader", "open_video", "sample_animation"]

# PyAV's default: FFmpeg's messages are dropped in C. Any level installs a Python callback
# that frame-decoding threads must take the GIL to call, and it deadlocks when the main
# thread holds the GIL in ``container.close()`` waiting for those threads (a broken stream
# logs from them): found by fuzzing, tests/video/test_exit_hang.py.
av.logging.set_level(None)

#: How :meth:`VideoReader.sampled_frames` decoded (module docstring).
Strategy = Literal["planned", "full", "fallback"]

# Per-packet decisions of a plan, in decode order.
_DROP = 0  # not sent to the decoder
_SKIP = 1  # sent with skip_frame NONREF (H.264) or DEFAULT
_DECODE = 2  # sent with skip_frame DEFAULT: its frame is sampled


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


class SampledFrame:
    """One sampled frame: its number in presentation order, its timestamp, its RGB pixels.

    Made from a Pillow ``image`` (animations) or from the ``(height, width, 3)`` uint8 RGB
    ``pixels`` of a decoded video frame, with that ``decoded`` PyAV frame for
    :meth:`preview`. :attr:`pixels` and :attr:`image` convert from the other on demand.
    """

    __slots__ = ("_decoded", "_image", "_pixels", "number", "t")

    def __init__(
        self,
        number: int,
        t: float,
        image: Image.Image | None = None,
        *,
        pixels: np.ndarray | None = None,
        decoded: Any = None,
    ) -> None:
        if image is None and pixels is None:
            raise ValueError("a sampled frame needs an image or pixels")
        self.number = number
        self.t = t
        self._image = image
        self._pixels = pixels
        self._decoded = decoded

    def __repr__(self) -> str:
        return f"SampledFrame(number={self.number}, t={self.t:g})"

    @property
    def pixels(self) -> np.ndarray:
        """The frame as a ``(height, width, 3)`` uint8 RGB array (what vPDQ hashes)."""
        if self._pixels is not None:
            return self._pixels
        assert self._image is not None
        image = self._image
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))

    @property
    def image(self) -> Image.Image:
        """The frame as an RGB Pillow image."""
        if self._image is not None:
            return self._image if self._image.mode == "RGB" else self._image.convert("RGB")
        return Image.fromarray(self.pixels, "RGB")

    def preview(self, side: int) -> Image.Image:
        """A small RGB copy whose longest side is at most ``side`` (contact sheets).

        Cheap: a decoded video frame is scaled by FFmpeg (area averaging) straight from its
        decoded planes; an image is box-reduced by Pillow, then thumbnailed.
        """
        if self._decoded is not None:
            frame = self._decoded
            w, h = int(frame.width), int(frame.height)
            scale = min(1.0, side / max(w, h))
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = frame.reformat(
                width=size[0], height=size[1], format="rgb24", interpolation="AREA"
            )
            return _plane_image(small)
        image = self.image
        factor = max(1, max(image.size) // (2 * side))
        small = image.reduce(factor) if factor > 1 else image.copy()
        small.thumbnail((side, side), Image.Resampling.BILINEAR)
        return small


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to send to the decoder: ``pts`` and a decision per packet in decode order."""

    pts: list[int]
    decisions: bytearray
    #: Frame number (presentation order) of each ``pts``.
    rank: dict[int, int]
    #: Index of the last packet to send.
    last: int
    #: Whether skipped packets are sent with ``skip_frame = NONREF``.
    nonref: bool
    #: Timestamp (stream time base) to seek to for the first packet.
    first_ts: int


class _PlanMismatch(Exception):
    """The decoder did not behave as the plan expects; decode everything instead."""


class VideoReader:
    """An open video; use as a context manager. Create with :func:`open_video`."""

    def __init__(
        self,
        container: Any,
        stream: Any,
        probe: VideoProbe,
        limits: Limits,
        source: bytes | Path,
        threads: int | None,
    ) -> None:
        self._container = container
        self._stream = stream
        self.probe = probe
        self._limits = limits
        self._source = source
        self._threads = threads
        #: Frames the decoder returned so far (sampled or not; skipped frames do not count).
        self.decoded = 0
        #: How the last :meth:`sampled_frames` decoded: ``"planned"`` (only what sampling
        #: needs), ``"full"`` (every frame) or ``"fallback"`` (a plan abandoned part-way).
        self.strategy: Strategy = "full"
        self._demuxed = False

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def sampled_frames(
        self, seconds_per_frame: float | None = None, *, plan: bool = True
    ) -> Iterator[SampledFrame]:
        """Decode the video and yield every ``seconds_per_frame``-th second's frame (vPDQ).

        ``0`` samples every frame. ``plan=False`` decodes every frame (the reference the
        planned decode is tested against). Call once per reader. Raises
        :class:`ItemFailure` when a limit trips or the stream is broken; frames yielded
        before that are valid.
        """
        spf = (
            self._limits.video_seconds_per_frame if seconds_per_frame is None else seconds_per_frame
        )
        if spf < 0:
            raise ValueError("seconds_per_frame must be ≥ 0")
        step = max(1, int(spf * self.probe.fps))
        deadline = time.monotonic() + self._limits.max_video_decode_seconds
        todo = self._plan(step, deadline) if plan and step > 1 else None
        if self._demuxed and (todo is None or not self._rewind(todo.first_ts)):
            self._fresh_container()
        start = 0
        if todo is not None:
            self.strategy = "planned"
            try:
                for frame in self._decode_planned(todo, step, deadline):
                    start = frame.number + 1
                    yield frame
                return
            except _PlanMismatch:
                self.strategy = "fallback"
                self._fresh_container()
        yield from self._decode_all(step, deadline, start)

    def _decode_all(self, step: int, deadline: float, start: int) -> Iterator[SampledFrame]:
        """Decode every frame; yield frames ``n ≥ start`` with ``n % step == 0``."""
        fps = self.probe.fps
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
                _check_deadline(deadline, self._limits, n)
                if n % step == 0 and n >= start:
                    _check_size(frame.width, frame.height, self._limits)
                    yield _sampled(frame, n, fps)
        except av.error.FFmpegError as exc:
            reason = (
                Reason.TRUNCATED if isinstance(exc, av.error.EOFError) else Reason.CORRUPT_VIDEO
            )
            raise ItemFailure(reason, _describe(exc, self.decoded)) from None

    def _plan(self, step: int, deadline: float) -> _Plan | None:
        """Demux (no decoding) and plan what to decode; ``None`` when a full decode is due."""
        ctx = self._stream.codec_context
        name = str(ctx.name)
        nal = _NAL.get(name)
        if nal is None and not ctx.codec.intra_only:
            return None
        size = _nal_length_size(name, bytes(ctx.extradata or b""))
        cap = min(
            self._limits.max_video_frames,
            int(self._limits.max_video_seconds * self.probe.fps) + 1,
        )
        pts: list[int] = []
        idr = bytearray()  # 1: an IDR picture (or any intra-only frame)
        params = bytearray()  # 1: the packet carries parameter sets
        first_ts = 0
        try:
            self._demuxed = True
            for packet in self._container.demux(self._stream):
                if not packet.size:
                    continue
                if (
                    packet.pts is None
                    or packet.is_discard
                    or packet.is_corrupt
                    or len(pts) >= cap
                    or (len(pts) % 256 == 0 and time.monotonic() > deadline)
                ):
                    return None
                if not pts:
                    first_ts = int(packet.pts if packet.dts is None else packet.dts)
                pts.append(int(packet.pts))
                if nal is None:
                    if not packet.is_keyframe:
                        return None
                    idr.append(1)
                    params.append(0)
                else:
                    is_idr, has_params = nal.access_unit(packet, size)
                    idr.append(is_idr)
                    params.append(has_params)
        except av.error.FFmpegError:
            return None
        if not pts or not idr[0] or len(set(pts)) != len(pts):
            return None
        order = sorted(range(len(pts)), key=pts.__getitem__)
        rank = {pts[j]: r for r, j in enumerate(order)}
        if max(j - rank[p] for j, p in enumerate(pts)) > ctx.reorder_depth:
            return None  # the decoder would find out the reordering late, dropping frames
        decisions = bytearray(len(pts))
        ahead = False  # a sampled frame follows in this group of pictures
        for j in range(len(pts) - 1, -1, -1):
            if rank[pts[j]] % step == 0:
                decisions[j] = _DECODE
                ahead = True
            elif ahead or params[j]:
                decisions[j] = _SKIP
                ahead = True  # keep what precedes a parameter set decodable
            if idr[j]:
                ahead = False
        last = max(j for j, d in enumerate(decisions) if d == _DECODE)
        return _Plan(pts, decisions, rank, last, nonref=name == "h264", first_ts=first_ts)

    def _decode_planned(self, plan: _Plan, step: int, deadline: float) -> Iterator[SampledFrame]:
        """Decode what ``plan`` says; raise :class:`_PlanMismatch` on any surprise."""
        fps = self.probe.fps
        ctx = self._stream.codec_context
        total = len(plan.pts)
        rank = plan.rank
        expected = 0  # frame number of the next sampled frame
        previous = -1  # frame number of the last frame out of the decoder

        def check(frame: Any) -> bool:
            """Whether ``frame`` is the next sampled one; raise if it breaks the plan."""
            nonlocal expected, previous
            n = rank.get(frame.pts, -1) if frame.pts is not None else -1
            if n <= previous or n > expected:
                raise _PlanMismatch(f"frame pts {frame.pts} out of plan")
            if frame.is_corrupt:  # concealment may depend on frames the plan skipped
                raise _PlanMismatch(f"frame {n} is damaged")
            previous = n
            self.decoded += 1
            if n < expected:
                return False
            expected += step
            _check_size(frame.width, frame.height, self._limits)
            return True

        mode = ""
        try:
            packets = (p for p in self._container.demux(self._stream) if p.size)
            for j, packet in enumerate(packets):
                if j > plan.last or expected >= total:
                    break
                if packet.pts != plan.pts[j]:
                    raise _PlanMismatch(f"packet {j} pts {packet.pts}, planned {plan.pts[j]}")
                decision = plan.decisions[j]
                if decision == _DROP:
                    continue
                _check_deadline(deadline, self._limits, previous + 1)
                want = "NONREF" if decision == _SKIP and plan.nonref else "DEFAULT"
                if want != mode:
                    ctx.skip_frame = mode = want
                for frame in ctx.decode(packet):
                    if check(frame):
                        yield _sampled(frame, previous, fps)
            if expected < total:
                for frame in ctx.decode(None):
                    if check(frame):
                        yield _sampled(frame, previous, fps)
        except av.error.FFmpegError as exc:
            raise _PlanMismatch(str(exc)) from None
        if expected < total:
            raise _PlanMismatch(f"frame {expected} never came out of the decoder")

    def _rewind(self, ts: int) -> bool:
        """Seek back to the first packet (checked packet by packet by the planned decode)."""
        try:
            self._container.seek(ts, backward=True, stream=self._stream)
        except av.error.FFmpegError:
            return False
        self._demuxed = False
        return True

    def _fresh_container(self) -> None:
        """Replace the container by the same video opened afresh, at its start."""
        self._container.close()
        src = self._source
        try:
            self._container = av.open(
                io.BytesIO(src) if isinstance(src, bytes) else str(src),
                mode="r",
                metadata_errors="ignore",
            )
        except av.error.FFmpegError as exc:
            raise ItemFailure(Reason.CORRUPT_VIDEO, _describe(exc, 0)) from None
        self._stream = self._container.streams.video[0]
        _configure_threads(self._stream, self._threads)
        self._demuxed = False
        self.decoded = 0


def open_video(source: bytes | Path, limits: Limits, *, threads: int | None = None) -> VideoReader:
    """Open and probe ``source`` (bytes in memory, or a path read in place); check limits.

    ``threads``: decoding threads (``None``: FFmpeg chooses, one per core; ``1``: no
    threading). Raises :class:`ItemFailure` when the file is not a readable video or breaks
    a limit.
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
        if ctx is None:  # a codec FFmpeg does not know (e.g. an unknown MP4 sample entry)
            raise ItemFailure(Reason.UNSUPPORTED_VIDEO, "no decoder for the video stream's codec")
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
        _configure_threads(stream, threads)
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
    return VideoReader(container, stream, probe, limits, source, threads)


def sample_animation(
    data: bytes, limits: Limits, seconds_per_frame: float | None = None
) -> tuple[VideoProbe, Iterator[SampledFrame]] | None:
    """Probe an animated GIF/WebP and sample it lazily; ``None`` when it has a single frame.

    Frame *n* is the one on screen at ``n * seconds_per_frame`` (every frame when 0); ``fps``
    is frames over total duration. The frames come one at a time, and a frame that stays on
    screen for several samples is converted once and shared by them: a few hundred bytes of
    GIF can hold two frames shown for hours, which must cost two frames of memory, not one
    copy per sampled second.
    """
    spf = limits.video_seconds_per_frame if seconds_per_frame is None else seconds_per_frame
    im = Image.open(io.BytesIO(data))
    try:
        try:  # Pillow parses every frame header here; a malformed one raises what it likes
            count = int(getattr(im, "n_frames", 1))
        except Exception as exc:
            raise _animation_failure(exc) from None
        if count < 2:
            im.close()
            return None
        _check_size(im.width, im.height, limits)
        if count > limits.max_video_frames:
            raise ItemFailure(Reason.VIDEO_TOO_LONG, f"{count:,} frames")
        durations = []
        try:  # every frame is reached here once, under the pixel limit
            with pillow_pixel_limit(limits):
                for frame in ImageSequence.Iterator(im):
                    duration = float(frame.info.get("duration", 100) or 100)
                    durations.append(max(0.0, duration) / 1000)
        except Image.DecompressionBombError as exc:  # a frame grows the canvas past the limit
            raise ItemFailure(Reason.DECOMPRESSION_BOMB, str(exc)[:300]) from None
        except Exception as exc:
            raise _animation_failure(exc) from None
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
    except BaseException:
        im.close()
        raise
    starts, acc = [], 0.0
    for d in durations:
        starts.append(acc)
        acc += d
    return probe, _animation_frames(im, _animation_picks(starts, total, spf))


def _animation_failure(exc: Exception) -> ItemFailure:
    """Pillow's error for a malformed animation frame (found by fuzzing: a GIF cut inside a
    frame header raises IndexError from ``n_frames``), as the item failure it means."""
    if isinstance(exc, ItemFailure):
        return exc
    cut = isinstance(exc, EOFError | struct.error | IndexError)
    reason = Reason.TRUNCATED if cut else Reason.CORRUPT_IMAGE
    return ItemFailure(reason, f"animation: {type(exc).__name__}: {exc}"[:300])


def _animation_frames(im: Image.Image, wanted: list[tuple[int, float]]) -> Iterator[SampledFrame]:
    """The picked frames of the open animation ``im``, one at a time (closes ``im``)."""
    with im:
        number, image = -1, None
        for pick, t in wanted:
            if pick != number or image is None:
                try:
                    im.seek(pick)
                    number, image = pick, im.convert("RGB")
                except Exception as exc:
                    raise _animation_failure(exc) from None
            yield SampledFrame(number, t, image)


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


def _configure_threads(stream: Any, threads: int | None) -> None:
    if threads is not None:
        stream.codec_context.thread_count = max(1, threads)
    stream.thread_type = "AUTO"


def _sampled(frame: Any, n: int, fps: float) -> SampledFrame:
    """Sampled frame ``n`` from the decoded ``frame``: its full-size RGB pixels.

    ``frame.to_ndarray(format="rgb24")`` is FFmpeg's conversion at the frame's own size, the
    pixels vPDQ hashes (a view of the converted plane, rows padded to its line size).
    """
    pixels = frame.to_ndarray(format="rgb24")
    return SampledFrame(n, n / fps, pixels=pixels, decoded=frame)


def _plane_image(rgb: Any) -> Image.Image:
    """``rgb.to_image()`` of an rgb24 frame, pixel for pixel, without its row-by-row copy."""
    plane = rgb.planes[0]
    if plane.line_size <= 0:
        return rgb.to_image()  # type: ignore[no-any-return]
    size = (plane.width, plane.height)
    return Image.frombytes("RGB", size, plane, "raw", "RGB", plane.line_size, 1)


@dataclass(frozen=True, slots=True)
class _NalSyntax:
    """Where a codec's NAL unit header keeps the unit's type, and the types that matter."""

    shift: int
    mask: int
    vcl: range
    idr: frozenset[int]
    params: frozenset[int]

    def access_unit(self, packet: Any, length_size: int) -> tuple[int, int]:
        """(1 if the packet's picture is an IDR picture, 1 if parameter sets precede it).

        Unreadable packets count as not IDR, with parameter sets (both the safe answer).
        """
        data = memoryview(packet)
        units = _length_prefixed(data, length_size) if length_size else _annex_b(bytes(data))
        params = 0
        for header in units:
            kind = (header >> self.shift) & self.mask
            if kind in self.vcl:
                return int(kind in self.idr), params
            params |= kind in self.params
        return 0, 1


_NAL = {
    "h264": _NalSyntax(0, 0x1F, range(1, 6), frozenset({5}), frozenset({7, 8, 13, 15})),
    "hevc": _NalSyntax(1, 0x3F, range(0, 32), frozenset({19, 20}), frozenset({32, 33, 34})),
}


def _nal_length_size(codec: str, extradata: bytes) -> int:
    """Bytes of each NAL unit's length prefix (avcC / hvcC), 0 for start codes (Annex B)."""
    if extradata[:1] != b"\x01":
        return 0
    if codec == "h264" and len(extradata) >= 7:
        return (extradata[4] & 3) + 1
    if codec == "hevc" and len(extradata) >= 23:
        return (extradata[21] & 3) + 1
    return 0


def _length_prefixed(data: memoryview, size: int) -> Iterator[int]:
    """The first byte of each length-prefixed NAL unit in ``data``."""
    pos, end = 0, len(data)
    while pos + size < end:
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        if length <= 0 or pos + length > end:
            return
        yield data[pos]
        pos += length


def _annex_b(data: bytes) -> Iterator[int]:
    """The first byte of each start-code-prefixed NAL unit in ``data``."""
    pos = data.find(b"\x00\x00\x01")
    while 0 <= pos < len(data) - 3:
        yield data[pos + 3]
        pos = data.find(b"\x00\x00\x01", pos + 3)


def _check_deadline(deadline: float, limits: Limits, frames: int) -> None:
    if time.monotonic() > deadline:
        raise ItemFailure(
            Reason.DECODE_TIMEOUT,
            f"decoding took over {limits.max_video_decode_seconds:g} s ({frames:,} frames)",
        )


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
