""" "Stealth" metadata: generation parameters hidden in the least-significant bits of pixels.

Written by the AUTOMATIC1111 ``stealth_pnginfo`` extension (also NovelAI and SwarmUI). The bit
stream is read **column by column** (x outer, y inner, as the extension writes it), from:

* ``alpha`` mode: the LSB of the alpha channel, one bit per pixel; signatures
  ``stealth_pnginfo`` (UTF-8 text) and ``stealth_pngcomp`` (gzip);
* ``rgb`` mode: the LSBs of R, G and B, three bits per pixel; signatures ``stealth_rgbinfo``
  and ``stealth_rgbcomp``.

Layout: the 15-byte signature (120 bits), a 32-bit big-endian payload length **in bits**, then
the payload. Only lossless pixels can carry it: PNG, and WebP with a VP8L bitstream.

WebP has no cheap check (its lossless bitstream cannot be decoded a few pixels at a time), so
only lossless WebP *with an alpha channel* is decoded and read (both modes); RGB-mode payloads
in lossless WebP without alpha are not looked for.

Cheap check first: writers produce 8-bit RGB or RGBA PNGs, and only those are read. For a
non-interlaced one, only the first 16 IDAT rows are inflated and only the first pixel column(s)
unfiltered (PNG filters reconstruct a pixel from pixels to its left and above, so the leftmost
columns never need the rest of the row), and the first 16 bits must spell ``st``. The whole
image is decoded only then, or for an interlaced PNG (Adam7 spreads the first column over every
pass), and never past ``max_stealth_pixels``; payloads are cut at ``max_stealth_bytes``.
"""

from __future__ import annotations

import io
import json
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from verisight.analysis.provenance.containers import Container, PngLayout, TextEntry, inflate
from verisight.analysis.provenance.limits import ProvenanceLimits
from verisight.analysis.provenance.model import ParseProblem

SIGNATURES: dict[bytes, tuple[str, bool]] = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_SIG_BITS = 120
#: The cheap check reads this many bits (of the alpha, or RGB, stream) before decoding more.
_PREFIX_BITS = 16
_LEN_BITS = 32
_BPP = {2: 3, 6: 4}  # PNG colour type → bytes per pixel (8-bit RGB, RGBA)
_SLICE = 1 << 16


@dataclass(frozen=True, slots=True)
class StealthResult:
    entries: tuple[TextEntry, ...]
    problems: tuple[ParseProblem, ...]


class _Refused(Exception):
    pass


def read_stealth(data: bytes, box: Container, limits: ProvenanceLimits) -> StealthResult:
    """The stealth payload of ``data`` as text entries (empty when there is none)."""
    where = "PNG" if box.png is not None else "WebP"
    try:
        return _read(data, box, limits)
    except _Refused as exc:
        return StealthResult((), (ParseProblem(f"{where} LSB stealth", str(exc)),))
    except Exception as exc:  # damaged pixel data: a problem, not a crash
        msg = f"{type(exc).__name__}: {exc}"[:300]
        return StealthResult((), (ParseProblem(f"{where} LSB stealth", msg),))


def _read(data: bytes, box: Container, limits: ProvenanceLimits) -> StealthResult:
    png = box.png
    if png is not None:
        if png.color_type not in _BPP or png.bit_depth != 8 or png.width <= 0 or png.height <= 0:
            return StealthResult((), ())  # writers use 8-bit RGB(A): nothing else is read
        if png.interlace == 0 and not _starts_like_signature(_png_head(data, png, _PREFIX_BITS)):
            return StealthResult((), ())
    elif not (box.webp_lossless and box.webp_alpha):
        return StealthResult((), ())
    pixels = _decode(data, limits)
    found = _signature(pixels)
    if found is None:
        return StealthResult((), ())
    sig, mode, compressed = found
    return _payload(pixels, sig, mode, compressed, "PNG" if png else "WebP", limits)


def _signature(pixels: np.ndarray) -> tuple[bytes, str, bool] | None:
    """The signature at the start of the alpha or RGB bit stream, if any."""
    h = pixels.shape[0]
    if pixels.shape[2] == 4:
        bits = _bits(pixels, "alpha", _SIG_BITS, h)
        if bits is not None:
            sig = np.packbits(bits).tobytes()
            if sig in SIGNATURES and SIGNATURES[sig][0] == "alpha":
                return sig, "alpha", SIGNATURES[sig][1]
    bits = _bits(pixels, "rgb", _SIG_BITS, h)
    if bits is not None:
        sig = np.packbits(bits).tobytes()
        if sig in SIGNATURES and SIGNATURES[sig][0] == "rgb":
            return sig, "rgb", SIGNATURES[sig][1]
    return None


