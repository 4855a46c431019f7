"""Tables and SQL for videos: ``video`` (one row per video media) and ``video_frame``.

``video`` holds what the container says (duration, fps, size, codec, audio; the contact
sheet is a derived file in the case, like thumbnails); ``video_frame`` one row per sampled
frame (vPDQ feature: frame number, timestamp, PDQ, quality), indexed by PDQ so frames are
queryable for matching.
Animated GIF/WebP images get rows here too. Written with the media in
:meth:`verisight.store.Store.write`; read back as :class:`verisight.analysis.record.VideoInfo`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from verisight.analysis.record import ItemRecord, VideoFrame, VideoInfo
from verisight.store.db import insert_ignoring_conflicts
from verisight.store.schema import Base

__all__ = [
    "Video",
    "VideoFrameRow",
    "iter_video_frames",
    "videos_for",
    "write_videos",
]

_CHUNK = 500


class Video(Base):
    """A video (or animated image) media's stream facts."""

    __tablename__ = "video"

    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(32))
    audio: Mapped[bool] = mapped_column(Boolean)
    frame_count: Mapped[int] = mapped_column(Integer)


class VideoFrameRow(Base):
    """One sampled frame's vPDQ feature."""

    __tablename__ = "video_frame"
    __table_args__ = (UniqueConstraint("media_sha256", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(
        ForeignKey("video.media_sha256", ondelete="CASCADE"), index=True
    )
    #: Frame number in decode order (vPDQ ``frame_number``).
    number: Mapped[int] = mapped_column(Integer)
    #: Seconds from the start.
    t: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    quality: Mapped[int] = mapped_column(Integer)


_VIDEO: Table = Video.__table__  # type: ignore[assignment]
_FRAME: Table = VideoFrameRow.__table__  # type: ignore[assignment]


def write_videos(conn: Connection, records: Sequence[ItemRecord]) -> None:
    """Insert the video rows of ``records`` that are not stored yet (idempotent)."""
    todo = {r.sha256: r.video for r in records if r.video is not None}
    if not todo:
        return
    shas = list(todo)
    for i in range(0, len(shas), _CHUNK):
        q = select(_VIDEO.c.media_sha256).where(_VIDEO.c.media_sha256.in_(shas[i : i + _CHUNK]))
        for (done,) in conn.execute(q):
            todo.pop(done, None)
    video_rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    for sha, info in todo.items():
        assert info is not None
        video_rows.append(
            {
                "media_sha256": sha,
                "duration": info.duration,
                "fps": info.fps,
                "width": info.width,
                "height": info.height,
                "codec": info.codec[:32],
                "audio": info.audio,
                "frame_count": len(info.frames),
            }
        )
        frame_rows.extend(
            {"media_sha256": sha, "number": f.number, "t": f.t, "pdq": f.pdq, "quality": f.quality}
            for f in info.frames
        )
    insert_ignoring_conflicts(conn, _VIDEO, video_rows, "media_sha256")
    for i in range(0, len(frame_rows), 5000):
        conn.execute(_FRAME.insert(), frame_rows[i : i + 5000])


def videos_for(conn: Connection, shas: Sequence[str]) -> dict[str, VideoInfo]:
    """The :class:`VideoInfo` of each of ``shas`` that is a video, frames in time order."""
    out: dict[str, VideoInfo] = {}
    for i in range(0, len(shas), _CHUNK):
        chunk = list(shas[i : i + _CHUNK])
        heads = {
            r.media_sha256: r
            for r in conn.execute(select(_VIDEO).where(_VIDEO.c.media_sha256.in_(chunk)))
        }
        if not heads:
            continue
        frames: dict[str, list[VideoFrame]] = {}
        q = (
            select(_FRAME)
            .where(_FRAME.c.media_sha256.in_(list(heads)))
            .order_by(_FRAME.c.media_sha256, _FRAME.c.number)
        )
        for f in conn.execute(q):
            frames.setdefault(f.media_sha256, []).append(
                VideoFrame(f.number, f._mapping["t"], f.pdq, f.quality)
            )
        for sha, h in heads.items():
            out[sha] = VideoInfo(
                duration=h.duration,
                fps=h.fps,
                width=h.width,
                height=h.height,
                codec=h.codec,
                audio=bool(h.audio),
                frames=tuple(frames.get(sha, [])),
            )
    return out


def iter_video_frames(
    conn: Connection, shas: Sequence[str] | None = None
) -> Iterator[tuple[str, VideoFrame]]:
    """(media SHA-256, frame) for stored video frames (all, or of ``shas``), by media."""
    chunks: list[list[str] | None] = (
        [None]
        if shas is None
        else [list(shas[i : i + _CHUNK]) for i in range(0, len(shas), _CHUNK)]
    )
    for chunk in chunks:
        q = select(_FRAME)
        if chunk is not None:
            q = q.where(_FRAME.c.media_sha256.in_(chunk))
        yield from _frames(conn, q.order_by(_FRAME.c.media_sha256, _FRAME.c.number))


def _frames(conn: Connection, q: Any) -> Iterator[tuple[str, VideoFrame]]:
    for f in conn.execute(q):
        yield f.media_sha256, VideoFrame(f.number, f._mapping["t"], f.pdq, f.quality)
