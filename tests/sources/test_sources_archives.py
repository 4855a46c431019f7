"""Zip, tar and compressed streams: provenance, nesting, limits and hostile input."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.sources.builders import (
    by_chain,
    jpeg,
    make_tar,
    make_zip,
    png_noise,
    reason,
    scan,
    set_zip_encrypted,
)
from verisight.errors import Reason
from verisight.limits import Limits
from verisight.sources import Item

MIB = 1 << 20


def seized_zip() -> bytes:
    """seized.zip › inner.tar.gz › {photos/a.jpg, deeper.zip › {c.jpg, deepest.zip › x.jpg}}"""
    deepest = make_zip({"x.jpg": jpeg("blue")})
    deeper = make_zip({"c.jpg": jpeg("green"), "deepest.zip": deepest})
    inner = make_tar({"photos/a.jpg": jpeg("red"), "deeper.zip": deeper}, "w:gz")
    return make_zip({"inner.tar.gz": inner, "notes.txt": b"plain text"})


def assert_containers_after_members(items: list[Item]) -> None:
    position = {item.provenance.chain: i for i, item in enumerate(items)}
    for i, item in enumerate(items):
        chain = item.provenance.chain
        for j in range(1, len(chain)):
            parent = chain[:j]
            if parent in position:
                assert position[parent] > i, f"{parent} yielded before its member {chain}"


def test_nested_provenance_chain_and_depths(tmp_path: Path) -> None:
    (tmp_path / "seized.zip").write_bytes(seized_zip())
    items = scan(tmp_path)
    got = by_chain(items)
    photo = got[("seized.zip", "inner.tar.gz", "photos/a.jpg")]
    assert photo.provenance.path == f"{tmp_path / 'seized.zip'} › inner.tar.gz › photos/a.jpg"
    assert photo.data == jpeg("red") and photo.depth == 2 and photo.path is None
    assert photo.size == len(jpeg("red")) and photo.error is None
    assert got[("seized.zip", "inner.tar.gz", "deeper.zip", "c.jpg")].depth == 3
    inner = got[("seized.zip", "inner.tar.gz")]
    assert inner.is_container and inner.data is not None and inner.depth == 1
    top = got[("seized.zip",)]
    assert top.is_container and top.path == tmp_path / "seized.zip" and top.data is None
    assert top.size == (tmp_path / "seized.zip").stat().st_size and top.mtime_ns is not None
    assert_containers_after_members(items)
    assert items[-1] is top


def test_depth_limit_yields_deep_container_unopened(tmp_path: Path) -> None:
    (tmp_path / "seized.zip").write_bytes(seized_zip())
    got = by_chain(scan(tmp_path))
    deepest = got[("seized.zip", "inner.tar.gz", "deeper.zip", "deepest.zip")]
    assert deepest.skipped and reason(deepest) == Reason.DEPTH_EXCEEDED
    assert deepest.data is not None and deepest.depth == 3 and not deepest.is_container
    assert not any("x.jpg" in chain for chain in got)
    assert got[("seized.zip", "inner.tar.gz", "deeper.zip")].is_container

    shallow = by_chain(scan(tmp_path, Limits(max_archive_depth=2)))
    deeper = shallow[("seized.zip", "inner.tar.gz", "deeper.zip")]
    assert reason(deeper) == Reason.DEPTH_EXCEEDED and not deeper.is_container
    assert ("seized.zip", "inner.tar.gz", "photos/a.jpg") in shallow


def test_every_member_appears_exactly_once_and_order_is_repeatable(tmp_path: Path) -> None:
    members = {f"img/{i:03d}.png": png_noise(i, 8) for i in range(40)}
    (tmp_path / "a.zip").write_bytes(make_zip(members))
    (tmp_path / "b.tar").write_bytes(make_tar(members))
    first = scan(tmp_path)
    second = scan(tmp_path)
    assert [i.provenance.chain for i in first] == [i.provenance.chain for i in second]
    got = by_chain(first)  # asserts no duplicates
    for archive in ("a.zip", "b.tar"):
        found = {c[1]: got[c].data for c in got if c[0] == archive and len(c) == 2}
        assert found == members
    assert len(first) == 2 * len(members) + 2
    assert_containers_after_members(first)


def test_tar_variants_and_single_file_streams(tmp_path: Path) -> None:
    files = {"a.jpg": jpeg("red"), "dir/b.jpg": jpeg("blue")}
    for mode, name in (("w", "t.tar"), ("w:gz", "t.tgz"), ("w:bz2", "t.tbz"), ("w:xz", "t.txz")):
        (tmp_path / name).write_bytes(make_tar(files, mode))
    (tmp_path / "photo.jpg.gz").write_bytes(gzip.compress(jpeg("red")))
    (tmp_path / "photo.jpg.bz2").write_bytes(bz2.compress(jpeg("red")))
    (tmp_path / "photo.jpg.xz").write_bytes(lzma.compress(jpeg("red")))
    (tmp_path / "blob").write_bytes(gzip.compress(jpeg("red")))
    got = by_chain(scan(tmp_path))
    for name in ("t.tar", "t.tgz", "t.tbz", "t.txz"):
        assert got[(name, "dir/b.jpg")].data == jpeg("blue")
        assert got[(name,)].is_container and got[(name,)].error is None
    for name in ("photo.jpg.gz", "photo.jpg.bz2", "photo.jpg.xz"):
        member = got[(name, "photo.jpg")]
        assert member.data == jpeg("red") and member.depth == 1
    assert got[("blob", "data")].data == jpeg("red")


def test_zip_inside_gzip_is_opened(tmp_path: Path) -> None:
    (tmp_path / "bundle.zip.gz").write_bytes(gzip.compress(make_zip({"x.jpg": jpeg()})))
    got = by_chain(scan(tmp_path))
    assert got[("bundle.zip.gz", "bundle.zip", "x.jpg")].depth == 2
    assert got[("bundle.zip.gz", "bundle.zip")].is_container


def test_zip_traversal_names_are_unsafe(tmp_path: Path) -> None:
    names = ["../evil.jpg", "/etc/abs.jpg", "C:/win.jpg", "a/../../b.jpg", "ok/../x.jpg"]
    (tmp_path / "t.zip").write_bytes(make_zip({**{n: jpeg() for n in names}, "fine.jpg": jpeg()}))
    got = by_chain(scan(tmp_path))
    for name in names:
        item = got[("t.zip", name)]
        assert reason(item) == Reason.UNSAFE_PATH, name
        assert item.data is None and item.path is None
    assert got[("t.zip", "fine.jpg")].data == jpeg()
    assert got[("t.zip",)].error is None


def test_tar_traversal_and_special_members(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name in ("../evil.jpg", "/abs.jpg", "ok.jpg"):
            info = tarfile.TarInfo(name)
            info.size = len(jpeg())
            archive.addfile(info, io.BytesIO(jpeg()))
        for name, kind in (("sym", tarfile.SYMTYPE), ("hard", tarfile.LNKTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "ok.jpg"
            archive.addfile(info)
        for name, kind in (("dev", tarfile.CHRTYPE), ("fifo", tarfile.FIFOTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            archive.addfile(info)
        folder = tarfile.TarInfo("folder")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
    (tmp_path / "t.tar").write_bytes(out.getvalue())
    got = by_chain(scan(tmp_path))
    assert reason(got[("t.tar", "../evil.jpg")]) == Reason.UNSAFE_PATH
    assert reason(got[("t.tar", "/abs.jpg")]) == Reason.UNSAFE_PATH
    for name in ("sym", "hard", "dev", "fifo"):
        assert got[("t.tar", name)].skipped and reason(got[("t.tar", name)]) == Reason.SPECIAL_FILE
        assert got[("t.tar", name)].data is None
    assert ("t.tar", "folder") not in got
    assert got[("t.tar", "ok.jpg")].data == jpeg()


def test_zip_symlink_entry_is_special(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("link.jpg")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "target.jpg")
        archive.writestr("folder/", b"")
    (tmp_path / "l.zip").write_bytes(out.getvalue())
    got = by_chain(scan(tmp_path))
    assert got[("l.zip", "link.jpg")].skipped
    assert reason(got[("l.zip", "link.jpg")]) == Reason.SPECIAL_FILE
    assert ("l.zip", "folder/") not in got


def test_encrypted_zip_members(tmp_path: Path) -> None:
    (tmp_path / "e.zip").write_bytes(
        set_zip_encrypted(make_zip({"a.jpg": jpeg(), "b.jpg": jpeg()}))
    )
    got = by_chain(scan(tmp_path))
    for name in ("a.jpg", "b.jpg"):
        assert reason(got[("e.zip", name)]) == Reason.ENCRYPTED
        assert got[("e.zip", name)].data is None
    assert got[("e.zip",)].is_container


def test_corrupt_zip_member_does_not_stop_the_others(tmp_path: Path) -> None:
    raw = bytearray(
        make_zip({"a.jpg": jpeg("red"), "b.jpg": jpeg("blue")}, method=zipfile.ZIP_STORED)
    )
    target = jpeg("red")
    offset = raw.find(target) + 100
    raw[offset] ^= 0xFF  # flip a byte inside a.jpg: CRC mismatch
    (tmp_path / "c.zip").write_bytes(bytes(raw))
    got = by_chain(scan(tmp_path))
    assert reason(got[("c.zip", "a.jpg")]) == Reason.CORRUPT_ARCHIVE
    assert got[("c.zip", "a.jpg")].data is None
    assert got[("c.zip", "b.jpg")].data == jpeg("blue")


def test_zip_cut_in_half_recovers_members_before_the_cut(tmp_path: Path) -> None:
    members = {f"{i}.png": png_noise(i, 24) for i in range(6)}
    raw = make_zip(members)
    (tmp_path / "cut.zip").write_bytes(raw[: len(raw) // 2])
    items = scan(tmp_path)
    got = by_chain(items)
    recovered = {c[1]: i for c, i in got.items() if len(c) == 2}
    good = {n for n, i in recovered.items() if i.error is None}
    assert 1 <= len(good) < len(members)
    for name in good:
        assert recovered[name].data == members[name]
    # the member cut by the end of the file is reported, without content
    broken = [i for i in recovered.values() if i.error is not None]
    assert [reason(i) for i in broken] == [Reason.CORRUPT_ARCHIVE]
    assert broken[0].data is None
    top = got[("cut.zip",)]
    assert reason(top) == Reason.CORRUPT_ARCHIVE and top.is_container and items[-1] is top


def test_truncated_tar_gz_yields_what_it_can(tmp_path: Path) -> None:
    members = {f"{i}.png": png_noise(i, 48) for i in range(6)}
    raw = make_tar(members, "w:gz")
    (tmp_path / "cut.tar.gz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "z_next.jpg").write_bytes(jpeg())
    got = by_chain(scan(tmp_path))
    good = [c for c, i in got.items() if len(c) == 2 and i.error is None]
    assert 1 <= len(good) < len(members)
    assert all(got[c].data == members[c[1]] for c in good)
    assert reason(got[("cut.tar.gz",)]) == Reason.CORRUPT_ARCHIVE
    assert got[("z_next.jpg",)].error is None  # the walk goes on


def test_garbage_after_gzip_magic_is_a_corrupt_container(tmp_path: Path) -> None:
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"\x00garbage" * 20)
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04" + b"\xff" * 50)
    (tmp_path / "junk.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40)
    (tmp_path / "junk.tar").write_bytes(b"\x00" * 257 + b"ustar" + b"\xff" * 300)
    got = by_chain(scan(tmp_path))
    for name in ("bad.gz", "junk.zip", "junk.7z", "junk.tar"):
        top = got[(name,)]
        assert top.is_container and top.path == tmp_path / name
        assert reason(top) == Reason.CORRUPT_ARCHIVE, name


def test_declared_ratio_zip_bomb(tmp_path: Path) -> None:
    bomb = b"\x00" * (4 * MIB)
    (tmp_path / "b.zip").write_bytes(make_zip({"zeros.bin": bomb, "ok.jpg": jpeg()}))
    got = by_chain(scan(tmp_path, Limits(max_compression_ratio=100)))
    assert reason(got[("b.zip", "zeros.bin")]) == Reason.ZIP_BOMB
    assert got[("b.zip", "zeros.bin")].data is None
    assert got[("b.zip", "ok.jpg")].data == jpeg()


def test_actual_ratio_bomb_without_declared_sizes(tmp_path: Path) -> None:
    """A deflated member written with a data descriptor (sizes 0 in its local header),
    in a zip whose central directory is gone: only the actual ratio can catch it."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(b"\x00" * (4 * MIB)) + deflater.flush()
    name = b"zeros.bin"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x8, 8, 0, 0, 0, 0, 0, len(name), 0)
    raw = local + name + body + struct.pack("<4sIII", b"PK\x07\x08", 0, len(body), 4 * MIB)
    (tmp_path / "d.zip").write_bytes(raw)
    got = by_chain(scan(tmp_path, Limits(max_compression_ratio=100)))
    assert reason(got[("d.zip", "zeros.bin")]) == Reason.ZIP_BOMB
    assert reason(got[("d.zip",)]) == Reason.CORRUPT_ARCHIVE


