"""``verisight bank …``, ``verisight match`` and ``verisight lookup``: known material."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from verisight.banking import BANK_KINDS, MIN_QUALITY, ImportResult, MatchSummary, lookup_hashes
from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import CaseOpt, DbOpt, JsonOpt, emit_jsonl, fail, open_case, out
from verisight.errors import VerisightError
from verisight.matching import READ_FORMATS, WRITE_FORMATS
from verisight.matching.signals import PDQ_THRESHOLD

bank_app = typer.Typer(help="Import, list, export and delete hash banks.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bank_app, name="bank")
    app.command("match")(match)
    app.command("lookup")(lookup)


def _print_matching(s: MatchSummary) -> None:
    out.print(
        f"  matched {s.media_matched:,} media ({s.matches_found:,} matches, {s.new_matches:,} new)"
        + (f"; {s.suppressed:,} suppressed by negative banks" if s.suppressed else "")
        + (f"; {s.low_quality:,} PDQ hashes below quality {MIN_QUALITY} not matched"
           if s.low_quality else "")
    )  # fmt: skip


@bank_app.command("import")
def bank_import(
    file: Annotated[Path, typer.Argument(help="The hash list to import.")],
    name: Annotated[str, typer.Option("--name", help="Bank to import into (created if new).")],
    format: Annotated[
        str, typer.Option("--format", help=f"One of: {', '.join(READ_FORMATS)}.")
    ] = "auto",
    label: Annotated[str | None, typer.Option("--label", help="Describes the bank.")] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="match, or negative (an allow-list of false positives).")
    ] = "match",
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="PDQ match distance for this bank (≤ 31).")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows; report the others.")
    ] = False,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a hash list (plain, CSV, Meta's PDQ lines, VICS JSON) into a bank, atomically."""
    if kind not in BANK_KINDS:
        fail(VerisightError(f"--kind must be one of {', '.join(BANK_KINDS)}"))
    with open_case(case, database_url, create=True) as c:
        try:
            res: ImportResult = c.banking.import_file(
                file, name, format=format, label=label, kind=kind, pdq_threshold=threshold,
                skip_invalid=skip_invalid,
            )  # fmt: skip
        except VerisightError as exc:
            fail(exc)
    if json_out:
        emit_jsonl(res.to_json())
        return
    if res.already_imported:
        out.print(f"{file} was already imported into bank {name!r}: nothing changed")
        return
    out.print(
        f"Imported {res.read:,} entries ({res.format}) into bank {name!r}: {res.added:,} new"
        f", bank now holds {res.bank.entries:,}"
    )
    for row in res.skipped:
        out.print(f"  skipped {row}")
    if res.matching:
        _print_matching(res.matching)


@bank_app.command("list")
def bank_list(
    case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None, json_out: JsonOpt = False
) -> None:
    """The banks of a case with their sizes and match counts."""
    with open_case(case, database_url) as c:
        for b in c.banking.banks():
            if json_out:
                emit_jsonl(
                    {"name": b.name, "label": b.label, "kind": b.kind, "entries": b.entries,
                     "matches": b.matches, "pdq_threshold": b.pdq_threshold or PDQ_THRESHOLD}
                )  # fmt: skip
            else:
                out.print(
                    f"{b.name:<24} {b.kind:<8} {b.entries:>10,} entries {b.matches:>8,} matches"
                    f"  pdq ≤ {b.pdq_threshold or PDQ_THRESHOLD}  {b.label or ''}"
                )


