"""vPDQ: Meta's video format and scoring, compatible with the ``vpdq`` tools and pytx.

**Format.** Meta's ``vpdq-hash-video`` writes one file per video, one line per sampled
frame: ``frame_number,quality,hash,timestamp`` (e.g. ``25,100,<64 hex>,1.000``).
:func:`parse_vpdq_lines` reads such a file as bank entries (one per frame; the video is
identified by ``source_id``, the file name's stem unless given) and :func:`format_vpdq_line`
writes one back.

**Scoring** (python-threatexchange ``vpdq_brute_matcher``): both videos' frames are
de-duplicated (first of each exact hash kept) and filtered by quality (≥ 50); a frame
matches when some frame of the other video is within distance 31; the score is the share of
query frames matched and the share of the compared video's frames matched, in percent. A
video matches when the query share is ≥ 80 and the compared share ≥ 0 (pytx defaults).
Frames form an unordered bag: order and timing do not matter, so trims, re-encodes and
resizes of the same footage still score high.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from verisight.analysis.record import VideoFrame
from verisight.analysis.video import VPDQ_QUALITY_THRESHOLD, collapse, quality_filter
from verisight.matching.entry import BankEntry
from verisight.matching.errors import InvalidInputError, Location

__all__ = [
    "VPDQ_COMPARED_MATCH_PERCENT",
    "VPDQ_DISTANCE_THRESHOLD",
    "VPDQ_QUERY_MATCH_PERCENT",
    "VpdqScore",
    "format_vpdq_line",
    "is_vpdq_line",
    "parse_vpdq_lines",
    "score",
]

#: A frame matches a frame of the other video at this PDQ distance or less (pytx default).
VPDQ_DISTANCE_THRESHOLD = 31
#: Share of the query video's frames that must match (pytx default).
VPDQ_QUERY_MATCH_PERCENT = 80.0
#: Share of the compared (bank) video's frames that must match (pytx default).
VPDQ_COMPARED_MATCH_PERCENT = 0.0

_LINE = re.compile(r"^\s*(\d+)\s*,\s*(\d{1,3})\s*,\s*([0-9a-fA-F]{64})\s*,\s*([0-9.eE+-]+)\s*$")
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
#: NumPy ≥ 2 counts bits in machine words; older NumPy uses the byte table above.
_BITWISE_COUNT = getattr(np, "bitwise_count", None)
#: Query × bank frame pairs compared in one block by :func:`match_videos`.
_BLOCK_PAIRS = 1 << 20


@dataclass(frozen=True, slots=True)
class VpdqScore:
    """How much of each video the other one covers, in percent (0–100)."""

    query_percent: float
    compared_percent: float

    def matches(
        self,
        query_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
        compared_threshold: float = VPDQ_COMPARED_MATCH_PERCENT,
    ) -> bool:
        """Whether both shares reach their thresholds (pytx compares with ``>=``)."""
        return self.query_percent >= query_threshold and self.compared_percent >= compared_threshold


def score(
    query: Sequence[VideoFrame],
    compared: Sequence[VideoFrame],
    *,
    distance: int = VPDQ_DISTANCE_THRESHOLD,
    quality: int = VPDQ_QUALITY_THRESHOLD,
) -> VpdqScore:
    """vPDQ's brute-force score of ``query`` against ``compared`` (module docstring)."""
    q = quality_filter(collapse(query), quality)
    c = quality_filter(collapse(compared), quality)
    if not q or not c:
        return VpdqScore(0.0, 0.0)
    d = distances(_pack(f.pdq for f in q), _pack(f.pdq for f in c))
    close = d <= distance
    return VpdqScore(
        100.0 * int(close.any(axis=1).sum()) / len(q),
        100.0 * int(close.any(axis=0).sum()) / len(c),
    )


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between every row of ``a`` (n, 32) and of ``b`` (m, 32) uint8."""
    out = np.empty((len(a), len(b)), dtype=np.uint16)
    if _BITWISE_COUNT is not None and len(a) and len(b):
        # One 64-bit word of every pair at a time: (rows, m) arrays, contiguous.
        a64 = np.ascontiguousarray(a).view(np.uint64).T.copy()
        b64 = np.ascontiguousarray(b).view(np.uint64).T.copy()
        step = max(1, (1 << 18) // len(b))
        for i in range(0, len(a), step):
            acc = out[i : i + step]
            acc[:] = 0
            for w in range(4):
                acc += _BITWISE_COUNT(a64[w, i : i + step, None] ^ b64[w, None, :])
        return out
    step = max(1, 65536 // max(1, len(b)))
    for i in range(0, len(a), step):
        x = np.bitwise_xor(a[i : i + step, None, :], b[None, :, :])
        out[i : i + step] = _POPCOUNT[x].sum(axis=2, dtype=np.uint16)
    return out


def is_vpdq_line(line: str) -> bool:
    """Whether ``line`` looks like a vPDQ ``frame_number,quality,hash,timestamp`` line."""
    return _LINE.match(line) is not None


def parse_vpdq_lines(
    lines: Iterable[str], *, source: str, video_id: str | None = None
) -> Iterator[BankEntry | InvalidInputError]:
    """Bank entries, one per frame line, all with ``source_id`` = the video's identifier."""
    vid = video_id or PurePath(source).stem or source
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(source, lineno)
        m = _LINE.match(line)
        if m is None:
            yield InvalidInputError("not a vPDQ line (frame_number,quality,hash,timestamp)").at(
                where
            )
            continue
        number, qual, pdq, ts = int(m[1]), int(m[2]), m[3].lower(), float(m[4])
        if qual > 100 or not math.isfinite(ts) or ts < 0:
            yield InvalidInputError(f"bad quality or timestamp in {line!r}").at(where)
            continue
        yield BankEntry(
            pdq=pdq,
            pdq_quality=qual,
            source_id=vid,
            frame=number,
            timestamp=ts,
            location=where,
        )


