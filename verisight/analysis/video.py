"""vPDQ-compatible video hashing: PDQ of sampled frames, plus a contact sheet.

:func:`hash_video` samples frames as Meta's vPDQ does (see :mod:`verisight.media.video`) and
hashes each exactly as vPDQ does: PDQ of the whole decoded RGB frame at its own size (no
reduction), the quality stored being PDQ's from the same computation. The hashing is
:func:`verisight.analysis._pdq_full.pdq_full`, a numba port of Meta's C++ that returns exactly
what :func:`verisight.analysis.pdq.pdq_from_pixels` (the ``pdqhash`` reference) returns, bit for
bit, in about a fifteenth of its time on a 720p frame. A frame's hash therefore equals
``vpdq``'s for the same frame (``bench/video_hash.py`` checks it against Meta's ``vpdq``
package), so Verisight's frame hashes and vPDQ lists made elsewhere are interchangeable. Animated
GIF/WebP frames (:func:`hash_animation`) are hashed the same way.

Why not the image path (:func:`~verisight.analysis.pdq.pdq_input`, a phase-corrected reduction to
512 px before hashing)? It only approximates full-resolution PDQ: on 720p footage 11 of 30
frames came out identical to ``vpdq`` (mean distance 1.5, max 4). Frames still match image
banks: a still image of a frame goes through the image path, whose hash stays a few bits from
the frame's (well inside the match threshold, 31), which is what that reduction is built for.

Every sampled frame is kept (vPDQ's hasher keeps them all too). Collapsing duplicates is
done where vPDQ does it, when matching: :func:`collapse` is python-threatexchange's
``dedupe`` (first occurrence of each exact hash kept, any position) and
:func:`quality_filter` its quality filter (≥ 50 by default).

The contact sheet is a JPEG grid of up to :data:`SHEET_FRAMES` frames spread evenly over the
video, made from small copies kept while decoding (memory stays bounded for any length). A
copy is made only for a frame the sheet may show, by a cheap reduction
(:meth:`~verisight.media.video.SampledFrame.preview`: FFmpeg scales the decoded frame straight
to the cell size); nothing is written to disk.

Speed: :func:`hash_video` decodes only the frames sampling needs plus their references (see
:mod:`verisight.media.video`); per sampled frame the cost is the RGB conversion and the
full-resolution hash (about 1.6 ms at 720p). Decoding is now most of the time.
``bench/video_hash.py`` measures it against ``vpdq``. The hashing kernel is compiled on first
use (cached on disk; numba is imported only then, so image-only runs do not load it).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from verisight.analysis.record import VideoFrame, VideoInfo
from verisight.errors import ItemFailure
from verisight.limits import Limits

if TYPE_CHECKING:  # Pillow and PyAV load on use: the bank readers import this module's filters
    from PIL import Image

    from verisight.media.video import SampledFrame, VideoProbe

__all__ = [
    "SHEET_FRAMES",
    "VideoHashResult",
    "collapse",
    "frame_feature",
    "hash_animation",
    "hash_video",
    "quality_filter",
]

#: Frames on a contact sheet (at most), in a grid of :data:`SHEET_COLUMNS` columns.
SHEET_FRAMES = 16
SHEET_COLUMNS = 4
#: Width of one contact-sheet cell, in pixels.
SHEET_CELL = 192
#: vPDQ's quality threshold for matching (python-threatexchange ``VPDQ_QUALITY_THRESHOLD``).
VPDQ_QUALITY_THRESHOLD = 50


class VideoHashResult:
    """A hashed video: :attr:`info`, :attr:`contact_sheet`, :attr:`poster` and :attr:`error`.

    ``error`` is the failure that stopped decoding part-way (frames before it are kept).
    """

    __slots__ = ("contact_sheet", "error", "info", "poster")

    def __init__(
        self,
        info: VideoInfo,
        contact_sheet: bytes | None,
        poster: Image.Image | None,
        error: ItemFailure | None,
    ) -> None:
        self.info = info
        self.contact_sheet = contact_sheet
        self.poster = poster
        self.error = error


def frame_feature(frame: SampledFrame) -> VideoFrame:
    """The vPDQ feature of one sampled frame: PDQ (and its quality) of the whole frame.

    Bit for bit :func:`verisight.analysis.pdq.pdq_from_pixels` of :attr:`SampledFrame.pixels`.
    """
    from verisight.analysis._pdq_full import pdq_full  # numba loads on first use only

    pdq, quality = pdq_full(frame.pixels)
    return VideoFrame(frame.number, frame.t, pdq, quality)


def hash_video(
    source: bytes | Path,
    limits: Limits,
    seconds_per_frame: float | None = None,
    *,
    threads: int | None = None,
) -> VideoHashResult:
    """Probe, sample and hash a video from memory or its path.

    ``threads``: decoding threads (``None``: FFmpeg's choice, one per core). Raises
    :class:`ItemFailure` when the video cannot be opened or breaks a limit before any
    frame; a failure part-way is returned in :attr:`VideoHashResult.error`.
    """
    from verisight.media.video import open_video

    with open_video(source, limits, threads=threads) as reader:
        sheet = _SheetCollector()
        frames: list[VideoFrame] = []
        error: ItemFailure | None = None
        try:
            for sampled in reader.sampled_frames(seconds_per_frame):
                frames.append(frame_feature(sampled))
                sheet.add(sampled)
        except ItemFailure as failure:
            error = failure
        probe = reader.probe
    if not frames and error is not None:
        raise error
    return _result(probe, frames, sheet, error)


def hash_animation(
    data: bytes, limits: Limits, seconds_per_frame: float | None = None
) -> VideoHashResult | None:
    """Hash an animated GIF/WebP like a video; ``None`` when it is a still image."""
    from verisight.media.video import sample_animation

    sampled = sample_animation(data, limits, seconds_per_frame)
    if sampled is None:
        return None
    probe, picks = sampled
    sheet = _SheetCollector()
    frames = []
    features: dict[int, VideoFrame] = {}  # a frame on screen for several samples: hash once
    for frame in picks:
        feature = features.get(frame.number)
        if feature is None:
            feature = features[frame.number] = frame_feature(frame)
        frames.append(dataclasses.replace(feature, t=frame.t))
        sheet.add(frame)
    return _result(probe, frames, sheet, None)


def collapse(frames: Iterable[VideoFrame]) -> list[VideoFrame]:
    """python-threatexchange's vPDQ ``dedupe``: keep the first frame of each exact hash."""
    seen: set[str] = set()
    out = []
    for f in frames:
        if f.pdq not in seen:
            seen.add(f.pdq)
            out.append(f)
    return out


def quality_filter(
    frames: Iterable[VideoFrame], threshold: int = VPDQ_QUALITY_THRESHOLD
) -> list[VideoFrame]:
    """Frames whose quality is at least ``threshold`` (vPDQ's matching filter)."""
    return [f for f in frames if f.quality >= threshold]


def _result(
    probe: VideoProbe, frames: list[VideoFrame], sheet: _SheetCollector, error: ItemFailure | None
) -> VideoHashResult:
    info = VideoInfo(
        duration=probe.duration,
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        codec=probe.codec,
        audio=probe.audio,
        frames=tuple(frames),
    )
    return VideoHashResult(info, sheet.render(), sheet.poster(), error)


class _SheetCollector:
    """Keeps small copies of a bounded, evenly spread subset of the sampled frames."""

    def __init__(self) -> None:
        self._stride = 1
        self._seen = 0
        self._kept: list[Image.Image] = []

    def add(self, frame: SampledFrame) -> None:
        """Keep a small copy of ``frame`` (:meth:`SampledFrame.preview`) if the sheet may
        show it; other frames cost nothing."""
        if self._seen % self._stride == 0:
            self._kept.append(frame.preview(SHEET_CELL))
            if len(self._kept) >= 2 * SHEET_FRAMES:
                self._kept = self._kept[::2]
                self._stride *= 2
        self._seen += 1

    def picks(self) -> Sequence[Image.Image]:
        kept = self._kept
        if len(kept) <= SHEET_FRAMES:
            return kept
        return [kept[round(i * (len(kept) - 1) / (SHEET_FRAMES - 1))] for i in range(SHEET_FRAMES)]

    def poster(self) -> Image.Image | None:
        """The middle kept frame (a representative still for the thumbnail)."""
        return self._kept[len(self._kept) // 2] if self._kept else None

    def render(self) -> bytes | None:
        cells = self.picks()
        if not cells:
            return None
        cols = min(SHEET_COLUMNS, len(cells))
        rows = math.ceil(len(cells) / cols)
        cw = max(c.width for c in cells)
        ch = max(c.height for c in cells)
        from PIL import Image

        sheet = Image.new("RGB", (cols * cw + (cols + 1) * 4, rows * ch + (rows + 1) * 4))
        for i, cell in enumerate(cells):
            r, c = divmod(i, cols)
            sheet.paste(cell, (4 + c * (cw + 4), 4 + r * (ch + 4)))
        out = io.BytesIO()
        sheet.save(out, "JPEG", quality=80)
        return out.getvalue()
