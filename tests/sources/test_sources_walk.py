"""The filesystem walk: what a user relies on when pointing Verisight at a folder."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from tests.sources.builders import by_chain, jpeg, make_zip, reason, scan, write_tree
from verisight.errors import Reason
from verisight.limits import Limits
from verisight.sources import Item, iter_items


def test_plain_files_are_yielded_with_path_size_and_mtime(tmp_path: Path) -> None:
    write_tree(tmp_path, {"b.jpg": jpeg("blue"), "a.jpg": jpeg("red"), "sub/c.jpg": jpeg()})
    items = scan(tmp_path)
    assert [i.provenance.chain for i in items] == [
        (str(tmp_path / "a.jpg"),),
        (str(tmp_path / "b.jpg"),),
        (str(tmp_path / "sub" / "c.jpg"),),
    ]
    a = items[0]
    st = (tmp_path / "a.jpg").stat()
    assert a.path == tmp_path / "a.jpg"
    assert a.data is None and a.error is None and not a.skipped and not a.is_container
    assert (a.size, a.mtime_ns, a.depth) == (st.st_size, st.st_mtime_ns, 0)


def test_order_is_sorted_depth_first_and_repeatable(tmp_path: Path) -> None:
    names = ["z.jpg", "a/b/c.jpg", "a/a.jpg", "m.jpg", "a/z/y.jpg", "B.jpg"]
    write_tree(tmp_path, {n: jpeg() for n in names})
    first = [i.provenance.chain[0] for i in scan(tmp_path)]
    second = [i.provenance.chain[0] for i in scan(tmp_path)]
    rel = [os.path.relpath(p, tmp_path) for p in first]
    assert rel == ["B.jpg", "a/a.jpg", "a/b/c.jpg", "a/z/y.jpg", "m.jpg", "z.jpg"]
    assert first == second


def test_roots_may_be_files_and_folders_each_walked_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"d/one.jpg": jpeg(), "two.jpg": jpeg()})
    items = scan([tmp_path / "two.jpg", tmp_path / "d", tmp_path / "d"])
    assert [Path(i.provenance.chain[0]).name for i in items] == ["one.jpg", "two.jpg"]


def test_relative_root_gives_absolute_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"d/one.jpg": jpeg()})
    monkeypatch.chdir(tmp_path)
    (item,) = list(iter_items([Path("d")], Limits()))
    assert item.provenance.chain == (str(tmp_path / "d" / "one.jpg"),)


def test_zero_byte_file_is_yielded_normally(tmp_path: Path) -> None:
    (tmp_path / "empty.bin").write_bytes(b"")
    (item,) = scan(tmp_path)
    assert item.path == tmp_path / "empty.bin" and item.size == 0 and item.error is None


def test_missing_root_is_an_unreadable_item_not_an_exception(tmp_path: Path) -> None:
    (item,) = scan(tmp_path / "nope")
    assert reason(item) == Reason.UNREADABLE
    assert item.path is None and item.data is None


def test_symlink_inside_root_is_yielded_at_the_link_path(tmp_path: Path) -> None:
    write_tree(tmp_path, {"real/a.jpg": jpeg()})
    (tmp_path / "link.jpg").symlink_to(tmp_path / "real" / "a.jpg")
    items = by_chain(scan(tmp_path))
    link = items[("link.jpg",)]
    assert link.path == tmp_path / "link.jpg"  # the link's path, not the target's
    assert link.error is None and not link.skipped
    assert link.size == (tmp_path / "real" / "a.jpg").stat().st_size


def test_symlink_outside_root_is_skipped_and_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    root = tmp_path / "root"
    write_tree(outside, {"secret.jpg": jpeg(), "dir/x.jpg": jpeg()})
    root.mkdir()
    (root / "escape.jpg").symlink_to(outside / "secret.jpg")
    (root / "escape_dir").symlink_to(outside / "dir")
    (root / "relative.jpg").symlink_to("../outside/secret.jpg")
    items = by_chain(scan(root))
    assert set(items) == {("escape.jpg",), ("escape_dir",), ("relative.jpg",)}
    for item in items.values():
        assert item.skipped and reason(item) == Reason.SYMLINK_OUTSIDE_ROOT
        assert item.path is None and item.data is None


def test_symlinked_folder_inside_root_is_not_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"real/a.jpg": jpeg()})
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    items = by_chain(scan(tmp_path))
    assert set(items) == {("alias",), ("a.jpg",)}
    assert items[("alias",)].skipped and reason(items[("alias",)]) == Reason.SPECIAL_FILE


def test_broken_symlink_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (item,) = scan(tmp_path)
    assert reason(item) == Reason.UNREADABLE and not item.skipped


def test_symlinked_root_is_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"real/a.jpg": jpeg()})
    (tmp_path / "named").symlink_to(tmp_path / "real", target_is_directory=True)
    (item,) = scan(tmp_path / "named")
    assert item.provenance.chain == (str(tmp_path / "named" / "a.jpg"),)
    assert item.error is None


def test_fifo_is_skipped_without_being_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "after.jpg").write_bytes(jpeg())
    result: list[list[Item]] = []
    worker = threading.Thread(target=lambda: result.append(scan(tmp_path)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert result, "the walk hung on a FIFO"
    items = by_chain(result[0])
    assert items[("pipe",)].skipped and reason(items[("pipe",)]) == Reason.SPECIAL_FILE
    assert items[("after.jpg",)].error is None


def test_socket_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        (item,) = scan(tmp_path)
    assert item.skipped and reason(item) == Reason.SPECIAL_FILE


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their mode")
def test_permission_denied_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes(jpeg())
    path.chmod(0)
    try:
        (item,) = scan(tmp_path)
    finally:
        path.chmod(0o600)
    assert reason(item) == Reason.UNREADABLE and item.path is None


def test_unreadable_file_does_not_stop_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.jpg": jpeg(), "b.jpg": jpeg(), "c.jpg": jpeg()})
    real_open = os.open

    def deny(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("b.jpg"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    items = by_chain(scan(tmp_path))
    assert reason(items[("b.jpg",)]) == Reason.UNREADABLE
    assert items[("b.jpg",)].path is None and items[("b.jpg",)].data is None
    assert items[("a.jpg",)].error is None and items[("c.jpg",)].error is None


def test_archive_is_recognised_by_content_not_extension(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(make_zip({"inside.jpg": jpeg()}))
    (tmp_path / "fake.zip").write_bytes(jpeg())
    items = by_chain(scan(tmp_path))
    assert items[("holiday.jpg",)].is_container
    assert items[("holiday.jpg", "inside.jpg")].data == jpeg()
    assert not items[("fake.zip",)].is_container and items[("fake.zip",)].path is not None


def test_depth_limit_zero_does_not_open_top_level_archives(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(make_zip({"x.jpg": jpeg()}))
    (item,) = scan(tmp_path, Limits(max_archive_depth=0))
    assert item.skipped and reason(item) == Reason.DEPTH_EXCEEDED
    assert item.path == tmp_path / "a.zip" and not item.is_container


def test_plain_files_are_sniffed_not_read_whole(tmp_path: Path) -> None:
    """A huge (sparse) file costs one small read: its content is left to analysis."""
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as out:
        out.write(jpeg())
        out.truncate(64 << 30)  # 64 GiB, sparse: reading it whole would never finish in time
    result: list[list[Item]] = []
    worker = threading.Thread(target=lambda: result.append(scan(tmp_path)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert result, "the walk read the whole file"
    (item,) = result[0]
    assert item.path == huge and item.size == 64 << 30 and item.data is None


def test_unreadable_folder_is_reported_and_the_walk_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a/x.jpg": jpeg(), "b/y.jpg": jpeg(), "c.jpg": jpeg()})
    real_scandir = os.scandir

    def deny(path: str) -> object:
        if str(path).endswith(os.sep + "a"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    items = by_chain(scan(tmp_path))
    assert set(items) == {("a",), ("y.jpg",), ("c.jpg",)}
    assert reason(items[("a",)]) == Reason.UNREADABLE
