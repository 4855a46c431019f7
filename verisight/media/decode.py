"""Safe image decoding under :class:`~verisight.limits.Limits`.

Decoding is done in two steps so that nothing expensive happens before the limits are
checked:

1. :func:`read_header` opens the image lazily (Pillow only parses the header) and refuses
   absurd dimensions (:attr:`Reason.ABSURD_DIMENSIONS`) and decompression bombs
   (:attr:`Reason.DECOMPRESSION_BOMB`) before a single pixel is decoded.
2. :func:`decode_image` decodes the first frame into 8-bit ``RGB`` (or ``L`` for greyscale)
   in its *stored* orientation (EXIF orientation is reported, never applied). When the caller
   only needs a smaller image (``draft_side``), JPEGs are decoded reduced by libjpeg's DCT
   scaling (:meth:`PIL.Image.Image.draft`: 1/2, 1/4 or 1/8) while the longest side stays
   ≥ ``draft_side``, so a 12-megapixel photo is never decoded at full size.
   (HEIF is the exception to "stored orientation": libheif always applies the container's
   rotation and mirroring boxes, which are part of the HEIF image, and pillow_heif then reports
   EXIF orientation 1.)

Every failure is an :class:`~verisight.errors.ItemFailure` (:class:`DecodeFailure`) with a stable
reason: ``truncated``, ``corrupt-image``, ``unsupported-image``, ``decompression-bomb``,
``absurd-dimensions``. No Pillow exception escapes.

Only content that :func:`~verisight.media.sniff.sniff` recognised as an image is decoded, and only
by the Pillow plugin for the sniffed format (a file is never parsed by a decoder chosen by
guessing). Pillow's own ``MAX_IMAGE_PIXELS`` check is switched off because our limits
replace it; ``LOAD_TRUNCATED_IMAGES`` is never touched.

Metadata never costs the pixels: Pillow refuses a PNG whose text chunks (tEXt/zTXt/iTXt)
pass its memory limits (a zTXt that inflates past ``PngImagePlugin.MAX_TEXT_CHUNK``, 1 MiB,
or all text past ``MAX_TEXT_MEMORY``) — about 1 KiB added to a file would otherwise hide it
from hashing. Such a PNG is decoded again without its text chunks (which hold no pixels);
the limits stay as they are, and provenance reads the text with its own limits, recording
a parse error for a chunk it refuses.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from verisight.errors import ItemFailure, Reason
from verisight.limits import Limits
from verisight.media.sniff import SNIFF_BYTES, sniff

try:  # HEIC/HEIF through libheif; without it HEIC items fail as unsupported-image.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except Exception:  # pragma: no cover - depends on the installation
    HEIF_AVAILABLE = False

# Our Limits (max_pixels, max_dimension) are checked on the header before any decoding;
# Pillow's global check would otherwise refuse images our limits allow (or warn on them).
Image.MAX_IMAGE_PIXELS = None
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@contextmanager
def pillow_pixel_limit(limits: Limits) -> Iterator[None]:
    """Let Pillow's own check enforce ``limits.max_pixels`` where no header tells the size:
    a GIF frame placed far outside the logical screen grows the canvas when it is reached
    (fuzzing found a 663-byte GIF whose second frame asked for 356 million pixels). Pillow
    raises past twice its ``MAX_IMAGE_PIXELS``, hence the half. Only around code that walks
    frames: elsewhere our header checks run first and give the more precise reason."""
    Image.MAX_IMAGE_PIXELS = max(1, limits.max_pixels // 2)
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = None


# Pillow warns (rather than fails) on damaged metadata; in a scan of millions of files these
# are noise. The pixels and the failure reasons are what matter.
for _message in (
    r"Corrupt EXIF data",
    r"Possibly corrupt EXIF",
    r"Palette images with Transparency",
    r"Image appears to be a malformed MPO",
    r"Metadata Warning",
):
    warnings.filterwarnings("ignore", message=_message, category=UserWarning)

#: Pillow plugins allowed for each sniffed image MIME type.
FORMATS_BY_MIME: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG",),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
    "image/bmp": ("BMP",),
    "image/tiff": ("TIFF",),
    "image/heic": ("HEIF",),
    "image/heic-sequence": ("HEIF",),
    "image/heif": ("HEIF", "AVIF"),
    "image/heif-sequence": ("HEIF",),
    "image/avif": ("AVIF", "HEIF"),
}

_ISOBMFF_MIMES = frozenset(
    m for m, fmts in FORMATS_BY_MIME.items() if "HEIF" in fmts or "AVIF" in fmts
)

#: Words in decoder messages that mean "the data stops too early".
_TRUNCATION_HINTS = (
    "truncated",
    "premature end",
    "unexpected end",
    "end of file",
    "insufficient input",
    "not enough data",
    "eof",
)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What the header says, before any pixel is decoded."""

    #: Pillow's format name, e.g. "JPEG", "PNG", "MPO", "HEIF", "AVIF".
    format: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """The first frame of an image, decoded (and possibly reduced) in stored orientation."""

    header: ImageHeader
    #: 8-bit pixels, mode "RGB" or "L" (alpha dropped, palettes expanded, 16-bit scaled).
    image: Image.Image
    #: The original image's extent in ``image``'s pixel units: ``image.size`` normally,
    #: ``(width / s, height / s)`` after DCT scaling by 1/s (the last row and column of a
    #: reduced image may be partly padding).
    extent: tuple[float, float]
    #: The image's EXIF (Pillow also maps an XMP ``tiff:Orientation``), or None if unreadable.
    exif: Image.Exif | None


