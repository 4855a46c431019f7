"""7z archives: streamed members, encryption, unsafe names, limits, early abandon."""

from __future__ import annotations

import threading
from pathlib import Path

import py7zr

from tests.sources.builders import (
    by_chain,
    jpeg,
    make_7z,
    make_zip,
    png_noise,
    reason,
    rename_in_7z,
    scan,
)
from verisight.errors import Reason
from verisight.limits import Limits
from verisight.sources import iter_items

MIB = 1 << 20


def test_7z_members_and_nesting(tmp_path: Path) -> None:
    files = {"photos/a.jpg": jpeg("red"), "b.png": png_noise(3), "empty.txt": b""}
    inner = make_7z(files)
    (tmp_path / "outer.zip").write_bytes(make_zip({"inner.7z": inner}))
    (tmp_path / "top.7z").write_bytes(make_7z({**files, "nested.zip": make_zip({"x.jpg": jpeg()})}))
    items = scan(tmp_path)
    got = by_chain(items)
    for name, data in files.items():
        assert got[("outer.zip", "inner.7z", name)].data == data
        assert got[("top.7z", name)].data == data
        assert got[("top.7z", name)].depth == 1
    assert got[("top.7z", "nested.zip", "x.jpg")].data == jpeg()
    assert got[("outer.zip", "inner.7z")].is_container
    top = got[("top.7z",)]
    assert top.is_container and top.error is None and items[-1] is top
    assert len(items) == 2 * len(files) + 2 + 3  # members, containers, nested.zip + x.jpg


def test_7z_non_solid_multi_folder(tmp_path: Path) -> None:
    files = {f"{i}.png": png_noise(i, 16) for i in range(5)}
    (tmp_path / "ns.7z").write_bytes(make_7z(files, filters=[{"id": py7zr.FILTER_COPY}]))
    got = by_chain(scan(tmp_path))
    assert {c[1]: i.data for c, i in got.items() if len(c) == 2} == files


def test_encrypted_7z_content(tmp_path: Path) -> None:
    (tmp_path / "e.7z").write_bytes(make_7z({"a.jpg": jpeg(), "b.jpg": jpeg()}, password="pw"))
    got = by_chain(scan(tmp_path))
    assert reason(got[("e.7z",)]) == Reason.ENCRYPTED and got[("e.7z",)].is_container
    for name in ("a.jpg", "b.jpg"):
        assert reason(got[("e.7z", name)]) == Reason.ENCRYPTED
        assert got[("e.7z", name)].data is None


def test_encrypted_7z_header(tmp_path: Path) -> None:
    data = make_7z({"a.jpg": jpeg()}, password="pw", header_encryption=True)
    (tmp_path / "h.7z").write_bytes(data)
    (item,) = scan(tmp_path)
    assert reason(item) == Reason.ENCRYPTED and item.is_container
    assert item.path == tmp_path / "h.7z"


def _plain_header_7z(files: dict[str, bytes]) -> bytes:
    import io

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        archive.set_encoded_header_mode(False)
        for name, data in files.items():
            archive.writestr(data, name)
    return out.getvalue()


def test_unsafe_7z_name_does_not_hide_the_other_members(tmp_path: Path) -> None:
    raw = _plain_header_7z({"aa/evil.jpg": jpeg("red"), "good.jpg": jpeg("blue")})
    (tmp_path / "u.7z").write_bytes(rename_in_7z(raw, "aa/evil.jpg", "../evil.jpg"))
    got = by_chain(scan(tmp_path))
    assert reason(got[("u.7z", "../evil.jpg")]) == Reason.UNSAFE_PATH
    assert got[("u.7z", "../evil.jpg")].data is None
    assert got[("u.7z", "good.jpg")].data == jpeg("blue")
    assert got[("u.7z",)].error is None


def test_7z_member_too_large_and_archive_ratio(tmp_path: Path) -> None:
    (tmp_path / "big.7z").write_bytes(make_7z({"big.png": png_noise(1, 64), "s.jpg": jpeg()}))
    got = by_chain(scan(tmp_path, Limits(max_member_bytes=len(jpeg()) + 10)))
    assert reason(got[("big.7z", "big.png")]) == Reason.TOO_LARGE
    assert got[("big.7z", "s.jpg")].data == jpeg()

    (tmp_path / "big.7z").unlink()
    (tmp_path / "zeros.7z").write_bytes(make_7z({"a.jpg": jpeg(), "zeros.bin": bytes(8 * MIB)}))
    got = by_chain(scan(tmp_path, Limits(max_compression_ratio=50)))
    assert reason(got[("zeros.7z",)]) == Reason.ZIP_BOMB
    assert got[("zeros.7z", "a.jpg")].data == jpeg()
    assert reason(got[("zeros.7z", "zeros.bin")]) == Reason.ZIP_BOMB


def test_7z_total_budget(tmp_path: Path) -> None:
    files = {f"{i}.png": png_noise(i, 64) for i in range(6)}
    (tmp_path / "t.7z").write_bytes(make_7z(files))
    got = by_chain(scan(tmp_path, Limits(max_total_bytes=2 * len(files["0.png"]) + 100)))
    assert reason(got[("t.7z",)]) == Reason.ZIP_BOMB
    read = [c for c, i in got.items() if len(c) == 2 and i.data is not None]
    assert 1 <= len(read) < len(files)


def test_7z_too_many_members(tmp_path: Path) -> None:
    (tmp_path / "m.7z").write_bytes(make_7z({f"{i}.jpg": jpeg() for i in range(6)}))
    got = by_chain(scan(tmp_path, Limits(max_members=2)))
    assert len([c for c in got if len(c) == 2]) == 2
    assert reason(got[("m.7z",)]) == Reason.TOO_MANY_MEMBERS


def test_truncated_7z_is_a_corrupt_container(tmp_path: Path) -> None:
    raw = make_7z({f"{i}.png": png_noise(i) for i in range(4)})
    (tmp_path / "cut.7z").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "z.jpg").write_bytes(jpeg())
    got = by_chain(scan(tmp_path))
    assert reason(got[("cut.7z",)]) == Reason.CORRUPT_ARCHIVE
    assert got[("z.jpg",)].error is None


def test_corrupt_7z_data_reports_member_and_container(tmp_path: Path) -> None:
    files = {"a.png": png_noise(1), "b.png": png_noise(2)}
    raw = bytearray(make_7z(files, filters=[{"id": py7zr.FILTER_COPY}]))
    raw[32 + len(files["a.png"]) + 50] ^= 0xFF  # inside b.png's stored data
    (tmp_path / "c.7z").write_bytes(bytes(raw))
    got = by_chain(scan(tmp_path))
    assert got[("c.7z", "a.png")].data == files["a.png"]
    assert reason(got[("c.7z", "b.png")]) == Reason.CORRUPT_ARCHIVE
    assert got[("c.7z", "b.png")].data is None
    assert reason(got[("c.7z",)]) == Reason.CORRUPT_ARCHIVE


def test_abandoning_the_walk_mid_7z_stops_the_extraction_thread(tmp_path: Path) -> None:
    (tmp_path / "a.7z").write_bytes(make_7z({f"{i}.png": png_noise(i) for i in range(5)}))
    before = {t.ident for t in threading.enumerate()}
    walk = iter_items([tmp_path], Limits())
    first = next(walk)
    assert first.data is not None
    walk.close()  # type: ignore[attr-defined]
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftover == []
