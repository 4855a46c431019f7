"""A huge field in a bank file: linear to read, stored cut to a documented length and marked."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from verisight.matching import InvalidJSONError, read_bank
from verisight.matching.formats._capped import MAX_STRING_BYTES, CappedStrings
from verisight.matching.formats._fields import MAX_TEXT_CHARS, TRUNCATED

MD5 = "ab" * 16


def vics_with_comment(comment: str) -> bytes:
    doc = {"value": [{"MD5": MD5, "Comments": comment}, {"MD5": "cd" * 16, "Series": "s"}]}
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "unit",
    ["a", "é", "x\n", '\u00e9"\\', "\U0001f600", "x\u0001"],
    ids=["ascii", "utf8", "escape", "mixed", "surrogates", "control"],
)
def test_vics_huge_comment_is_stored_cut_and_marked(unit: str) -> None:
    comment = unit * (3 * 1024 * 1024 // len(unit.encode()))  # about 3 MB
    raw = vics_with_comment(comment)
    for ascii_only in (False, True):
        if ascii_only:
            raw = json.dumps(json.loads(raw)).encode()  # every non-ASCII one as a \u escape
        entries = list(read_bank(io.BytesIO(raw), "vics"))
        assert [e.md5 for e in entries] == [MD5, "cd" * 16]
        stored = entries[0].comments
        assert stored is not None
        assert len(stored) == MAX_TEXT_CHARS
        assert stored.endswith(TRUNCATED)
        kept = stored[: -len(TRUNCATED)]
        assert comment.strip().startswith(kept.strip())
        assert entries[1].series == "s"


def test_text_at_the_limit_is_kept_whole() -> None:
    comment = "b" * MAX_TEXT_CHARS
    [entry, _] = read_bank(io.BytesIO(vics_with_comment(comment)), "vics")
    assert entry.comments == comment


def test_memory_does_not_grow_with_the_field() -> None:
    """What reaches the JSON lexer is bounded, so neither time nor memory can go quadratic."""
    for size in (1, 8):
        raw = b'{"value": [{"Comments": "' + b"z" * (size * 1024 * 1024) + b'"}]}'
        capped = CappedStrings(io.BytesIO(raw), b"[cut]")
        out = io.BufferedReader(capped).read()
        assert len(out) < MAX_STRING_BYTES + 100
        assert json.loads(out)["value"][0]["Comments"].endswith("z[cut]")
        assert capped.cut == 1


def test_huge_number_is_a_located_error_in_linear_time() -> None:
    raw = b'{"value": [{"MD5": "' + MD5.encode() + b'", "Category": ' + b"7" * 8_000_000 + b"}]}"
    capped = CappedStrings(io.BytesIO(raw), b"[cut]")
    assert len(io.BufferedReader(capped).read()) < MAX_STRING_BYTES + 100
    with pytest.raises(InvalidJSONError) as info:
        list(read_bank(io.BytesIO(raw), "vics"))
    assert info.value.location is not None and info.value.location.path == "$.value[0].Category"


_UNITS = ["a", "é", "€", "\U0001f600", '"', "\\", "\n", "\u0001", " ", "{", ":"]


@pytest.mark.parametrize("seed", range(60))
def test_filter_against_json_at_every_block_boundary(seed: int) -> None:
    """Short strings and all other bytes pass unchanged; long ones are a prefix plus the mark."""
    rng = random.Random(seed)
    limit, block = rng.randint(40, 90), rng.randint(8, 30)
    doc: dict[str, list[Any]] = {
        "".join(rng.choices(_UNITS, k=rng.randint(0, 60))): [
            "".join(rng.choices(_UNITS, k=rng.randint(0, 80))) for _ in range(rng.randint(0, 6))
        ]
        for _ in range(rng.randint(1, 8))
    }
    numbers = [int("9" * rng.randint(1, 140)) for _ in range(rng.randint(0, 5))]
    doc["numbers"] = numbers
    ascii_only = rng.random() < 0.5
    raw = json.dumps(doc, ensure_ascii=ascii_only).encode()
    capped = CappedStrings(io.BytesIO(raw), b"<cut>", limit=limit, block=block)
    out = json.loads(io.BufferedReader(capped).read())  # still valid JSON

    def check(before: str, after: str) -> None:
        encoded = json.dumps(before, ensure_ascii=ascii_only).encode()
        if len(encoded) - 2 <= limit:
            assert after == before
        else:
            assert after.endswith("<cut>")
            assert before.startswith(after[: -len("<cut>")])

    for before, after in zip(numbers, out.pop("numbers"), strict=True):
        digits = str(before)
        assert str(after) == (digits if len(digits) <= limit else digits[:limit])
    doc.pop("numbers")
    assert len(out) <= len(doc)
    for (k1, v1), (k2, v2) in zip(doc.items(), out.items(), strict=False):
        check(k1, k2)
        assert len(v1) == len(v2)
        for a, b in zip(v1, v2, strict=True):
            check(a, b)
