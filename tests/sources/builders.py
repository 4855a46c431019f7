"""Builders for the sources tests: small generated images, archives and WARCs, in memory.

Everything is synthetic: coloured squares and noise made with Pillow/numpy, neutral names.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import py7zr
from PIL import Image
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from verisight.limits import Limits
from verisight.sources import Item, iter_items


def jpeg(colour: str = "red", size: int = 16) -> bytes:
    """A tiny solid-colour JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "JPEG")
    return out.getvalue()


def png_noise(seed: int = 0, size: int = 32) -> bytes:
    """A small PNG of random noise (incompressible, distinct per seed)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


def make_zip(files: Mapping[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def make_tar(files: Mapping[str, bytes], mode: str = "w") -> bytes:
    """A tar (``mode`` ``w``, ``w:gz``, ``w:bz2``, ``w:xz``) of regular files."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def make_7z(files: Mapping[str, bytes], *, password: str | None = None, **kw: object) -> bytes:
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password, **kw) as archive:  # type: ignore[arg-type]
        for name, data in files.items():
            archive.writestr(data, name)
    return out.getvalue()


def rename_in_7z(archive: bytes, old: str, new: str) -> bytes:
    """Rename a member of a 7z written with a plain (unencoded) header, fixing the CRCs.

    py7zr refuses to write unsafe names, so tests write a same-length safe name and patch it.
    """
    assert len(old) == len(new)
    data = bytearray(archive)
    next_offset, next_size = struct.unpack_from("<QQ", data, 12)
    start = 32 + next_offset
    header = bytes(data[start : start + next_size])
    patched = header.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
    assert patched != header, "name not found in a plain header"
    data[start : start + next_size] = patched
    struct.pack_into("<I", data, 28, zlib.crc32(patched))
    struct.pack_into("<I", data, 8, zlib.crc32(bytes(data[12:32])))
    return bytes(data)


def set_zip_encrypted(archive: bytes) -> bytes:
    """Set the 'encrypted' flag bit on every entry (local headers and central directory)."""
    data = bytearray(archive)
    for sig, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        while pos != -1:
            (flags,) = struct.unpack_from("<H", data, pos + flag_offset)
            struct.pack_into("<H", data, pos + flag_offset, flags | 0x1)
            pos = data.find(sig, pos + 4)
    return bytes(data)


def http_response(
    writer: WARCWriter,
    uri: str,
    payload: bytes,
    content_type: str,
    *,
    date: str = "2024-06-01T12:30:00Z",
    extra: Mapping[str, str] | None = None,
) -> None:
    headers = StatusAndHeaders(
        "200 OK",
        [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
        protocol="HTTP/1.1",
    )
    record = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(payload),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": date, **(extra or {})},
    )
    writer.write_record(record)


def http_request(writer: WARCWriter, uri: str) -> None:
    headers = StatusAndHeaders("GET / HTTP/1.1", [("Host", "host")], is_http_request=True)
    record = writer.create_warc_record(
        uri, "request", payload=io.BytesIO(b""), http_headers=headers
    )
    writer.write_record(record)


def write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def scan(roots: Iterable[Path] | Path, limits: Limits | None = None) -> list[Item]:
    paths = [roots] if isinstance(roots, Path) else list(roots)
    return list(iter_items(paths, limits or Limits()))


def by_chain(items: Iterable[Item]) -> dict[tuple[str, ...], Item]:
    """Items keyed by their chain with the first (absolute, tmp) link reduced to its name."""
    out: dict[tuple[str, ...], Item] = {}
    for item in items:
        chain = (Path(item.provenance.chain[0]).name, *item.provenance.chain[1:])
        assert chain not in out, f"duplicate item {chain}"
        out[chain] = item
    return out


def reason(item: Item) -> str | None:
    return item.error.reason.value if item.error else None
