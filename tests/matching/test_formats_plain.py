"""Plain hash lists and Meta's PDQ lines: what is read, and every bad line with its number."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from verisight.matching import (
    AmbiguousHashTypeError,
    BankEntry,
    InvalidFieldError,
    MalformedHexError,
    MixedHashTypesError,
    UnknownFormatError,
    WrongLengthError,
    read_bank,
)

MD5 = ["0" * 31 + str(i) for i in range(3)]
SHA1 = ["1" * 39 + str(i) for i in range(3)]
H64 = ["a" * 63 + str(i) for i in range(3)]


def write(tmp_path: Path, text: str, name: str = "list.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_md5_list_with_comments_blanks_case_and_crlf(tmp_path: Path) -> None:
    text = f"# exported list\r\n\r\n{MD5[0].upper()}\r\n  {MD5[1]}  \r\n# note\r\n{MD5[2]}"
    reader = read_bank(write(tmp_path, text))
    entries = list(reader)
    assert reader.format == "plain"
    assert [e.md5 for e in entries] == MD5
    assert [e.location.line for e in entries if e.location] == [3, 4, 6]
    assert entries[0] == BankEntry(md5=MD5[0])


def test_sha1_list_inferred(tmp_path: Path) -> None:
    assert [e.sha1 for e in read_bank(write(tmp_path, "\n".join(SHA1)))] == SHA1


@pytest.mark.parametrize("fmt", ["sha256", "pdq"])
def test_64_digit_lists_read_when_declared(tmp_path: Path, fmt: str) -> None:
    entries = list(read_bank(write(tmp_path, "\n".join(H64)), fmt))
    assert [getattr(e, fmt) for e in entries] == H64


def test_64_digit_list_undeclared_is_ambiguous_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(AmbiguousHashTypeError) as info:
        list(read_bank(write(tmp_path, "# header\n" + H64[0])))
    assert info.value.location is not None and info.value.location.line == 2
    assert "--format sha256" in str(info.value)


def test_mixed_types_name_the_line_and_what_set_the_type(tmp_path: Path) -> None:
    text = "\n".join([MD5[0], MD5[1], SHA1[0]])
    with pytest.raises(MixedHashTypesError) as info:
        list(read_bank(write(tmp_path, text)))
    assert info.value.location is not None and info.value.location.line == 3
    assert "SHA-1" in info.value.reason and "line 1" in info.value.reason


def test_declared_type_rejects_other_types_as_mixed(tmp_path: Path) -> None:
    with pytest.raises(MixedHashTypesError) as info:
        list(read_bank(write(tmp_path, f"{MD5[0]}\n{H64[0]}"), "md5"))
    assert info.value.location is not None and info.value.location.line == 2
    assert "the format" in info.value.reason


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("0" * 31 + "g", MalformedHexError),
        ("0" * 31, WrongLengthError),
        ("0" * 33, WrongLengthError),
    ],
)
def test_bad_line_raises_its_error_with_line_number(
    tmp_path: Path, bad: str, error: type[Exception]
) -> None:
    path = write(tmp_path, f"{MD5[0]}\n\n{bad}\n{MD5[1]}\n")
    with pytest.raises(error) as info:
        list(read_bank(path, "md5"))
    assert f"{path}, line 3" in str(info.value)


def test_skip_invalid_keeps_good_lines_and_lists_every_bad_one(tmp_path: Path) -> None:
    text = "\n".join([MD5[0], "nothex" + "0" * 26, MD5[1], "0" * 30, SHA1[0], MD5[2]])
    reader = read_bank(write(tmp_path, text), skip_invalid=True)
    assert [e.md5 for e in reader] == MD5
    assert [(s.location.line, s.code) for s in reader.skipped] == [
        (2, "malformed-hex"),
        (4, "wrong-length"),
        (5, "mixed-hash-types"),
    ]
    assert reader.count == 3


def test_pdq_lines_in_meta_forms(tmp_path: Path) -> None:
    text = "\n".join(
        [
            f"pdq {H64[0]}",
            f"{H64[1]},87",
            f"{H64[2]},100,/some/photo.jpg",
            f"PDQ\t{H64[0].upper()}",
        ]
    )
    reader = read_bank(write(tmp_path, text))
    entries = list(reader)
    assert reader.format == "pdq"
    assert [(e.pdq, e.pdq_quality) for e in entries] == [
        (H64[0], None),
        (H64[1], 87),
        (H64[2], 100),
        (H64[0], None),
    ]


@pytest.mark.parametrize("quality", ["101", "-1", "high", "4.5"])
def test_pdq_line_with_bad_quality(tmp_path: Path, quality: str) -> None:
    with pytest.raises(InvalidFieldError) as info:
        list(read_bank(write(tmp_path, f"{H64[0]},50\n{H64[1]},{quality}\n"), "pdq"))
    assert info.value.location is not None and info.value.location.line == 2


def test_pdq_list_rejects_an_md5(tmp_path: Path) -> None:
    with pytest.raises(MixedHashTypesError):
        list(read_bank(write(tmp_path, f"pdq {H64[0]}\n{MD5[0]}\n")))


@pytest.mark.parametrize(
    "prefix", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["u8", "le", "be"]
)
def test_byte_order_marks(tmp_path: Path, prefix: bytes) -> None:
    encoding = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le"}.get(prefix, "utf-16-be")
    path = tmp_path / "bom.txt"
    path.write_bytes(prefix + "\r\n".join(MD5).encode(encoding))
    assert [e.md5 for e in read_bank(path)] == MD5


def test_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(MD5[0].encode() + b"\n# caf\xe9\n")
    with pytest.raises(InvalidFieldError) as info:
        list(read_bank(path, "md5", skip_invalid=True))
    assert info.value.location is not None and info.value.location.line == 2
    assert "UTF-8" in info.value.reason


def test_a_line_over_the_limit_is_refused_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "one-line.txt"
    path.write_bytes(b"0" * (2 * 1024 * 1024))
    with pytest.raises(InvalidFieldError) as info:
        list(read_bank(path, "md5", skip_invalid=True))
    assert "longer than" in info.value.reason


def test_reads_from_a_binary_stream_and_names_it() -> None:
    stream = io.BytesIO("\n".join(MD5).encode())
    reader = read_bank(stream, name="upload")
    assert [e.md5 for e in reader] == MD5
    bad = read_bank(io.BytesIO(b"xyz\n"), "md5", name="upload")
    with pytest.raises(MalformedHexError, match=r"^upload, line 1"):
        list(bad)


def test_unknown_format_name() -> None:
    with pytest.raises(UnknownFormatError):
        read_bank(io.BytesIO(b""), "photodna")


def test_empty_file_has_no_entries(tmp_path: Path) -> None:
    reader = read_bank(write(tmp_path, "# nothing yet\n\n"))
    assert list(reader) == []
    assert reader.format == "plain"
