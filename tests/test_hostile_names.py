"""Names that are not valid UTF-8 (or hold NUL and control characters) never stop a scan,
are kept losslessly, re-scan to nothing new, and print safely (issue 18, findings 1, 3, 14).

Every hostile name is generated here: files named with raw bytes, a latin-1 tar member, a
cp437 zip, a zip whose UTF-8 flag lies about one member, a WARC URI with a NUL byte.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from pathlib import Path

import py7zr
import pytest
from typer.testing import CliRunner
from warcio.warcwriter import WARCWriter

from tests.conftest import png_bytes
from tests.helpers import dump_case
from tests.sources.builders import http_response, make_zip
from verisight.case import Case
from verisight.cli import app
from verisight.limits import Limits
from verisight.names import escaped, from_bytes, json_text, to_bytes
from verisight.sources._common import Context
from verisight.sources.archives import read_zip

runner = CliRunner()


def _latin1_tar(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _cp437_zip(name: str, data: bytes) -> bytes:
    """A zip written like old Windows tools: the name in cp437, no UTF-8 flag."""
    raw = make_zip({"X" * len(name): data})
    return raw.replace(("X" * len(name)).encode(), name.encode("cp437"))


def _zip_with_lying_flag(good: dict[str, bytes], bad_name: bytes, bad_data: bytes) -> bytes:
    """A zip whose member ``bad_name`` has the UTF-8 flag but is not valid UTF-8."""
    placeholder = "Z" * len(bad_name)
    raw = bytearray(make_zip({**good, placeholder: bad_data}))
    for sig, flags_at, name_len_at, header in (
        (b"PK\x03\x04", 6, 26, 30),
        (b"PK\x01\x02", 8, 28, 46),
    ):
        pos = raw.find(sig)
        while pos != -1:
            (nlen,) = struct.unpack_from("<H", raw, pos + name_len_at)
            if raw[pos + header : pos + header + nlen] == placeholder.encode():
                raw[pos + header : pos + header + nlen] = bad_name
                (flags,) = struct.unpack_from("<H", raw, pos + flags_at)
                struct.pack_into("<H", raw, pos + flags_at, flags | 0x800)
            pos = raw.find(sig, pos + 4)
    return bytes(raw)


def _warc_with_nul_uri(uri: str, data: bytes) -> bytes:
    out = io.BytesIO()
    http_response(WARCWriter(out, gzip=False), uri, data, "image/png")
    return out.getvalue()


def _7z_with_lone_surrogate(data: dict[str, bytes]) -> bytes:
    """A 7z (plain header) whose member ``aX.png`` is renamed to UTF-16 ``a<D800>.png``."""
    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        archive.set_encoded_header_mode(False)
        for name, content in data.items():
            archive.writestr(content, name)
    raw = bytearray(out.getvalue())
    next_offset, next_size = struct.unpack_from("<QQ", raw, 12)
    start = 32 + next_offset
    header = bytes(raw[start : start + next_size])
    patched = header.replace(
        "aX.png".encode("utf-16-le"),
        "a".encode("utf-16-le") + b"\x00\xd8" + ".png".encode("utf-16-le"),
    )
    assert patched != header
    raw[start : start + next_size] = patched
    struct.pack_into("<I", raw, 28, zlib.crc32(patched))
    struct.pack_into("<I", raw, 8, zlib.crc32(bytes(raw[12:32])))
    return bytes(raw)


def _hostile_collection(root: Path) -> dict[str, bytes]:
    """Write the collection; return each hostile leaf name (as bytes) → its content."""
    root.mkdir(parents=True)
    files = {
        b"bad\xff.png": png_bytes(1),
        b"caf\xe9-latin1.png": png_bytes(2),
        b"esc\x1b[31mred\nline.png": png_bytes(3),
    }
    for name, data in files.items():
        with open(os.fsencode(root) + b"/" + name, "wb") as fh:
            fh.write(data)
    (root / "latin.tar").write_bytes(_latin1_tar("café.png", png_bytes(4)))
    (root / "dos.zip").write_bytes(_cp437_zip("café.png", png_bytes(5)))
    (root / "flag.zip").write_bytes(
        _zip_with_lying_flag({"ok.png": png_bytes(6)}, b"bad\xfe\xff.png", png_bytes(7))
    )
    nul = make_zip({"a.png#.exe": png_bytes(8)}).replace(b"a.png#.exe", b"a.png\x00.exe")
    (root / "nul.zip").write_bytes(nul)
    (root / "web.warc").write_bytes(_warc_with_nul_uri("http://host/a\x00b.png", png_bytes(9)))
    (root / "odd.7z").write_bytes(
        _7z_with_lone_surrogate({"aX.png": png_bytes(10), "ok.png": png_bytes(11)})
    )
    return files


def test_name_forms_are_lossless_and_printable() -> None:
    raw = b"dir/caf\xe9 \xff\x00\x1b[2J\n.png"
    name = from_bytes(raw)
    assert to_bytes(name) == raw
    text = escaped(name)
    assert text == "dir/caf\\xe9 \\xff\\x00\\x1b[2J\\n.png"
    assert text.encode("utf-8")  # any database and terminal accept it
    dumped = json_text([name])
    dumped.encode("utf-8")
    assert json.loads(dumped) == [name]
    # A surrogate surrogateescape never makes still has bytes (and distinct ones).
    assert to_bytes("\ud800") != to_bytes("\udc80") and to_bytes("\udc80") == b"\x80"


@pytest.mark.parametrize("stub", [b"", b"MZ" + bytes(510)])  # plain, or self-extracting
def test_zip_with_one_lying_utf8_name_reads_every_member(stub: bytes) -> None:
    data = _zip_with_lying_flag({"a.png": png_bytes(1), "b.png": png_bytes(2)}, b"c\xff.png", b"x")
    data = stub + data
    members = list(read_zip(io.BytesIO(data), Context.for_top_level(Limits())))
    assert [to_bytes(m.name) for m in members] == [b"a.png", b"b.png", b"c\xff.png"]
    assert all(m.error is None and m.data is not None for m in members)
    assert members[2].data == b"x"


def test_hostile_names_never_stop_a_scan_and_rescan_adds_nothing(
    tmp_path: Path, database_url: str
) -> None:
    src = tmp_path / "src"
    leaves = _hostile_collection(src)
    with Case(tmp_path / "case", database_url, create=True) as case:
        first = case.scan([src], workers=1)
        assert first.reconciles
        # 3 files; tar, dos.zip, flag.zip, nul.zip, warc, 7z: their 8 members and themselves
        assert first.seen == 3 + 8 + 6
        assert first.errors_by_reason == {"unsafe-path": 1}
        sightings = list(case.sightings())
        before = dump_case(case.database_url)
        second = case.scan([src], workers=1)
        after = dump_case(case.database_url)
    assert second.already_recorded == second.seen == first.seen
    assert before["sighting"] == after["sighting"] and before["media"] == after["media"]
    # Lossless: the chain gives back every name's exact bytes ...
    links = {to_bytes(s.chain[-1]) for s in sightings}
    for name in leaves:
        assert os.fsencode(src) + b"/" + name in links
    assert {b"caf\xe9.png", b"bad\xfe\xff.png", b"a.png\x00.exe", "café.png".encode()} <= links
    assert b"a\xed\xa0\x80.png" in links  # U+D800 as the bytes of its UTF-8 form
    # ... and the readable path escapes what a terminal or a database would choke on.
    paths = {s.path for s in sightings}
    assert f"{src}/bad\\xff.png" in paths
    assert f"{src}/esc\\x1b[31mred\\nline.png" in paths
    assert f"{src}/latin.tar › caf\\xe9.png" in paths
    assert f"{src}/flag.zip › bad\\xfe\\xff.png" in paths
    assert f"{src}/web.warc › http://host/a\\x00b.png" in paths
    assert f"{src}/odd.7z › a\\xed\\xa0\\x80.png" in paths  # a lone UTF-16 surrogate
    assert f"{src}/odd.7z › ok.png" in paths
    assert all(p.isprintable() for p in paths)
    # The one failure (NUL in a zip member name) says why, in printable text.
    unsafe = next(s for s in sightings if s.reason == "unsafe-path")
    assert unsafe.detail is not None and "\x00" not in unsafe.detail


def test_cli_prints_hostile_names_escaped_and_json_stays_utf8(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _hostile_collection(src)
    case = tmp_path / "case"
    res = runner.invoke(app, ["scan", str(src), "--case", str(case), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["sightings", "list", "--case", str(case)])
    assert listed.exit_code == 0
    text = listed.stdout_bytes.decode("utf-8")
    assert "\x1b" not in text and "\x00" not in text
    assert "esc\\x1b[31mred\\nline.png" in text and "bad\\xff.png" in text
    assert len(text.splitlines()) == json.loads(res.stdout)["seen"]  # one line a sighting
    as_json = runner.invoke(app, ["sightings", "list", "--case", str(case), "--json"])
    lines = as_json.stdout_bytes.decode("utf-8").splitlines()  # valid UTF-8
    chains = [json.loads(line)["chain"] for line in lines]
    assert [os.fsdecode(os.fsencode(src) + b"/bad\xff.png")] in chains
    sha = next(json.loads(x)["media"] for x in lines if "esc" in x)
    shown = runner.invoke(app, ["media", "show", sha, "--case", str(case)])
    assert shown.exit_code == 0
    out = shown.stdout_bytes.decode("utf-8")
    assert "\x1b" not in out and "esc\\x1b[31mred\\nline.png" in out


@pytest.mark.parametrize("name", ["[bold]x.png", "[link=x]y.png"])
def test_cli_prints_markup_in_names_as_text(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / name).write_bytes(png_bytes(3))
    case = tmp_path / "case"
    assert (
        runner.invoke(app, ["scan", str(src), "--case", str(case), "--workers", "1"]).exit_code == 0
    )
    listed = runner.invoke(app, ["sightings", "list", "--case", str(case)])
    assert listed.exit_code == 0 and name in listed.stdout


def test_exports_re_read_originals_by_their_exact_names(tmp_path: Path, database_url: str) -> None:
    src = tmp_path / "src"
    _hostile_collection(src)
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.scan([src], workers=1)
        wanted = {
            s.media_sha256
            for s in case.sightings()
            if s.media_sha256
            and to_bytes(s.chain[-1])
            in {os.fsencode(src) + b"/bad\xff.png", b"caf\xe9.png", b"a\xed\xa0\x80.png"}
        }
    assert len(wanted) == 3
    common = ["--case", str(tmp_path / "case"), "--database-url", database_url]
    media = [a for sha in sorted(wanted) for a in ("--media", sha)]
    z = tmp_path / "ev.zip"
    res = runner.invoke(
        app, ["export", "evidence", "--include-originals", "-o", str(z), *common, *media]
    )
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(z) as zf:
        manifest = json.loads(zf.read("manifest.json"))  # valid UTF-8 JSON
        assert all(m["original"]["included"] for m in manifest["media"]), manifest["media"]
    tip = tmp_path / "tip"
    res = runner.invoke(app, ["export", "cybertip", "-o", str(tip), *common, *media])
    assert res.exit_code == 0, res.output
    names = {
        ET.parse(f).getroot().findtext("originalFileName") for f in (tip / "files").glob("*.xml")
    }
    assert names == {"bad\\xff.png", "caf\\xe9.png", "a\\xed\\xa0\\x80.png"}
