"""Walk an image container's structure and collect the metadata blocks provenance needs.

Cheap and bounded: chunks and segments are stepped over by their length fields; only the blocks
that matter (text chunks, EXIF, XMP, the C2PA box) are sliced, each under
:class:`~verisight.analysis.provenance.limits.ProvenanceLimits`. A block over its limit is skipped
and recorded, never read. Pixels are never decoded here.

=========  ============================================================================
format     what is collected
=========  ============================================================================
PNG        tEXt / zTXt / iTXt (keyword → text), eXIf, iTXt ``XML:com.adobe.xmp``, ``caBX``
           (C2PA), IHDR and the IDAT spans (for the stealth reader)
JPEG       APP1 Exif, APP1 XMP, APP11 JUMBF whose description box is labelled ``c2pa``, COM
WebP       ``EXIF``, ``XMP ``, ``C2PA`` chunks; VP8L (lossless) and whether there is alpha
TIFF       IFD0 tags XMP (700) and C2PA (52545); the file itself is the EXIF block
HEIF/AVIF  top-level ``uuid`` box with the C2PA UUID (EXIF comes from the decoder)
MP4/MOV    top-level ``uuid`` box with the C2PA UUID, found by :func:`find_bmff_c2pa` from the
           box headers alone (seeking over each box, so a large video is never read)
=========  ============================================================================

Presence of a C2PA store is decided from this structure, never from a byte search (an XMP
packet that merely mentions ``c2pa`` or ``jumb`` is not a manifest).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from verisight.analysis.provenance.limits import ProvenanceLimits
from verisight.analysis.provenance.model import ParseProblem

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_EXIF_JPEG = b"Exif\x00\x00"
#: JUMBF description box type UUID of a C2PA manifest store ("c2pa" + ISO suffix).
_C2PA_JUMD_UUID = bytes.fromhex("6332706100110010800000AA00389B71")
#: ``uuid`` box user type of a C2PA manifest store in ISO BMFF (``C2PA_UUID`` in c2pa-rs's
#: ``bmff_io.rs``: d8fec3d6-1b0e-483c-9297-5828877ec481).
_C2PA_BMFF_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")
#: Video MIME types that are ISO BMFF files (the ones :func:`find_bmff_c2pa` walks).
BMFF_VIDEO_MIMES = frozenset({"video/mp4", "video/quicktime", "video/x-m4v", "video/3gpp"})
_TIFF_XMP = 700
_TIFF_C2PA = 52545


@dataclass(frozen=True, slots=True)
class TextEntry:
    """One keyed text found in the file (a PNG text chunk, a decoded EXIF field, ...)."""

    key: str
    value: str
    #: Human-readable location, e.g. "PNG tEXt parameters", "EXIF UserComment".
    source: str


@dataclass(frozen=True, slots=True)
class PngLayout:
    """What the stealth reader needs to find the first pixel columns without decoding."""

    width: int
    height: int
    bit_depth: int
    color_type: int
    interlace: int
    #: (offset, length) of each IDAT chunk's data.
    idat: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Container:
    """The metadata blocks of one file (built by :func:`read_container`)."""

    mime: str
    texts: list[TextEntry] = field(default_factory=list)
    exif: bytes | None = None
    exif_source: str = "EXIF"
    xmp: list[tuple[bytes, str]] = field(default_factory=list)
    #: Where the C2PA manifest store box is, e.g. "JPEG APP11 JUMBF"; None when absent.
    c2pa_box: str | None = None
    png: PngLayout | None = None
    #: WebP with a VP8L (lossless) bitstream: LSB payloads survive there.
    webp_lossless: bool = False
    #: WebP with an alpha channel (VP8X flag, or the VP8L header's alpha bit).
    webp_alpha: bool = False
    problems: list[ParseProblem] = field(default_factory=list)
    text_bytes: int = 0

    def problem(self, source: str, message: str) -> None:
        self.problems.append(ParseProblem(source, message))


def read_container(data: bytes, mime: str, limits: ProvenanceLimits) -> Container:
    """Collect the metadata blocks of ``data`` (sniffed as ``mime``); never raises."""
    box = Container(mime=mime)
    try:
        if mime == "image/png" and data.startswith(_PNG_SIG):
            _walk_png(data, box, limits)
        elif mime == "image/jpeg":
            _walk_jpeg(data, box, limits)
        elif mime == "image/webp":
            _walk_webp(data, box, limits)
        elif mime == "image/tiff":
            _walk_tiff(data, box, limits)
        elif mime.startswith(("image/hei", "image/avif")):
            _walk_bmff(data, box, limits)
    except (struct.error, IndexError, ValueError) as exc:  # a malformed structure
        box.problem(_fmt(mime), f"container structure unreadable: {exc}"[:300])
    return box


def _fmt(mime: str) -> str:
    return mime.split("/")[-1].upper()


def _take_text(box: Container, size: int, source: str, limits: ProvenanceLimits) -> bool:
    """Reserve ``size`` bytes of the text budget; record why not when it is exhausted."""
    if size > limits.max_text_bytes:
        box.problem(
            source,
            f"{size:,} bytes exceeds the {limits.max_text_bytes:,}-byte limit; not read",
        )
        return False
    if box.text_bytes + size > limits.max_total_text_bytes:
        box.problem(source, f"total metadata exceeds {limits.max_total_text_bytes:,} bytes")
        return False
    box.text_bytes += size
    return True


def decode_text(raw: bytes) -> str:
    """UTF-8 when it is valid UTF-8 (what most generators write), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def inflate(payload: bytes, limit: int, *, gzip: bool = False) -> bytes:
    """Decompress a zlib (or gzip) stream, refusing output over ``limit`` bytes."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
    out = d.decompress(payload, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise ValueError(f"decompresses to more than {limit:,} bytes")
    if not d.eof:
        raise ValueError("compressed stream is truncated")
    return out


# ----------------------------------------------------------------------------------- PNG


def _walk_png(data: bytes, box: Container, limits: ProvenanceLimits) -> None:
    pos, count, n = 8, 0, len(data)
    ihdr: tuple[int, int, int, int, int] | None = None
    idat: list[tuple[int, int]] = []
    while pos + 8 <= n:
        count += 1
        if count > limits.max_chunks:
            box.problem("PNG", f"more than {limits.max_chunks:,} chunks; the rest not read")
            break
        length, ctype = struct.unpack_from(">I4s", data, pos)
        start, end = pos + 8, pos + 8 + length
        name = ctype.decode("latin-1")
        if end > n:
            box.problem(f"PNG {name}", f"chunk of {length:,} bytes runs past the end of the file")
            break
        if ctype == b"IHDR" and length >= 13:
            ihdr = struct.unpack_from(">IIBB2xB", data, start)
        elif ctype == b"IDAT":
            idat.append((start, length))
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(data, start, length, name, box, limits)
        elif ctype == b"eXIf" and box.exif is None:
            if _take_text(box, length, "PNG eXIf", limits):
                box.exif, box.exif_source = data[start:end], "PNG eXIf"
        elif ctype == b"caBX":
            box.c2pa_box = "PNG caBX chunk"
        elif ctype == b"IEND":
            break
        pos = end + 4
    if ihdr is not None:
        w, h, depth, ctype_, interlace = ihdr
        box.png = PngLayout(w, h, depth, ctype_, interlace, tuple(idat))


def _png_text(
    data: bytes, start: int, length: int, name: str, box: Container, limits: ProvenanceLimits
) -> None:
    head = data[start : start + min(length, 80)]
    key = head.split(b"\x00", 1)[0].decode("latin-1", "replace")
    source = f"PNG {name} {key}"
    if not _take_text(box, length, source, limits):
        return
    body = data[start : start + length]
    sep = body.find(b"\x00")
    if sep < 1:
        box.problem(source, "text chunk has no keyword separator")
        return
    rest = body[sep + 1 :]
    try:
        if name == "tEXt":
            text = decode_text(rest)
        elif name == "zTXt":
            if not rest or rest[0] != 0:
                raise ValueError("unknown compression method")
            raw = inflate(rest[1:], limits.max_text_bytes)
            box.text_bytes += len(raw)
            text = decode_text(raw)
        else:  # iTXt: flag, method, language\0, translated keyword\0, UTF-8 text
            if len(rest) < 2:
                raise ValueError("iTXt header is truncated")
            compressed, method = rest[0], rest[1]
            parts = rest[2:].split(b"\x00", 2)
            if len(parts) < 3:
                raise ValueError("iTXt header is truncated")
            raw = parts[2]
            if compressed:
                if method != 0:
                    raise ValueError("unknown compression method")
                raw = inflate(raw, limits.max_text_bytes)
                box.text_bytes += len(raw)
            text = raw.decode("utf-8", "replace")
    except (ValueError, zlib.error) as exc:
        box.problem(source, str(exc)[:300])
        return
    if key == "XML:com.adobe.xmp":
        box.xmp.append((text.encode("utf-8"), source))
    else:
        box.texts.append(TextEntry(key, text, source))


# ---------------------------------------------------------------------------------- JPEG


def _walk_jpeg(data: bytes, box: Container, limits: ProvenanceLimits) -> None:
    pos, count, n = 2, 0, len(data)
    while pos + 4 <= n:
        count += 1
        if count > limits.max_chunks:
            box.problem("JPEG", f"more than {limits.max_chunks:,} segments; the rest not read")
            return
        if data[pos] != 0xFF:
            box.problem("JPEG", f"no marker at offset {pos:,}; metadata walk stopped")
            return
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI, or start of scan: no metadata segments follow
            return
        (seglen,) = struct.unpack_from(">H", data, pos + 2)
        start, end = pos + 4, pos + 2 + seglen
        if seglen < 2 or end > n:
            box.problem("JPEG", f"segment 0x{marker:02X} at offset {pos:,} runs past the end")
            return
        if marker == 0xE1:
            if data.startswith(_EXIF_JPEG, start) and box.exif is None:
                box.exif, box.exif_source = data[start + 6 : end], "EXIF"
            elif data.startswith(_XMP_JPEG, start):
                box.xmp.append((data[start + len(_XMP_JPEG) : end], "JPEG APP1 XMP"))
        elif marker == 0xEB and box.c2pa_box is None and _is_c2pa_jumbf(data, start, end):
            box.c2pa_box = "JPEG APP11 JUMBF"
        elif marker == 0xFE and _take_text(box, end - start, "JPEG COM", limits):
            text = decode_text(data[start:end]).strip("\x00 \r\n")
            if text:
                box.texts.append(TextEntry("comment", text, "JPEG COM"))
        pos = end


def _is_c2pa_jumbf(data: bytes, start: int, end: int) -> bool:
    """APP11: "JP", instance, sequence, then a ``jumb`` superbox whose ``jumd`` is C2PA's."""
    if end - start < 8 + 8 + 8 + 16 or data[start : start + 2] != b"JP":
        return False
    box = start + 8
    if data[box + 4 : box + 8] != b"jumb":
        return False
    if data[box : box + 4] == b"\x00\x00\x00\x01":  # XLBox: a 64-bit length follows
        box += 8
    if data[box + 12 : box + 16] != b"jumd":
        return False
    return data[box + 16 : box + 32] == _C2PA_JUMD_UUID


