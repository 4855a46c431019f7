"""The bank store keeps and returns the domain ``BankEntry`` (no parallel row class), on
SQLite and PostgreSQL; a CSV export through the CLI never writes a live formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from verisight.case import Case
from verisight.cli import app
from verisight.matching import read_bank
from verisight.matching.entry import BankEntry
from verisight.matching.formats.csvbank import FORMULA_START

MD5 = ["%032x" % (i + 1) for i in range(3)]
LABELS = ["=1+2", "@SUM(A1)", "\t-3"]


def _bank_csv(tmp_path: Path) -> Path:
    path = tmp_path / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["md5", "label", "category", "series"])
        for md5, label in zip(MD5, LABELS, strict=True):
            writer.writerow([md5, label, 1, "neutral series"])
    return path


def test_store_returns_the_domain_bank_entry(tmp_path: Path, database_url: str) -> None:
    path = _bank_csv(tmp_path)
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.banking.import_file(path, "list")
        stored = list(case.banking.entries("list"))
    assert all(type(e) is BankEntry for e in stored)
    assert stored == list(read_bank(path))
    assert [e.label for e in stored] == LABELS
    assert [str(e.location) for e in stored] == [f"{path}, line {n}" for n in (2, 3, 4)]


def test_cli_csv_export_neutralises_formulas_and_round_trips(
    tmp_path: Path, database_url: str
) -> None:
    path = _bank_csv(tmp_path)
    where = ["--case", str(tmp_path / "case"), "--database-url", database_url]
    runner = CliRunner()
    assert (
        runner.invoke(app, ["bank", "import", str(path), "--name", "list", *where]).exit_code == 0
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["bank", "export", "list", "--format", "csv", "-o", str(out), *where]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for row in csv.reader(io.StringIO(text, newline="")):
        assert not any(cell.startswith(FORMULA_START) for cell in row), row
    assert [e.label for e in read_bank(out)] == LABELS
