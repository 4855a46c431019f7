"""The result of analysing one item's bytes: :class:`ItemRecord`."""

from __future__ import annotations

from dataclasses import dataclass

from verisight.analysis.provenance.model import ProvenanceReport
from verisight.errors import ItemError


@dataclass(frozen=True, slots=True)
class Camera:
    """Camera EXIF: evidence (not proof) of a real capture."""

    make: str | None
    model: str | None
    #: DateTimeOriginal as written in EXIF, normalised to ISO 8601 ("2011-07-30T15:41:25").
    taken: str | None


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One sampled video frame's vPDQ feature: PDQ of the frame at ``t`` seconds."""

    #: Frame number in decode order (vPDQ's ``frame_number``).
    number: int
    #: Timestamp in seconds (``number / fps``, as vPDQ computes it).
    t: float
    #: PDQ, 64 lowercase hex, of the decoded frame (the same hash an image of it would get).
    pdq: str
    quality: int


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Video facts and vPDQ frame hashes (videos and animated GIF/WebP)."""

    duration: float | None
    fps: float
    width: int
    height: int
    codec: str
    audio: bool
    #: Every sampled frame, in time order (nothing collapsed: vPDQ keeps them all too).
    frames: tuple[VideoFrame, ...]


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """Everything :func:`verisight.analysis.analyse_bytes` learns from one item's bytes.

    Crypto hashes and size are always present (any readable content has them). Image fields
    are ``None`` for non-images. ``error`` is set when the content is bad (corrupt image,
    bomb, empty file...): the hashes still identify the bytes.
    """

    sha256: str
    md5: str
    sha1: str
    size: int
    #: MIME type sniffed from content, e.g. "image/jpeg", "application/zip",
    #: "application/octet-stream" when unknown.
    mime: str
    #: "image" | "video" | "archive" | "warc" | "other"
    kind: str
    #: Decoder's format name, e.g. "JPEG", "PNG", "HEIF".
    format: str | None = None
    width: int | None = None
    height: int | None = None
    #: PDQ hash, 64 lowercase hex chars, of the pixels in their stored orientation.
    pdq: str | None = None
    #: PDQ quality 0–100 (hashes with quality < 50 are weak; kept, never dropped).
    pdq_quality: int | None = None
    #: PDQ of the 7 other rotations/flips, in Meta's dihedral order (rotate90, rotate180,
    #: rotate270, flipX, flipY, flipPlus1, flipMinus1), derived from the same DCT.
    pdq_variants: tuple[str, ...] | None = None
    #: PDQ of the content inside a uniform frame (a screenshot border, letterbox...), when
    #: the image has one (see :func:`verisight.analysis.pdq.frame_box`) and the hash is not weak.
    pdq_trimmed: str | None = None
    #: 64×64 luminance of the pixels PDQ hashed (:func:`verisight.analysis.luma.luma_grid`),
    #: kept so that crops can be recognised when clustering.
    luma_grid: bytes | None = None
    #: EXIF Orientation tag (1–8) as recorded; pixels are hashed as stored regardless.
    exif_orientation: int | None = None
    camera: Camera | None = None
    error: ItemError | None = None
    #: JPEG thumbnail bytes, longest side ≤ 256 px, for images that decoded.
    thumbnail: bytes | None = None
    #: AI provenance signals, verdict and evidence (images only, decoded or not; see
    #: :mod:`verisight.analysis.provenance`). None for non-images and files hashed only.
    provenance: ProvenanceReport | None = None
    #: Score (0–1) of the user-supplied ONNX detector, when a scan runs one.
    detector_score: float | None = None
    #: Video facts and frame hashes, for videos and animated images (None otherwise).
    video: VideoInfo | None = None
    #: JPEG contact sheet (grid of up to 16 sampled frames) for videos and animations.
    contact_sheet: bytes | None = None
