"""Format detection, the writers, and write → read round trips for every format."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from verisight.matching import (
    BankEntry,
    HashType,
    UnknownFormatError,
    detect_format,
    read_bank,
    write_bank,
)
from verisight.matching.formats import VICS_MODELS, WRITE_FORMATS

from .conftest import sample_entries

H64 = "ab" * 32


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'\xef\xbb\xbf  {"value": []}', "vics"),
        (b"# list\n\n" + b"0" * 32 + b"\n", "plain"),
        (b"pdq " + H64.encode() + b"\n", "pdq"),
        (H64.encode() + b",100,photo.jpg\n", "pdq"),
        (b"Label,SHA-256,category\n", "csv"),
        (b"md5\n" + b"0" * 32, "csv"),
        (b"", "plain"),
    ],
)
def test_detect_format(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bank"
    path.write_bytes(content)
    assert detect_format(path) == expected


@pytest.mark.parametrize(
    "content",
    [b"label,category\nx,1\n", b"hello world\n", b"<html>\n"],
    ids=["csv", "text", "html"],
)
def test_detect_format_refuses_what_it_cannot_read(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bank"
    path.write_bytes(content)
    with pytest.raises(UnknownFormatError) as info:
        detect_format(path)
    assert info.value.location is not None and info.value.location.line == 1


def carried(entry: BankEntry, fmt: str) -> BankEntry:
    """What ``fmt`` keeps of ``entry`` (see verisight.matching.formats.writers)."""
    if fmt == "csv":
        return entry
    if fmt == "vics":
        return dataclasses.replace(entry, label=None, pdq_quality=None)
    if fmt == "pdq":
        return BankEntry(pdq=entry.pdq, pdq_quality=entry.pdq_quality)
    return BankEntry.from_hashes({HashType(fmt): entry.hashes()[HashType(fmt)]})


@pytest.mark.parametrize("fmt", WRITE_FORMATS)
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    entries = sample_entries(12)
    path = tmp_path / f"bank.{fmt}"
    with path.open("w", encoding="utf-8", newline="") as out:
        result = write_bank(entries, out, fmt)
    expected = (
        []
        if fmt == "vpdq"  # sample entries are not video frames: see tests/video
        else [carried(e, fmt) for e in entries if fmt in ("csv", "vics") or e.hash(HashType(fmt))]
    )
    assert (result.written, result.left_out) == (len(expected), len(entries) - len(expected))
    read_as = fmt if fmt in ("sha256", "md5", "sha1") else "auto"
    assert list(read_bank(path, read_as)) == expected


@pytest.mark.parametrize("model", VICS_MODELS)
def test_vics_output_shape(model: str) -> None:
    out = io.StringIO()
    write_bank(sample_entries(3), out, "vics", vics_model=model)
    doc = json.loads(out.getvalue())
    assert doc["@odata.context"] == (
        f"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{model}/$metadata#Media"
    )
    first = doc["value"][0]
    assert first["MediaID"] == 1000 and first["MD5"] == sample_entries(1)[0].md5.upper()  # type: ignore[union-attr]
    assert {"HashName": "SHA256", "HashValue": sample_entries(1)[0].sha256} in first[
        "AlternativeHashes"
    ]
    assert doc["value"][1]["AlternativeHashes"][0]["HashName"] == "PDQ"


def test_unknown_write_format_and_model() -> None:
    with pytest.raises(UnknownFormatError):
        write_bank([], io.StringIO(), "photodna")
    with pytest.raises(UnknownFormatError):
        write_bank([], io.StringIO(), "vics", vics_model="Mars")


@pytest.mark.parametrize("fmt", [f for f in WRITE_FORMATS if f != "vpdq"])
def test_writers_stream(fmt: str) -> None:
    """Each entry is written before the next is asked for: nothing is collected first."""
    out = io.StringIO()
    seen: list[int] = []

    def entries() -> Iterator[BankEntry]:
        for entry in sample_entries(8):
            seen.append(len(out.getvalue()))
            yield dataclasses.replace(entry, md5=entry.md5 or "0" * 32, sha1="1" * 40)
            yield BankEntry(md5="2" * 32, sha1="3" * 40, sha256="4" * 64, pdq="5" * 64)

    write_bank(entries(), out, fmt)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
