"""CSV banks: header names, optional fields, and every bad row with its line and column."""

from __future__ import annotations

import io

import pytest

from verisight.matching import (
    BadHeaderError,
    BankEntry,
    InvalidFieldError,
    MalformedHexError,
    MissingHashError,
    MixedHashTypesError,
    UnknownCategoryError,
    UnknownFormatError,
    WrongLengthError,
    read_bank,
)

MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
H64 = "ab" * 32


def read(text: str, fmt: str = "auto", **kwargs: bool) -> list[BankEntry]:
    return list(read_bank(io.BytesIO(text.encode()), fmt, name="bank.csv", **kwargs))


def test_every_column_and_loose_header_names() -> None:
    text = (
        "MD5,SHA-1,Sha_256,PDQ,PDQ Quality,Label,Category,Media ID,Series,"
        "Victim_Identified,Comments,unrelated\n"
        f"{MD5.upper()},{SHA1},{H64},{H64},90,first,1,77,s1,yes,a note,x\n"
        f"{MD5},,,,,,,,,,,\n"
    )
    first, second = read(text)
    assert first == BankEntry(
        md5=MD5,
        sha1=SHA1,
        sha256=H64,
        pdq=H64,
        pdq_quality=90,
        label="first",
        category=1,
        source_id="77",
        series="s1",
        victim_identified=True,
        comments="a note",
    )
    assert second == BankEntry(md5=MD5)
    assert first.location is not None and first.location.line == 2


def test_quoted_fields_spanning_lines_keep_the_first_line_number() -> None:
    text = f'md5,comments\n{MD5},"one\ntwo, three"\n\n{MD5},x\n'
    first, second = read(text)
    assert first.comments == "one\ntwo, three"
    assert (first.location and first.location.line, second.location and second.location.line) == (
        2,
        5,
    )


def test_comment_lines_before_the_header_and_a_bom() -> None:
    text = "\ufeff# exported by a tool\n\nsha1,label\n" + f"{SHA1},neutral\n"
    (entry,) = read(text)
    assert (entry.sha1, entry.label) == (SHA1, "neutral")


@pytest.mark.parametrize(
    "header", ["label,category", "md5,label,MD5", "name\n"], ids=["none", "twice", "bare"]
)
def test_bad_header_is_fatal_even_when_skipping(header: str) -> None:
    with pytest.raises((BadHeaderError, UnknownFormatError)) as info:
        read(header + f"\n{MD5},x,y\n", skip_invalid=True)
    assert "line 1" in str(info.value)
    with pytest.raises(BadHeaderError):
        read(header + f"\n{MD5},x,y\n", "csv", skip_invalid=True)


@pytest.mark.parametrize(
    ("row", "error", "column"),
    [
        (f"{MD5[:-1]}x,,1", MalformedHexError, "md5"),
        (f"{MD5}0,,1", WrongLengthError, "md5"),
        (f"{SHA1},,1", MixedHashTypesError, "md5"),
        (f",{MD5},1", MixedHashTypesError, "sha1"),
        (f"{MD5},,7", UnknownCategoryError, "category"),
        (f"{MD5},,-1", UnknownCategoryError, "category"),
        (f"{MD5},,A", InvalidFieldError, "category"),
        (",,1", MissingHashError, None),
        (f"{MD5},,1,extra", InvalidFieldError, None),
    ],
)
def test_bad_row_reports_line_and_column(
    row: str, error: type[Exception], column: str | None
) -> None:
    text = f"md5,sha1,category\n{MD5},,0\n{row}\n"
    with pytest.raises(error) as info:
        read(text)
    location = info.value.location  # type: ignore[attr-defined]
    assert (location.source, location.line, location.column) == ("bank.csv", 3, column)


def test_mixed_column_message_names_both_types() -> None:
    with pytest.raises(MixedHashTypesError, match=r"40-digit hash .SHA-1., not MD5"):
        read(f"md5\n{SHA1}\n")


def test_bad_victim_identified_and_quality() -> None:
    with pytest.raises(InvalidFieldError, match="victim_identified"):
        read(f"md5,victim_identified\n{MD5},perhaps\n")
    with pytest.raises(InvalidFieldError, match="0 to 100"):
        read(f"pdq,quality\n{H64},101\n")


def test_skip_invalid_lists_every_skipped_row() -> None:
    text = f"md5,category\n{MD5},1\nzz,1\n{MD5},9\n,2\n{MD5},5\n"
    reader = read_bank(io.BytesIO(text.encode()), skip_invalid=True, name="bank.csv")
    assert [e.category for e in reader] == [1, 5]
    assert [(s.location.line, s.location.column, s.code) for s in reader.skipped] == [
        (3, "md5", "malformed-hex"),
        (4, "category", "unknown-category"),
        (5, None, "missing-hash"),
    ]
    assert str(reader.skipped[1]).startswith("bank.csv, line 4, column 'category': unknown-cat")


def test_unclosed_quote_is_fatal() -> None:
    with pytest.raises(InvalidFieldError, match="malformed CSV"):
        read(f'md5,label\n{MD5},"never closed\n', "csv", skip_invalid=True)


def test_header_only_file_has_no_entries() -> None:
    assert read("md5,label\n") == []