# ---------------------------------------------------------------------------------- WebP


def _walk_webp(data: bytes, box: Container, limits: ProvenanceLimits) -> None:
    pos, count, n = 12, 0, len(data)
    while pos + 8 <= n:
        count += 1
        if count > limits.max_chunks:
            box.problem("WEBP", f"more than {limits.max_chunks:,} chunks; the rest not read")
            return
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        start, end = pos + 8, pos + 8 + size
        name = fourcc.decode("latin-1").strip()
        if end > n:
            box.problem(f"WebP {name}", f"chunk of {size:,} bytes runs past the end of the file")
            return
        if fourcc == b"EXIF" and box.exif is None:
            if _take_text(box, size, "WebP EXIF", limits):
                payload = data[start:end]
                if payload.startswith(_EXIF_JPEG):
                    payload = payload[6:]
                box.exif, box.exif_source = payload, "WebP EXIF"
        elif fourcc == b"XMP ":
            if size <= limits.max_xmp_bytes:
                box.xmp.append((data[start:end], "WebP XMP"))
            else:
                box.problem("WebP XMP", f"{size:,} bytes exceeds the XMP limit; not read")
        elif fourcc == b"C2PA":
            box.c2pa_box = "WebP C2PA chunk"
        elif fourcc == b"VP8X" and size >= 1:
            box.webp_alpha = box.webp_alpha or bool(data[start] & 0x10)
        elif fourcc == b"VP8L":
            box.webp_lossless = True
            if size >= 5 and data[start] == 0x2F:
                (bits,) = struct.unpack_from("<I", data, start + 1)
                box.webp_alpha = box.webp_alpha or bool(bits >> 28 & 1)
        pos = end + (size & 1)


# ---------------------------------------------------------------------------------- TIFF


def _walk_tiff(data: bytes, box: Container, limits: ProvenanceLimits) -> None:
    bo = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(bo + "I", data, 4)
    box.exif, box.exif_source = data, "TIFF IFD0"  # the EXIF reader bounds its own reads
    (count,) = struct.unpack_from(bo + "H", data, ifd)
    if count > limits.max_chunks:
        box.problem("TIFF", f"IFD0 claims {count:,} entries; not read")
        return
    for i in range(count):
        tag, _typ, num, value = struct.unpack_from(bo + "HHII", data, ifd + 2 + 12 * i)
        if tag == _TIFF_C2PA:
            box.c2pa_box = "TIFF tag 52545"
        elif tag == _TIFF_XMP and num > 4:
            if num <= limits.max_xmp_bytes and value + num <= len(data):
                box.xmp.append((data[value : value + num], "TIFF XMP"))
            else:
                box.problem("TIFF XMP", f"{num:,}-byte XMP packet not read")


# ----------------------------------------------------------------------------- HEIF/AVIF


def _walk_bmff(data: bytes, box: Container, limits: ProvenanceLimits) -> None:
    pos, count, n = 0, 0, len(data)
    while pos + 8 <= n and count < limits.max_chunks:
        count += 1
        size, btype = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = n - pos
        if size < header:
            box.problem("ISOBMFF", f"box '{btype.decode('latin-1')}' has an invalid size")
            return
        if btype == b"uuid" and data[pos + header : pos + header + 16] == _C2PA_BMFF_UUID:
            box.c2pa_box = "ISOBMFF C2PA uuid box"
        pos += size


