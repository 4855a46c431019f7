"""Videos in the analyst's room: the contact sheet's frames, and where playback may come from.

Frame stepping crops the tiles of the stored contact sheet (a JPEG grid made while hashing,
see :mod:`verisight.analysis.video`) rather than decoding the original again: it works for
archive members and missing originals too, never runs a decoder on a web request, and the
tiles go through the same shielded/revealed derivatives as images.
:func:`sheet_frame_indices` replays the sheet's choice of frames (a bounded, evenly spread
subset of the sampled frames) so each tile gets its sampled frame's timestamp.

Playback streams the original file in place, only when one sighting is a plain file whose
size still matches (:func:`playable_original`); archive and WARC members are never extracted.

Play checks the original's SHA-256 (:func:`verify_original`) and remembers the identity of the
file it hashed (:class:`FileIdentity`: device, inode, size, mtime and ctime, kept in the
``play`` audit entry). Every stream request then opens the path again with ``O_NOFOLLOW`` (a
symlink swapped in is refused), compares the opened descriptor's ``fstat`` with that identity
(:func:`open_verified`) and streams from that same descriptor. Why not hash again: a 4 GB
video on every Range request would be too slow; why this is sound: a different file at the
path has another inode, and any write to the hashed file changes its ctime, which no user can
set back; and because the bytes are read from the descriptor that was checked, a swap after
the check cannot be streamed either.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from verisight.analysis.video import SHEET_COLUMNS, SHEET_FRAMES
from verisight.store import MediaView

__all__ = [
    "PLAYABLE_KINDS",
    "FileIdentity",
    "SheetFrame",
    "VideoFacts",
    "crop_tile",
    "open_verified",
    "playable_original",
    "sheet_frame_indices",
    "verify_original",
    "video_facts",
]

#: Media kinds a browser may play (animated GIF/WebP get the contact sheet only).
PLAYABLE_KINDS = frozenset({"video"})
#: Gap between contact-sheet cells, in pixels (as drawn by the sheet renderer).
_GAP = 4


@dataclass(frozen=True)
class SheetFrame:
    """One tile of the contact sheet: its position and the sampled frame it shows."""

    index: int
    number: int
    t: float


@dataclass(frozen=True)
class VideoFacts:
    """What the item page shows about a video."""

    duration: float | None
    fps: float
    width: int
    height: int
    codec: str
    audio: bool
    sampled: int
    frames: tuple[SheetFrame, ...]
    has_sheet: bool
    #: Why playback is not offered (None: the Play action is available).
    unplayable: str | None


def sheet_frame_indices(sampled: int) -> list[int]:
    """Indices (into the sampled frames) of the frames a contact sheet of ``sampled`` shows.

    Replays :class:`verisight.analysis.video._SheetCollector`: every ``stride``-th frame is kept,
    the kept list is halved (and the stride doubled) when it reaches twice the sheet's size,
    then the sheet picks evenly among the kept frames.
    """
    stride, kept = 1, []
    for seen in range(sampled):
        if seen % stride == 0:
            kept.append(seen)
            if len(kept) >= 2 * SHEET_FRAMES:
                kept = kept[::2]
                stride *= 2
    if len(kept) <= SHEET_FRAMES:
        return kept
    last = len(kept) - 1
    return [kept[round(i * last / (SHEET_FRAMES - 1))] for i in range(SHEET_FRAMES)]


def crop_tile(sheet: Image.Image, index: int, count: int) -> Image.Image:
    """Tile ``index`` of a contact sheet holding ``count`` tiles (IndexError when outside)."""
    if not 0 <= index < count:
        raise IndexError(index)
    cols = min(SHEET_COLUMNS, count)
    rows = math.ceil(count / cols)
    cw = (sheet.width - (cols + 1) * _GAP) // cols
    ch = (sheet.height - (rows + 1) * _GAP) // rows
    if cw <= 0 or ch <= 0:
        raise IndexError(index)
    r, c = divmod(index, cols)
    x, y = _GAP + c * (cw + _GAP), _GAP + r * (ch + _GAP)
    return sheet.crop((x, y, x + cw, y + ch))


def playable_original(media: MediaView) -> tuple[Path | None, str | None]:
    """(the original file to stream, None) or (None, why playback is unavailable)."""
    if media.kind not in PLAYABLE_KINDS:
        return None, "an animated image: the contact sheet only"
    plain = [s for s in media.sightings if len(s.chain) == 1]
    if not plain:
        return None, "only seen inside archives or captures: the contact sheet only"
    for s in plain:
        path = Path(s.chain[0])
        try:
            if path.is_file() and path.stat().st_size == media.size:
                return path, None
        except OSError:
            continue
    return None, "the original file is no longer readable at its path: the contact sheet only"


def video_facts(media: MediaView, has_sheet: bool) -> VideoFacts | None:
    """What the item page shows of a video (None for a still image)."""
    v = media.video
    if v is None:
        return None
    picks = sheet_frame_indices(len(v.frames))
    _path, why = playable_original(media)
    return VideoFacts(
        duration=v.duration, fps=v.fps, width=v.width, height=v.height, codec=v.codec,
        audio=v.audio, sampled=len(v.frames),
        frames=tuple(SheetFrame(i, v.frames[k].number, v.frames[k].t)
                     for i, k in enumerate(picks)),
        has_sheet=has_sheet, unplayable=why,
    )  # fmt: skip


@dataclass(frozen=True)
class FileIdentity:
    """Which file was verified: equal identities mean the same, unmodified file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def as_list(self) -> list[int]:
        return list(astuple(self))

    @classmethod
    def from_detail(cls, value: Any) -> FileIdentity | None:
        """From an audit entry's ``file`` field (None when absent or malformed)."""
        if not isinstance(value, list) or len(value) != 5:
            return None
        if not all(isinstance(v, int) for v in value):
            return None
        return cls(*value)


def _open_plain(path: Path) -> int | None:
    """A descriptor for ``path`` if it is a regular file that is not a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def verify_original(path: Path, sha256: str) -> FileIdentity | None:
    """The identity of the file at ``path`` if its bytes have this SHA-256, else None
    (also None for a symlink, a non-regular file, or a file that changed while hashed)."""
    fd = _open_plain(path)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        before = FileIdentity.of(os.fstat(f.fileno()))
        h = hashlib.sha256()
        try:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        except OSError:
            return None
        after = FileIdentity.of(os.fstat(f.fileno()))
    return before if before == after and h.hexdigest() == sha256 else None


def open_verified(path: Path, identity: FileIdentity) -> tuple[BinaryIO, os.stat_result] | None:
    """The file at ``path``, opened, if it is still the very file verified at Play; the caller
    streams from (and closes) this file object, never from the path."""
    fd = _open_plain(path)
    if fd is None:
        return None
    st = os.fstat(fd)
    if FileIdentity.of(st) != identity:
        os.close(fd)
        return None
    return os.fdopen(fd, "rb"), st