def test_member_over_size_limit_is_too_large(tmp_path: Path) -> None:
    big, small = png_noise(1, 64), jpeg()
    (tmp_path / "s.zip").write_bytes(make_zip({"big.png": big, "small.jpg": small}))
    (tmp_path / "s.tar").write_bytes(make_tar({"big.png": big, "small.jpg": small}))
    (tmp_path / "s.png.gz").write_bytes(gzip.compress(big))
    limits = Limits(max_member_bytes=len(small) + 10)
    got = by_chain(scan(tmp_path, limits))
    for chain in (("s.zip", "big.png"), ("s.tar", "big.png"), ("s.png.gz", "s.png")):
        assert reason(got[chain]) == Reason.TOO_LARGE and got[chain].data is None
    assert got[("s.zip", "small.jpg")].data == small
    assert got[("s.tar", "small.jpg")].data == small


def test_compressed_stream_bomb_stops_the_stream(tmp_path: Path) -> None:
    zeros = b"\x00" * (8 * MIB)
    (tmp_path / "z.tar.gz").write_bytes(make_tar({"a.jpg": jpeg(), "zeros.bin": zeros}, "w:gz"))
    (tmp_path / "z.bin.gz").write_bytes(gzip.compress(zeros))
    got = by_chain(scan(tmp_path, Limits(max_compression_ratio=50)))
    assert got[("z.tar.gz", "a.jpg")].data == jpeg()
    assert reason(got[("z.tar.gz",)]) == Reason.ZIP_BOMB
    assert reason(got[("z.bin.gz",)]) == Reason.ZIP_BOMB
    assert reason(got[("z.bin.gz", "z.bin")]) == Reason.ZIP_BOMB
    assert got[("z.bin.gz", "z.bin")].data is None