def find_bmff_c2pa(fp: BinaryIO, limits: ProvenanceLimits) -> tuple[str | None, list[ParseProblem]]:
    """Where the C2PA ``uuid`` box of an ISO BMFF file (MP4/MOV) is, from its top-level box headers.

    Reads at most 32 bytes per top-level box and seeks over the rest, so the cost does not grow
    with the file's size. Returns the box's location (None when there is none) and the problems
    met on the way; never raises for bad structure (an unreadable file raises :class:`OSError`).
    """
    problems: list[ParseProblem] = []
    n = fp.seek(0, os.SEEK_END)
    pos, count = 0, 0
    while pos + 8 <= n:
        count += 1
        if count > limits.max_chunks:
            problems.append(
                ParseProblem("ISOBMFF", f"more than {limits.max_chunks:,} boxes; the rest not read")
            )
            break
        fp.seek(pos)
        head = fp.read(32)
        size, btype = struct.unpack_from(">I4s", head)
        name = btype.decode("latin-1")
        header = 8
        if size == 1:
            if len(head) < 16:
                problems.append(ParseProblem(f"ISOBMFF {name}", "box header is truncated"))
                break
            (size,) = struct.unpack_from(">Q", head, 8)
            header = 16
        elif size == 0:  # the last box: it runs to the end of the file
            size = n - pos
        if size < header:
            problems.append(ParseProblem(f"ISOBMFF {name}", "box has an invalid size"))
            break
        if btype == b"uuid" and head[header : header + 16] == _C2PA_BMFF_UUID:
            return "ISOBMFF C2PA uuid box", problems
        if pos + size > n:
            problems.append(
                ParseProblem(
                    f"ISOBMFF {name}", f"box of {size:,} bytes runs past the end of the file"
                )
            )
            break
        pos += size
    return None, problems
