"""Bank files are streamed: a 50 MB file is parsed in bounded memory and read lazily."""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from verisight.matching import read_bank
from verisight.matching.formats.plain import parse_hash_list

SIZE = 50 * 1024 * 1024
FILLER = "neutral filler text " * 100  # 2,000 characters


def _md5(i: int) -> str:
    return f"{i:032x}"


def _write(path: Path, header: str, item: Callable[[int], str], footer: str = "") -> int:
    """Write ``header``, items until the file is over :data:`SIZE`, ``footer``; item count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        written = len(header)
        while written < SIZE:
            chunk = "".join(item(count + k) for k in range(1000))
            out.write(chunk)
            written += len(chunk)
            count += 1000
        out.write(footer)
    return count


def _plain(path: Path) -> int:
    return _write(path, "# generated\n", lambda i: f"# {FILLER}\n{_md5(i)}\n")


def _csv(path: Path) -> int:
    return _write(path, "md5,label\n", lambda i: f"{_md5(i)},{FILLER}\n")


def _vics(path: Path) -> int:
    def media(i: int) -> str:
        doc = {"MediaID": i, "Category": 0, "MD5": _md5(i), "Comments": FILLER}
        return ("," if i else "") + json.dumps(doc)

    return _write(path, '{"odata.metadata": "x", "value": [{"CaseID": 1, "Media": [', media, "]}]}")


MAKERS = {"plain": _plain, "csv": _csv, "vics": _vics}


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    root = tmp_path_factory.mktemp("big")
    return {name: (root / name, make(root / name)) for name, make in MAKERS.items()}


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes taken from it."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.taken += len(data)
        return len(data)


@pytest.mark.parametrize("fmt", list(MAKERS))
def test_fifty_megabytes_parse_in_bounded_memory(
    big_files: dict[str, tuple[Path, int]], fmt: str
) -> None:
    path, expected = big_files[fmt]
    assert path.stat().st_size > SIZE
    tracemalloc.start()
    try:
        reader = read_bank(path)
        count = sum(1 for _ in reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (reader.format, count) == (fmt, expected)
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes while reading a {SIZE:,}-byte file"


@pytest.mark.parametrize("fmt", list(MAKERS))
def test_first_entry_needs_only_the_start_of_the_file(
    big_files: dict[str, tuple[Path, int]], fmt: str
) -> None:
    path, _ = big_files[fmt]
    with path.open("rb") as handle:
        stream = CountingReader(handle)
        entries = iter(read_bank(stream, fmt))  # type: ignore[arg-type]
        first = next(entries)
        assert first.md5 == _md5(0)
        assert stream.taken <= 256 * 1024, f"read {stream.taken:,} bytes for one entry"


def test_line_parser_takes_any_iterable_even_an_endless_one() -> None:
    endless: Iterator[str] = (_md5(i) + "\n" for i in itertools.count())
    first = list(itertools.islice(parse_hash_list(endless, hash_type=None, source="gen"), 3))
    assert [e.md5 for e in first] == [_md5(i) for i in range(3)]  # type: ignore[union-attr]