@bank_app.command("show")
def bank_show(
    name: str,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One bank's settings and counts."""
    with open_case(case, database_url) as c:
        try:
            b = c.banking.bank(name)
        except VerisightError as exc:
            fail(exc)
    data = {"name": b.name, "label": b.label, "kind": b.kind, "entries": b.entries,
            "matches": b.matches, "pdq_threshold": b.pdq_threshold or PDQ_THRESHOLD,
            "created_at": b.created_at.isoformat()}  # fmt: skip
    if json_out:
        emit_jsonl(data)
    else:
        for k, v in data.items():
            out.print(f"{k:<14} {v}")


@bank_app.command("export", help=f"Write a bank out as {', '.join(WRITE_FORMATS)}.")
def bank_export(
    name: str,
    format: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(WRITE_FORMATS)}.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout).")
    ] = None,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    with open_case(case, database_url) as c:
        try:
            with (
                output.open("w", encoding="utf-8", newline="") if output
                else contextlib.nullcontext(sys.stdout)
            ) as fh:  # fmt: skip
                n = c.banking.export(name, fh, format)
        except VerisightError as exc:
            fail(exc)
    if output:
        out.print(f"wrote {n:,} entries to {output}")


@bank_app.command("delete")
def bank_delete(name: str, case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None) -> None:
    """Delete a bank with its entries and matches."""
    with open_case(case, database_url) as c:
        try:
            c.banking.delete(name)
        except VerisightError as exc:
            fail(exc)
    out.print(f"deleted bank {name!r}")


def match(
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Only this bank (repeatable).")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="PDQ distance, overriding the banks'.")
    ] = None,
    min_quality: Annotated[
        int, typer.Option("--min-quality", help="Match only PDQ hashes of this quality or more.")
    ] = MIN_QUALITY,
    rotations: Annotated[
        bool, typer.Option("--rotations", help="Also match the 8 rotations/flips of each image.")
    ] = False,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines, one match a line.")] = False,
) -> None:
    """Match every media of the case against its banks (again), and list the matches."""
    with open_case(case, database_url) as c:
        try:
            summary = c.banking.match(
                banks=bank, pdq_threshold=threshold, min_quality=min_quality, rotations=rotations
            )
            names: list[str | None] = [c.banking.bank(b).name for b in bank] if bank else [None]
        except VerisightError as exc:
            fail(exc)
        if not json_out:
            out.print("Matching finished")
            _print_matching(summary)
        for name in names:
            for m in c.banking.matches(bank=name):
                if json_out:
                    emit_jsonl(m.to_json())
                else:
                    out.print(
                        f"  {m.media_sha256[:16]}  {m.bank}  {m.hash_type} d={m.distance}"
                        f"  {m.entry.row.label or ''}  cat={m.entry.row.category}"
                    )


def lookup(
    file: Annotated[Path | None, typer.Argument(help="A file to hash and look up.")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256")] = None,
    md5: Annotated[str | None, typer.Option("--md5")] = None,
    sha1: Annotated[str | None, typer.Option("--sha1")] = None,
    pdq: Annotated[str | None, typer.Option("--pdq")] = None,
    rotations: Annotated[
        bool, typer.Option("--rotations", help="For a FILE: also look up its 7 rotations/flips.")
    ] = False,
    threshold: Annotated[int, typer.Option("--threshold", help="PDQ distance.")] = PDQ_THRESHOLD,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines, one hit a line.")] = False,
) -> None:
    """Look a file or a hash up in the case's banks, without scanning."""
    try:
        hashes, frames = lookup_hashes(
            file, sha256=sha256, md5=md5, sha1=sha1, pdq=pdq, rotations=rotations
        )
    except VerisightError as exc:
        fail(exc)
    if not hashes:
        fail(VerisightError("give a FILE or one of --sha256/--md5/--sha1/--pdq"))
    hits = 0
    with open_case(case, database_url) as c:
        try:
            for hit in c.banking.lookup(hashes, pdq_threshold=threshold, frames=frames):
                hits += 1
                hash_type, _query, entry, distance = hit
                if json_out:
                    emit_jsonl(hit.to_json())
                else:
                    out.print(
                        f"{entry.bank} ({entry.bank_kind}) entry {entry.id}: {hash_type} "
                        f"d={distance}  label={entry.row.label!r} category={entry.row.category}"
                        f"  source_id={entry.row.source_id}  [{entry.row.location}]"
                    )
        except VerisightError as exc:
            fail(exc)
    if not json_out and hits == 0:
        out.print("no bank entry matches")


__all__ = ["register"]
