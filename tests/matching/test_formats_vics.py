"""Project VIC VICS JSON: v1 and v2, case and hash-set layouts, tolerance, and precise errors."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

import pytest

from verisight.matching import (
    BankEntry,
    InvalidFieldError,
    InvalidJSONError,
    MalformedHexError,
    MissingHashError,
    MixedHashTypesError,
    UnknownCategoryError,
    read_bank,
)

MD5 = ["%032x" % (i + 1) for i in range(4)]
SHA1 = ["%040x" % (i + 11) for i in range(4)]
SHA256 = "cd" * 32
PDQ = "ef" * 32
V1 = "http://www.icmec.org/ProjectVic/$metadata#Cases"
V2 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases"


def media(i: int, **extra: Any) -> dict[str, Any]:
    return {"MediaID": i + 1, "Category": i % 6, "MD5": MD5[i].upper(), "SHA1": SHA1[i], **extra}


def case_doc(items: list[Any], context: tuple[str, str] = ("@odata.context", V2)) -> dict[str, Any]:
    case = {
        "CaseID": "b2f4-neutral",
        "CaseNumber": "T-1",
        "ContactName": "Analyst",
        "SourceApplicationName": "generator",
        "TotalMediaFiles": "not a number",  # real exports are inconsistent
        "Media": items,
    }
    return {context[0]: context[1], "value": [case]}


def read(doc: Any, *, raw: bytes | None = None, **kwargs: bool) -> list[BankEntry]:
    data = raw if raw is not None else json.dumps(doc).encode()
    return list(read_bank(io.BytesIO(data), name="case.json", **kwargs))


def test_v2_case_layout_reads_every_field() -> None:
    item = media(
        0,
        Series="S-9",
        VictimIdentified=True,
        Comments="neutral comment",
        IsPrecategorized="sometimes",
        AlternativeHashes=[
            {"HashName": "SHA256", "HashValue": SHA256.upper()},
            {"HashName": "PDQ", "HashValue": PDQ},
            {"HashName": "PhotoDNA", "HashValue": "AAAA"},
        ],
        MediaFiles=[{"FileName": "a.jpg", "FilePath": "x/"}],
        Exifs=[{"PropertyName": "Make", "PropertyValue": "none"}],
    )
    (entry,) = read(case_doc([item]))
    assert entry == BankEntry(
        md5=MD5[0],
        sha1=SHA1[0],
        sha256=SHA256,
        pdq=PDQ,
        category=0,
        source_id="1",
        series="S-9",
        victim_identified=True,
        comments="neutral comment",
    )
    assert entry.location is not None and entry.location.path == "$.value[0].Media[0]"


def test_v1_case_layout_and_key_case() -> None:
    item = {"mediaid": "m-1", "category": "2", "md5": MD5[1], "SHA1": None, "alternativehashes": []}
    doc = case_doc([item, media(2)], context=("odata.metadata", V1))
    first, second = read(doc)
    assert (first.md5, first.sha1, first.category, first.source_id) == (MD5[1], None, 2, "m-1")
    assert second.location is not None and second.location.path == "$.value[0].Media[1]"


def test_hash_set_layout() -> None:
    doc = {"@odata.context": V2.replace("#Cases", "#Media"), "value": [media(0), media(1)]}
    entries = read(doc)
    assert [e.md5 for e in entries] == MD5[:2]
    assert entries[1].location is not None and entries[1].location.path == "$.value[1]"


def test_several_cases_and_a_case_without_media() -> None:
    doc = {
        "value": [
            {"CaseID": "1", "Media": [media(0)]},
            {"CaseID": "2"},
            {"CaseID": "3", "Media": [media(1)]},
        ]
    }
    assert [e.md5 for e in read(doc)] == MD5[:2]


@pytest.mark.parametrize(
    "prefix", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE], ids=["utf8-bom", "utf16"]
)
def test_byte_order_marks(prefix: bytes) -> None:
    text = json.dumps(case_doc([media(0)]))
    data = prefix + (text.encode("utf-16-le") if prefix == codecs.BOM_UTF16_LE else text.encode())
    assert [e.md5 for e in read(None, raw=data)] == MD5[:1]


@pytest.mark.parametrize(
    ("field", "value", "error", "path"),
    [
        ("Category", 6, UnknownCategoryError, "$.value[0].Media[1].Category"),
        ("Category", -1, UnknownCategoryError, "$.value[0].Media[1].Category"),
        ("Category", "CAM", InvalidFieldError, "$.value[0].Media[1].Category"),
        ("MD5", "z" * 32, MalformedHexError, "$.value[0].Media[1].MD5"),
        ("MD5", SHA1[0], MixedHashTypesError, "$.value[0].Media[1].MD5"),
        ("VictimIdentified", "unsure", InvalidFieldError, "$.value[0].Media[1].VictimIdentified"),
        ("Comments", {"a": 1}, InvalidFieldError, "$.value[0].Media[1].Comments"),
    ],
)
def test_bad_field_reports_its_json_path(
    field: str, value: Any, error: type[Exception], path: str
) -> None:
    bad = media(1)
    bad[field] = value
    with pytest.raises(error) as info:
        read(case_doc([media(0), bad, media(2)]))
    assert info.value.location.path == path  # type: ignore[attr-defined]
    assert str(info.value).startswith(f"case.json, {path}: ")


def test_bad_alternative_hash_reports_its_item() -> None:
    bad = media(
        0,
        AlternativeHashes=[
            {"HashName": "PDQ", "HashValue": PDQ},
            {"HashName": "SHA-256", "HashValue": "ab"},
        ],
    )
    with pytest.raises(Exception) as info:
        read(case_doc([bad]))
    assert info.value.location.path == "$.value[0].Media[0].AlternativeHashes[1]"  # type: ignore[attr-defined]


def test_media_without_a_usable_hash() -> None:
    only_photodna = {"MediaID": 5, "Category": 1, "PhotoDNA": "AAAA"}
    with pytest.raises(MissingHashError, match="PhotoDNA is not supported") as info:
        read(case_doc([only_photodna]))
    assert info.value.location is not None and info.value.location.path == "$.value[0].Media[0]"


def test_truncated_json_is_fatal_and_located() -> None:
    text = json.dumps(case_doc([media(0), media(1), media(2)]))
    cut = text[: text.index(MD5[2].upper()) + 5]
    with pytest.raises(InvalidJSONError) as info:
        read(None, raw=cut.encode(), skip_invalid=True)
    assert info.value.location is not None and info.value.location.path == "$.value[0].Media[2]"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"value": [{"MD5": "' + MD5[0].encode() + b'"},,]}', "$.value[1]"),
        (b'{"value": [] } trailing', "$"),
        (b'{"odata.metadata": "x"}', "$"),
        (b'{"value": {"MD5": "x"}}', "$.value"),
        (b"[1, 2]", "$"),
        (
            b"{" + b'"value": [{"Media": [' + b"[" * 100 + b"]" * 100 + b"]}]}",
            "$.value[0].Media[0]",
        ),
    ],
    ids=["syntax", "trailing", "no-value", "value-not-array", "not-object", "too-deep"],
)
def test_invalid_or_non_vics_json(raw: bytes, where: str) -> None:
    with pytest.raises(InvalidJSONError) as info:
        list(read_bank(io.BytesIO(raw), "vics", skip_invalid=True, name="case.json"))
    assert info.value.location is not None and info.value.location.path == where


def test_skip_invalid_keeps_good_media_and_lists_bad_ones() -> None:
    items = [media(0), media(1, Category=9), "not an object", media(2, MD5="00"), media(3)]
    reader = read_bank(io.BytesIO(json.dumps(case_doc(items)).encode()), skip_invalid=True)
    assert [e.md5 for e in reader] == [MD5[0], MD5[3]]
    assert [(s.location.path, s.code) for s in reader.skipped] == [
        ("$.value[0].Media[1].Category", "unknown-category"),
        ("$.value[0].Media[2]", "invalid-field"),
        ("$.value[0].Media[3].MD5", "wrong-length"),
    ]
    assert reader.format == "vics"


@pytest.mark.parametrize(
    ("raw", "fmt", "message"),
    [
        (b'{"odata.metadata": "x", "value": [{"Media": [{"\xc0\x9eategory": 0}]}]}', "auto",
         "not utf-8 text"),
        (b'{"odata.metadata": "x", "value": [{"Comments": "a\xffb"}]}', "vics", "invalid bytes"),
        (codecs.BOM_UTF16_BE + b"{;\xff\xff[", "vics", "not utf-16-be text"),
    ],
    ids=["bad-utf8-key", "bad-utf8-string", "truncated-utf16"],
)  # fmt: skip
def test_text_that_is_not_its_encoding_is_an_import_error(
    raw: bytes, fmt: str, message: str
) -> None:
    """Found by fuzzing: bytes that are not valid UTF-8 (or UTF-16) escaped as a raw
    UnicodeDecodeError instead of the import's located error."""
    with pytest.raises(InvalidJSONError, match=message):
        list(read_bank(io.BytesIO(raw), fmt, name="case.json"))