class DecodeFailure(ItemFailure):
    """An :class:`ItemFailure` that also carries the header when it could be read."""

    def __init__(self, reason: Reason, detail: str, header: ImageHeader | None = None) -> None:
        super().__init__(reason, detail)
        self.header = header


def read_header(data: bytes, limits: Limits, mime: str | None = None) -> ImageHeader:
    """Parse the header of ``data`` and check it against ``limits`` without decoding."""
    try:
        with _OpenedImage(data, limits, mime) as (_, header):
            return header
    except DecodeFailure as failure:
        pixels_only = _png_without_text(data, failure)
        if pixels_only is None:
            raise
        with _OpenedImage(pixels_only, limits, "image/png") as (_, header):
            return header


def decode_image(
    data: bytes,
    limits: Limits,
    *,
    mime: str | None = None,
    draft_side: int | None = None,
) -> DecodedImage:
    """Decode the first frame of ``data`` into 8-bit RGB or L, refusing it if over ``limits``.

    ``mime`` is the sniffed type (sniffed here when not given). With ``draft_side``, a JPEG
    may be decoded reduced, its longest side staying ≥ ``draft_side``.

    Raises :class:`DecodeFailure` for any problem with the content.
    """
    try:
        return _decode_image(data, limits, mime, draft_side)
    except DecodeFailure as failure:
        pixels_only = _png_without_text(data, failure)
        if pixels_only is None:
            raise
        return _decode_image(pixels_only, limits, "image/png", draft_side)


