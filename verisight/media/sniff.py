"""Recognise a file's type from its first bytes, never from its name.

:func:`sniff` needs at most :data:`SNIFF_BYTES` leading bytes. Gzip streams are reported as
``application/gzip``; callers that need to know what is inside (tar, WARC, a single file)
use :func:`sniff_gzip_inner` on a decompressed prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 512


@dataclass(frozen=True, slots=True)
class FileType:
    mime: str
    #: "image" | "video" | "archive" | "warc" | "other"
    kind: str


OCTET = FileType("application/octet-stream", "other")

_ISOBMFF_BRANDS: dict[bytes, FileType] = {
    b"heic": FileType("image/heic", "image"),
    b"heix": FileType("image/heic", "image"),
    b"heim": FileType("image/heic", "image"),
    b"heis": FileType("image/heic", "image"),
    b"hevc": FileType("image/heic-sequence", "image"),
    b"mif1": FileType("image/heif", "image"),
    b"msf1": FileType("image/heif-sequence", "image"),
    b"avif": FileType("image/avif", "image"),
    b"avis": FileType("image/avif", "image"),
    b"qt  ": FileType("video/quicktime", "video"),
    b"M4V ": FileType("video/x-m4v", "video"),
    b"3gp4": FileType("video/3gpp", "video"),
    b"3gp5": FileType("video/3gpp", "video"),
}


def sniff(head: bytes) -> FileType:
    """Return the type of content starting with ``head`` (pass ≥ 512 bytes when you can)."""
    if head.startswith(b"\xff\xd8\xff"):
        return FileType("image/jpeg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType("image/png", "image")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FileType("image/gif", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("image/webp", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return FileType("video/x-msvideo", "video")
    if head.startswith(b"BM") and len(head) >= 14:
        return FileType("image/bmp", "image")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return FileType("image/tiff", "image")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _ISOBMFF_BRANDS:
            return _ISOBMFF_BRANDS[brand]
        return FileType("video/mp4", "video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        mime = "video/webm" if b"webm" in head[:64] else "video/x-matroska"
        return FileType(mime, "video")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return FileType("application/zip", "archive")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return FileType("application/x-7z-compressed", "archive")
    if head.startswith(b"\x1f\x8b"):
        return FileType("application/gzip", "archive")
    if head.startswith(b"BZh"):
        return FileType("application/x-bzip2", "archive")
    if head.startswith(b"\xfd7zXZ\x00"):
        return FileType("application/x-xz", "archive")
    if len(head) >= 262 and head[257:262] == b"ustar":
        return FileType("application/x-tar", "archive")
    if head.startswith((b"WARC/1.", b"WARC/0.")):
        return FileType("application/warc", "warc")
    if head.startswith(b"%PDF-"):
        return FileType("application/pdf", "other")
    if head.startswith(b"Rar!\x1a\x07"):
        return FileType("application/vnd.rar", "archive")
    return OCTET


def sniff_gzip_inner(decompressed_head: bytes) -> str:
    """Classify the start of a decompressed gzip/bz2/xz stream: "warc", "tar" or "raw"."""
    if decompressed_head.startswith((b"WARC/1.", b"WARC/0.")):
        return "warc"
    if len(decompressed_head) >= 262 and decompressed_head[257:262] == b"ustar":
        return "tar"
    return "raw"