def format_vpdq_line(frame: VideoFrame) -> str:
    """One vPDQ line, as Meta's ``vpdq-hash-video`` writes it (timestamp to 3 decimals)."""
    return f"{frame.number},{frame.quality},{frame.pdq},{frame.t:.3f}"


def frames_of(entries: Iterable[BankEntry]) -> dict[str, list[VideoFrame]]:
    """Bank entries that are vPDQ frames, grouped into videos by ``source_id``."""
    out: dict[str, list[VideoFrame]] = {}
    for e in entries:
        if e.frame is None or e.pdq is None or e.source_id is None:
            continue
        out.setdefault(e.source_id, []).append(
            VideoFrame(e.frame, e.timestamp or 0.0, e.pdq, e.pdq_quality or 0)
        )
    return out


def match_videos(
    media: dict[str, list[VideoFrame]],
    bank_videos: dict[tuple[int, str], list[VideoFrame]],
    *,
    query_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
    compared_threshold: float = VPDQ_COMPARED_MATCH_PERCENT,
    distance: int = VPDQ_DISTANCE_THRESHOLD,
) -> Iterator[tuple[str, tuple[int, str], VpdqScore]]:
    """(media, bank video key, score) for every media video that matches a bank video.

    The same scores, in the same order, as :func:`score` on every pair; each video is
    de-duplicated, filtered and packed once, and each media video is compared with many bank
    videos' frames at a time (blocks of about :data:`_BLOCK_PAIRS` frame pairs).
    """
    keys = list(bank_videos)
    bank = [_usable(bank_videos[k]) for k in keys]
    nothing = VpdqScore(0.0, 0.0)
    for sha, frames in media.items():
        query = _usable(frames)
        scores = _scores(query, bank, distance) if len(query) else {}
        for i, key in enumerate(keys):
            s = scores.get(i, nothing)
            if s.matches(query_threshold, compared_threshold):
                yield sha, key, s


def _usable(frames: Sequence[VideoFrame]) -> np.ndarray:
    """The frames :func:`score` compares (collapsed, quality-filtered), packed (n, 32)."""
    kept = quality_filter(collapse(frames), VPDQ_QUALITY_THRESHOLD)
    return _pack(f.pdq for f in kept) if kept else np.empty((0, 32), np.uint8)


def _scores(query: np.ndarray, bank: list[np.ndarray], distance: int) -> dict[int, VpdqScore]:
    """:func:`score` of ``query`` against each non-empty ``bank`` video, by position."""
    out: dict[int, VpdqScore] = {}
    per_block = max(1, _BLOCK_PAIRS // len(query))
    block: list[int] = []
    width = 0
    for i in [*(i for i, b in enumerate(bank) if len(b)), -1]:
        if block and (i < 0 or width + len(bank[i]) > per_block):
            sizes = np.array([len(bank[j]) for j in block])
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            close = distances(query, np.concatenate([bank[j] for j in block])) <= distance
            rows = np.logical_or.reduceat(close, starts, axis=1).sum(axis=0)
            cols = np.add.reduceat(close.any(axis=0), starts)
            for j, r, c, n in zip(block, rows.tolist(), cols.tolist(), sizes.tolist(), strict=True):
                out[j] = VpdqScore(100.0 * r / len(query), 100.0 * c / n)
            block, width = [], 0
        if i >= 0:
            block.append(i)
            width += len(bank[i])
    return out


def _pack(hexes: Iterable[str]) -> np.ndarray:
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)
