"""Signals for the platform API: the signal and content types it speaks, validating and
comparing signals, and hashing an upload under the scan limits.

Signal types: ``pdq``, ``video_md5`` (the MD5 of a video file), ``md5``, ``sha1``, ``sha256``
and ``vpdq`` (HMA's JSON list of ``"<pdq hex>,<quality>,<seconds>"``). Content types, as in HMA:
``photo`` and ``video``. An upload that is not what its content type says, or that is corrupt,
truncated, a bomb or over the limits, raises :class:`BadUpload` with the reason; nothing here
raises anything else for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from verisight.analysis import analyse_bytes
from verisight.analysis.pdq import hamming
from verisight.analysis.record import ItemRecord, VideoFrame
from verisight.banking import VARIANTS
from verisight.errors import UsageError
from verisight.limits import Limits
from verisight.matching.errors import InvalidInputError
from verisight.matching.signals import PDQ_THRESHOLD, HashType, validate_signal_str
from verisight.matching.vpdq import match_videos

#: The signal types the API speaks, HMA's first.
SIGNAL_TYPES = ("pdq", "video_md5", "md5", "sha1", "sha256", "vpdq")
#: HMA's content types and the signal types each yields.
CONTENT_TYPES = {
    "photo": ("pdq", "md5", "sha1", "sha256"),
    "video": ("video_md5", "vpdq", "md5", "sha1", "sha256"),
}
EXACT = {"md5": "md5", "video_md5": "md5", "sha1": "sha1", "sha256": "sha256"}


class BadSignal(UsageError):
    """An unknown signal type, or a value that is not one of its hashes."""


class BadUpload(UsageError):
    """An upload that cannot be hashed as the content type it was sent as."""


def parse_vpdq(value: str) -> list[VideoFrame]:
    """HMA's vPDQ signal: a JSON list of ``"<pdq hex>,<quality>,<seconds>"`` strings."""
    try:
        items = json.loads(value or "[]")
        if not isinstance(items, list):
            raise ValueError("not a JSON list")
        frames = []
        for i, item in enumerate(items):
            pdq, quality, t = str(item).split(",")
            frames.append(
                VideoFrame(i, float(t), validate_signal_str(HashType.PDQ, pdq), int(quality))
            )
    except (ValueError, InvalidInputError) as exc:
        raise BadSignal(f"invalid vpdq signal: {exc}") from exc
    return frames


def format_vpdq(frames: Sequence[VideoFrame]) -> str:
    return json.dumps([f"{f.pdq},{f.quality},{f.t:.3f}" for f in frames])


def validate_signal(signal_type: str, value: str) -> str:
    """The canonical form of ``value`` as ``signal_type``, or :class:`BadSignal`."""
    if signal_type not in SIGNAL_TYPES:
        raise BadSignal(f"No such SignalType '{signal_type}'")
    if signal_type == "vpdq":
        return format_vpdq(parse_vpdq(value))
    try:
        return validate_signal_str(HashType(EXACT.get(signal_type, signal_type)), value)
    except InvalidInputError as exc:
        raise BadSignal(f"invalid signal: {exc}") from exc


def compare(signal_type: str, left: str, right: str) -> tuple[bool, dict[str, Any]]:
    """HMA's ``/m/compare`` for one type: (match, similarity info)."""
    a, b = validate_signal(signal_type, left), validate_signal(signal_type, right)
    if signal_type == "pdq":
        d = hamming(a, b)
        return d <= PDQ_THRESHOLD, {"distance": d}
    if signal_type == "vpdq":
        found = list(match_videos({"a": parse_vpdq(a)}, {(0, "b"): parse_vpdq(b)}))
        if not found:
            return False, {"query_match_percent": 0.0, "compared_match_percent": 0.0}
        s = found[0][2]
        return True, {
            "query_match_percent": s.query_percent,
            "compared_match_percent": s.compared_percent,
        }
    return a == b, {}


def hash_content(
    data: bytes,
    content_type: str,
    limits: Limits,
    *,
    rotations: bool = False,
    quality: bool = False,
) -> dict[str, str]:
    """Hash an upload of HMA content type ``photo`` or ``video``; :class:`BadUpload` when the
    bytes are not that, or are corrupt, truncated, a bomb or over the limits.

    ``rotations`` adds a photo's other dihedral PDQs as ``pdq_rotate90``…; ``quality`` adds
    ``pdq_quality`` (neither is a signal type: callers drop them before answering)."""
    if content_type not in CONTENT_TYPES:
        raise BadUpload(f"no such content_type: '{content_type}'")
    if not data:
        raise BadUpload("the uploaded file is empty")
    record = analyse_bytes(data, limits)
    out = _signals(record, content_type, rotations)
    if quality and record.pdq_quality is not None and "pdq" in out:
        out["pdq_quality"] = str(record.pdq_quality)
    return out


def _signals(record: ItemRecord, content_type: str, rotations: bool) -> dict[str, str]:
    want = "image" if content_type == "photo" else "video"
    if record.kind != want and not (want == "video" and record.video is not None):
        raise BadUpload(
            f"the {content_type} upload is not {'an image' if want == 'image' else 'a video'} "
            f"(detected {record.mime})"
        )
    if record.error is not None:
        raise BadUpload(f"cannot hash the {content_type}: {record.error.reason.value}: "
                        f"{record.error.detail}")  # fmt: skip
    out = {"md5": record.md5, "sha1": record.sha1, "sha256": record.sha256}
    if content_type == "photo":
        if record.pdq is None:
            raise BadUpload("the image is too small or too uniform to hash")
        out = {"pdq": record.pdq, **out}
        if rotations and record.pdq_variants:
            for name, h in zip(VARIANTS[1:], record.pdq_variants, strict=False):
                out[f"pdq_{name}"] = h
    else:
        frames = record.video.frames if record.video is not None else []
        out = {"video_md5": record.md5, "vpdq": format_vpdq(frames), **out}
    return out