def test_total_budget_stops_every_level_and_only_that_file(tmp_path: Path) -> None:
    pngs = {f"{i}.png": png_noise(i, 64) for i in range(8)}  # ~12 KiB each, incompressible
    inner = make_zip(pngs)
    (tmp_path / "a_nested.zip").write_bytes(make_zip({"inner.zip": inner, "z.jpg": jpeg()}))
    (tmp_path / "b_next.zip").write_bytes(make_zip({"ok.jpg": jpeg()}))
    limits = Limits(max_total_bytes=len(inner) + 3 * len(pngs["0.png"]))
    items = scan(tmp_path, limits)
    got = by_chain(items)
    assert reason(got[("a_nested.zip", "inner.zip")]) == Reason.ZIP_BOMB
    assert reason(got[("a_nested.zip",)]) == Reason.ZIP_BOMB
    read = [c for c, i in got.items() if len(c) == 3 and i.data is not None]
    assert 1 <= len(read) < len(pngs)
    assert ("a_nested.zip", "z.jpg") not in got  # the outer zip stopped too
    assert got[("b_next.zip", "ok.jpg")].data == jpeg()  # a fresh budget for the next file
    assert got[("b_next.zip",)].error is None
    assert_containers_after_members(items)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_too_many_members(tmp_path: Path, kind: str) -> None:
    files = {f"{i}.jpg": jpeg() for i in range(10)}
    data = make_zip(files) if kind == "zip" else make_tar(files)
    (tmp_path / f"m.{kind}").write_bytes(data)
    got = by_chain(scan(tmp_path, Limits(max_members=4)))
    members = [c for c in got if len(c) == 2]
    assert len(members) == 4
    assert reason(got[(f"m.{kind}",)]) == Reason.TOO_MANY_MEMBERS


