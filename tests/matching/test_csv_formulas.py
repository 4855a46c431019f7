"""Spreadsheet formula injection: CSV exports never start a cell with a formula character,
and a write → read round trip keeps labels exactly as they were."""

from __future__ import annotations

import csv
import io

import pytest

from verisight.matching import BankEntry, read_bank, write_bank
from verisight.matching.formats.csvbank import FORMULA_START, safe_cell

MD5 = "ab" * 16
FORMULAS = ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1+2", "\r=1+2", '=HYPERLINK("x")', "'=kept"]


def export_csv(entries: list[BankEntry]) -> str:
    out = io.StringIO(newline="")
    write_bank(entries, out, "csv")
    return out.getvalue()


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_export_neutralises_formula_cells_and_round_trips(text: str) -> None:
    entry = BankEntry(md5=MD5, label=text, series=text, comments=text, source_id=text, category=1)
    written = export_csv([entry])
    for row in csv.reader(io.StringIO(written, newline="")):
        for cell in row:
            assert not cell.startswith(FORMULA_START), row
    [back] = read_bank(io.BytesIO(written.encode()), "csv")
    assert (back.label, back.series, back.comments, back.source_id) == (text,) * 4
    assert back == entry


def test_import_keeps_a_leading_tab_that_neutralises_a_cell() -> None:
    """Stripping the tab would turn ``\\t=1+2`` back into the formula ``=1+2``."""
    text = f'md5,label,comments\n{MD5},\t=1+2,"\r=3"\n'
    [entry] = read_bank(io.BytesIO(text.encode()), "csv")
    assert entry.label == "\t=1+2"
    assert entry.comments == "\r=3"
    rows = list(csv.reader(io.StringIO(export_csv([entry]), newline="")))
    assert (rows[1][5], rows[1][10]) == ("'\t=1+2", "'\r=3")


def test_spaces_around_text_cells_are_still_stripped() -> None:
    [entry] = read_bank(io.BytesIO(f"md5,label\n{MD5},  neutral label  \n".encode()), "csv")
    assert entry.label == "neutral label"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=x", "'=x"),
        ("-", "'-"),
        ("plain", "plain"),
        ("", ""),
        ("'=x", "''=x"),
        ("'ok", "''ok"),
        ("a=b", "a=b"),
    ],
)
def test_safe_cell(value: str, cell: str) -> None:
    assert safe_cell(value) == cell
