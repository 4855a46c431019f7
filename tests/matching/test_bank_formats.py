"""The bank-format registry: one list, and everything that offers a format derives from it."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from verisight.cli import app
from verisight.matching import READ_FORMATS, WRITE_FORMATS, read_bank
from verisight.matching.formats import FORMATS, BankFormat, bank_format, sniff
from verisight.matching.formats.writers import write_vics_media
from verisight.reports import hashes

from .conftest import sample_entries


def test_one_list_gives_the_read_and_write_choices() -> None:
    names = [f.name for f in FORMATS]
    assert len(set(names)) == len(names)
    assert ("auto", *(f.name for f in FORMATS if f.reads)) == READ_FORMATS
    assert tuple(f.name for f in FORMATS if f.writes) == WRITE_FORMATS
    assert set(hashes.HASH_FORMATS) == {f.name for f in FORMATS if f.writes and not f.frames}
    assert set(READ_FORMATS) == {"auto", "plain", "md5", "sha1", "sha256", "pdq", "csv"} | {
        "vics",
        "vpdq",
    }
    assert set(WRITE_FORMATS) == {"csv", "vics", "pdq", "md5", "sha1", "sha256", "vpdq"}


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_format_is_a_bank_format_and_found_by_name(fmt: BankFormat) -> None:
    assert isinstance(fmt, BankFormat) and fmt.summary
    assert bank_format(fmt.name) is fmt
    assert fmt.reads or fmt.writes


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.reads and f.writes], ids=lambda f: f.name)
def test_written_files_are_recognised_as_their_format(fmt: BankFormat) -> None:
    if fmt.frames:
        pytest.skip("vPDQ frames: tests/video")
    out = io.StringIO()
    fmt.write(sample_entries(6), out)
    raw = out.getvalue().encode()
    expected = "plain" if fmt.name in ("md5", "sha1", "sha256") else fmt.name
    assert sniff(raw[: 64 * 1024]) == expected
    assert list(read_bank(io.BytesIO(raw), fmt.name))


@pytest.mark.parametrize(
    ("command", "choices"), [("import", READ_FORMATS), ("export", WRITE_FORMATS)]
)
def test_cli_format_choices_come_from_the_registry(command: str, choices: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, ["bank", command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert ", ".join(choices) in " ".join(result.output.split())


def test_one_vics_writer_for_banks_and_assessed_media() -> None:
    """The hash-list export of assessed media goes through the bank VICS writer."""
    out = io.StringIO()
    assert write_vics_media([{"MD5": "AB" * 16}], out, model="UK") == 1
    doc = json.loads(out.getvalue())
    assert doc["value"] == [{"MD5": "AB" * 16}]
    assert "write_vics_media" in hashes.write_vics.__code__.co_names