def test_unexpected_reader_error_becomes_container_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.zip").write_bytes(make_zip({"x.jpg": jpeg()}))
    (tmp_path / "b.jpg").write_bytes(jpeg())

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected failure")

    monkeypatch.setattr("verisight.sources.archives._zip_member", boom)
    got = by_chain(scan(tmp_path))
    assert reason(got[("a.zip",)]) == Reason.CORRUPT_ARCHIVE
    assert got[("a.zip",)].error is not None
    assert "unexpected failure" in got[("a.zip",)].error.detail
    assert got[("b.jpg",)].error is None


def test_junk_after_a_complete_gzip_keeps_the_member_and_flags_the_container(
    tmp_path: Path,
) -> None:
    (tmp_path / "photo.jpg.gz").write_bytes(gzip.compress(jpeg()) + b"hidden trailing bytes")
    got = by_chain(scan(tmp_path))
    assert got[("photo.jpg.gz", "photo.jpg")].data == jpeg()
    top = got[("photo.jpg.gz",)]
    assert reason(top) == Reason.CORRUPT_ARCHIVE and top.error is not None
    assert "after the end of the gzip stream" in top.error.detail


def test_duplicate_member_names_stay_distinct_sightings(tmp_path: Path) -> None:
    import warnings
    import zipfile

    from verisight.limits import Limits
    from verisight.sources import iter_items

    path = tmp_path / "dup.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("a.txt", b"one")
            zf.writestr("a.txt", b"two")
            zf.writestr("../x.txt", b"bad")
            zf.writestr("../x.txt", b"bad")
    items = [i for i in iter_items([path], Limits()) if not i.is_container]
    locators = [i.provenance.locator for i in items]
    assert len(locators) == 4 and len(set(locators)) == 4
    assert [i.provenance.path for i in items][:2] == [f"{path} › a.txt"] * 2