#: Pillow's messages for PNG text chunks over its memory limits (PngImagePlugin).
_PNG_TEXT_LIMITS = (
    "MAX_TEXT_CHUNK",
    "MAX_TEXT_MEMORY",
    "Decompressed Data Too Large",
    "Too much memory used in text chunks",
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def _png_without_text(data: bytes, failure: DecodeFailure) -> bytes | None:
    """``data`` without its text chunks, when ``failure`` is Pillow refusing those chunks
    (else None). The chunks are copied as they are, CRCs included."""
    if not data.startswith(_PNG_SIGNATURE) or not any(
        m in failure.error.detail for m in _PNG_TEXT_LIMITS
    ):
        return None
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        if data[pos + 4 : pos + 8] not in _PNG_TEXT_CHUNKS:
            out += data[pos:end]
        pos = end
    return bytes(out)


def _decode_image(
    data: bytes, limits: Limits, mime: str | None, draft_side: int | None
) -> DecodedImage:
    opened = _OpenedImage(data, limits, mime, keep=True)
    with opened as (im, header):
        extent: tuple[float, float] = (float(header.width), float(header.height))
        if draft_side is not None and header.format in ("JPEG", "MPO"):
            extent = _draft_jpeg(im, header, draft_side)
        try:
            im.load()
        except Exception as exc:
            reason = _classify(exc, data, opened.mime)
            raise DecodeFailure(reason, _describe(exc), header) from None
        try:
            exif: Image.Exif | None = im.getexif()
        except Exception:
            exif = None
        try:
            pixels = _to_8bit(im)
        except DecodeFailure as failure:
            raise DecodeFailure(failure.error.reason, failure.error.detail, header) from None
        except Exception as exc:
            raise DecodeFailure(Reason.CORRUPT_IMAGE, _describe(exc), header) from None
    return DecodedImage(header=header, image=pixels, extent=extent, exif=exif)


class _OpenedImage:
    """Context manager: the lazily opened image and its checked header."""

    def __init__(self, data: bytes, limits: Limits, mime: str | None, keep: bool = False) -> None:
        self.data = data
        #: Leave the image open on success (it reads from memory: nothing to release, and
        #: closing would free the pixels the caller is given).
        self.keep = keep
        self.limits = limits
        self.mime = mime if mime is not None else sniff(data[:SNIFF_BYTES]).mime
        self.im: Image.Image | None = None

    def __enter__(self) -> tuple[Image.Image, ImageHeader]:
        formats = FORMATS_BY_MIME.get(self.mime)
        if formats is None:
            raise DecodeFailure(Reason.UNSUPPORTED_IMAGE, f"not a decodable image ({self.mime})")
        Image.init()
        available = [f for f in formats if f in Image.OPEN]
        if not available:
            raise DecodeFailure(
                Reason.UNSUPPORTED_IMAGE,
                f"no decoder for {self.mime} in this installation",
            )
        try:
            self.im = Image.open(io.BytesIO(self.data), formats=available)
        except UnidentifiedImageError:
            exc = _diagnose_open(self.data, available)
            reason = _classify(exc, self.data, self.mime) if exc else Reason.CORRUPT_IMAGE
            detail = _describe(exc) if exc else f"{self.mime} header not understood"
            raise DecodeFailure(reason, detail) from None
        except Exception as exc:
            raise DecodeFailure(_classify(exc, self.data, self.mime), _describe(exc)) from None
        im = self.im
        width, height = im.size
        header = ImageHeader(format=im.format or available[0], width=width, height=height)
        _check_limits(header, self.limits)
        return im, header

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if self.im is not None and (exc_type is not None or not self.keep):
            self.im.close()


def _check_limits(header: ImageHeader, limits: Limits) -> None:
    w, h = header.width, header.height
    if w <= 0 or h <= 0:
        raise DecodeFailure(Reason.CORRUPT_IMAGE, f"header gives an empty size {w}×{h}", header)
    if max(w, h) > limits.max_dimension:
        raise DecodeFailure(
            Reason.ABSURD_DIMENSIONS,
            f"{w}×{h}: a side exceeds the limit of {limits.max_dimension} px",
            header,
        )
    if w * h > limits.max_pixels:
        raise DecodeFailure(
            Reason.DECOMPRESSION_BOMB,
            f"{w}×{h} = {w * h:,} pixels exceeds the limit of {limits.max_pixels:,}",
            header,
        )


def _draft_jpeg(im: Image.Image, header: ImageHeader, side: int) -> tuple[float, float]:
    """Ask libjpeg for the largest DCT reduction keeping the longest side ≥ ``side``."""
    w, h = header.width, header.height
    full = (float(w), float(h))
    if max(w, h) <= side:
        return full
    # draft() picks scale = min(w // box_w, h // box_h) (then 8, 4, 2 or 1): giving the
    # short side proportionally (rounded down) lets the long side decide, and the output
    # (ceil(side / scale)) keeps the long side ≥ ``side``.
    box = (side, max(1, side * h // w)) if w >= h else (max(1, side * w // h), side)
    try:
        result = im.draft("RGB", box)
    except Exception:  # draft is an optimisation only; decode at full size instead
        return full
    if result is None:
        return full
    _, (_, _, ext_w, ext_h) = result
    return (float(ext_w), float(ext_h))


def _to_8bit(im: Image.Image) -> Image.Image:
    """8-bit "L" or "RGB": alpha dropped (as the reference PDQ does), palettes expanded."""
    mode = im.mode
    if mode in ("RGB", "L"):
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(im)))
    if mode in ("LA", "La"):
        return im.getchannel(0)
    if mode == "1":
        return im.convert("L")
    try:
        return im.convert("RGB")
    except ValueError as exc:
        raise DecodeFailure(
            Reason.UNSUPPORTED_IMAGE, f"pixel mode {mode} cannot be converted: {exc}"
        ) from None


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Map 16-bit, 32-bit integer and float greyscale to 8 bits (scaling, not clipping)."""
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if arr.size and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    wide = arr.astype(np.int64)
    if arr.dtype.itemsize == 2 or (wide.size and int(wide.max()) > 255):
        return (np.clip(wide, 0, 65535) >> 8).astype(np.uint8)
    return np.clip(wide, 0, 255).astype(np.uint8)


def _diagnose_open(data: bytes, formats: list[str]) -> Exception | None:
    """Re-run the format's plugin directly to learn *why* Pillow could not identify it."""
    for fmt in formats:
        factory = Image.OPEN[fmt][0]
        try:
            factory(io.BytesIO(data), "").close()
        except Exception as exc:
            return exc
    return None


def _classify(exc: BaseException, data: bytes, mime: str | None) -> Reason:
    """Map a decoder exception to a reason code."""
    if isinstance(exc, Image.DecompressionBombError):
        return Reason.DECOMPRESSION_BOMB
    for e in (exc, exc.__cause__, exc.__context__):
        if isinstance(e, EOFError | struct.error):
            return Reason.TRUNCATED
    message = str(exc).lower()
    if any(hint in message for hint in _TRUNCATION_HINTS):
        return Reason.TRUNCATED
    if "decoder" in message and "not available" in message:
        return Reason.UNSUPPORTED_IMAGE
    if mime is not None and _cut_short(data, mime):
        return Reason.TRUNCATED
    return Reason.CORRUPT_IMAGE


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown decoder error"
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


def _cut_short(data: bytes, mime: str) -> bool:
    """True when the container structure says the data stops before it should."""
    try:
        if mime == "image/png":
            return _png_cut_short(data)
        if mime == "image/webp":
            (riff_size,) = struct.unpack_from("<I", data, 4)
            return bool(riff_size + 8 > len(data))
        if mime in _ISOBMFF_MIMES:
            return _bmff_cut_short(data)
    except struct.error:
        return True
    return False


def _png_cut_short(data: bytes) -> bool:
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if not ctype.isalpha():
            return False  # garbage, not a cut
        if ctype == b"IEND":
            return False
        pos += 12 + length
    return True  # ran out of data before IEND


def _bmff_cut_short(data: bytes) -> bool:
    pos = 0
    while pos + 8 <= len(data):
        size, btype = struct.unpack_from(">I4s", data, pos)
        if not all(32 <= b < 127 for b in btype):
            return False
        if size == 1:
            if pos + 16 > len(data):
                return True
            (size,) = struct.unpack_from(">Q", data, pos + 8)
        elif size == 0:
            return False  # box runs to the end of the file
        if size < 8:
            return False
        pos += size
    return pos > len(data)