def _bits(pixels: np.ndarray, mode: str, count: int, height: int) -> np.ndarray | None:
    """The first ``count`` bits of the column-major LSB stream, or None if there are fewer."""
    per_pixel = 1 if mode == "alpha" else 3
    npix = -(-count // per_pixel)
    cols = -(-npix // height)
    if cols > pixels.shape[1] or (cols == 1 and npix > pixels.shape[0]):
        return None
    region = pixels[: min(height, npix) if cols == 1 else height, :cols]
    if mode == "alpha":
        stream = region[:, :, 3].T.reshape(-1)
    else:
        stream = region[:, :, :3].transpose(1, 0, 2).reshape(-1)
    if stream.size < count:
        return None
    return (stream[:count] & 1).astype(np.uint8)


def _payload(
    pixels: np.ndarray, sig: bytes, mode: str, compressed: bool, fmt: str, limits: ProvenanceLimits
) -> StealthResult:
    source = f"{fmt} {mode} LSB ({sig.decode()})"
    h = pixels.shape[0]
    head = _bits(pixels, mode, _SIG_BITS + _LEN_BITS, h)
    if head is None:
        return StealthResult((), (ParseProblem(source, "image too small for a length field"),))
    nbits = int.from_bytes(np.packbits(head[_SIG_BITS:]).tobytes(), "big")
    capacity = pixels.shape[0] * pixels.shape[1] * (1 if mode == "alpha" else 3)
    if nbits % 8 or nbits <= 0:
        return StealthResult((), (ParseProblem(source, f"invalid payload length {nbits} bits"),))
    if nbits > 8 * limits.max_stealth_bytes:
        msg = f"payload of {nbits // 8:,} bytes exceeds {limits.max_stealth_bytes:,}; not read"
        return StealthResult((), (ParseProblem(source, msg),))
    if _SIG_BITS + _LEN_BITS + nbits > capacity:
        msg = f"payload length {nbits // 8:,} bytes runs past the image"
        return StealthResult((), (ParseProblem(source, msg),))
    bits = _bits(pixels, mode, _SIG_BITS + _LEN_BITS + nbits, h)
    assert bits is not None
    raw = np.packbits(bits[_SIG_BITS + _LEN_BITS :]).tobytes()
    problems: list[ParseProblem] = []
    if compressed:
        try:
            raw = inflate(raw, limits.max_stealth_bytes, gzip=True)
        except (ValueError, zlib.error) as exc:
            return StealthResult((), (ParseProblem(source, f"gzip payload: {exc}"),))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(ParseProblem(source, f"payload is not UTF-8: {exc.reason}"))
        text = raw.decode("utf-8", "replace")
    return StealthResult(tuple(_entries(text, source)), tuple(problems))


def _entries(text: str, source: str) -> list[TextEntry]:
    """A JSON object payload (NovelAI, SwarmUI) becomes one entry per key; text is A1111's."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            if "sui_image_params" in obj:
                return [TextEntry("parameters", stripped, source)]
            return [
                TextEntry(str(k), v if isinstance(v, str) else json.dumps(v), source)
                for k, v in obj.items()
            ]
    return [TextEntry("parameters", text, source)]


def _starts_like_signature(head: np.ndarray) -> bool:
    """Do the first bits of the alpha or RGB stream spell ``st`` (every signature's start)?"""
    prefix = b"stealth_"[: _PREFIX_BITS // 8]
    h = head.shape[0]
    for mode in ("alpha", "rgb") if head.shape[2] == 4 else ("rgb",):
        bits = _bits(head, mode, _PREFIX_BITS, h)
        if bits is not None and np.packbits(bits).tobytes() == prefix:
            return True
    return False


def _png_head(data: bytes, png: PngLayout, nbits: int) -> np.ndarray:
    """The top-left pixels holding the first ``nbits`` of the alpha stream, unfiltered.

    That is the first ``min(height, nbits)`` rows of the first column(s); it also covers the
    first ``nbits`` of the RGB stream (three bits per pixel).
    """
    bpp = _BPP[png.color_type]
    w, h = png.width, png.height
    rows = min(h, nbits)
    cols = min(w, -(-nbits // h))
    stride = 1 + w * bpp
    need = rows * stride
    d = zlib.decompressobj()
    out = bytearray()
    view = memoryview(data)
    for off, length in png.idat:
        for p in range(off, off + length, _SLICE):
            out += d.decompress(view[p : min(p + _SLICE, off + length)], need - len(out))
            if len(out) >= need:
                break
        if len(out) >= need:
            break
    rows = min(rows, len(out) // stride)
    width = cols * bpp
    prev = [0] * width
    region: list[list[int]] = []
    for r in range(rows):
        base = r * stride
        ftype = out[base]
        cur = list(out[base + 1 : base + 1 + width])
        for i in range(width):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            if ftype == 1:
                cur[i] = (cur[i] + a) & 255
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 255
            elif ftype == 3:
                cur[i] = (cur[i] + ((a + b) >> 1)) & 255
            elif ftype == 4:
                c = prev[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + _paeth(a, b, c)) & 255
            elif ftype != 0:
                raise ValueError(f"invalid PNG filter type {ftype} in row {r}")
        region.append(cur)
        prev = cur
    return np.array(region, dtype=np.uint8).reshape(rows, cols, bpp)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _decode(data: bytes, limits: ProvenanceLimits) -> np.ndarray:
    """The whole image as RGBA or RGB pixels (height, width, 3|4), under the pixel limit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data), formats=["PNG", "WEBP"]) as im:
            if im.width * im.height > limits.max_stealth_pixels:
                raise _Refused(
                    f"{im.width}×{im.height} exceeds {limits.max_stealth_pixels:,} pixels; "
                    "stealth payload not read"
                )
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            mode = "RGBA" if has_alpha else "RGB"
            return np.asarray(im if im.mode == mode else im.convert(mode))
