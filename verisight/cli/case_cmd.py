"""``verisight case backup|restore|check``: copies of a case, and whether a case agrees with
itself (see :mod:`verisight.services.backups`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verisight.case import DEFAULT_CASE_DIR, Case
from verisight.cli._common import CaseOpt, DbOpt, JsonOpt, emit_jsonl, err, fail, open_case, out
from verisight.errors import VerisightError

case_app = typer.Typer(help="Back up, restore and check a case.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")


@case_app.command("backup")
def case_backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the copy.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy the case while it is in use: a database snapshot, thumbnails, index, audit head."""
    with open_case(case, database_url) as c:
        try:
            manifest = c.backup(dest)
        except VerisightError as exc:
            fail(exc)
    if json_out:
        emit_jsonl({"backup": str(dest), **manifest.to_json()})
        return
    counts = manifest.counts
    out.print(
        f"backed up {counts['media']} media, {counts['sightings']} sightings, "
        f"{manifest.audit_entries} audit entries and {manifest.files['thumbs']} thumbnail files "
        f"to {dest}"
    )
    out.print(f"audit head {manifest.audit_head} (keep it elsewhere to check a restore against)")
    if manifest.audit_problems:
        err.print(f"[red]warning:[/red] the audit chain has {manifest.audit_problems} problem(s)")


@case_app.command("restore")
def case_restore(
    backup: Annotated[Path, typer.Argument(help="A folder written by `verisight case backup`.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the database and files already there.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Restore a backup as a case, then check it against the backup's audit head."""
    try:
        manifest = Case.read_backup(backup)
        with Case.restore(backup, case, database_url, force=force) as c:
            report = c.check(audit_head=manifest.audit_head)
    except VerisightError as exc:
        fail(exc)
    if json_out:
        emit_jsonl({"restored": str(case), **report.to_json()})
    elif report.ok:
        out.print(
            f"restored {case}: {report.audit_entries} audit entries, head {report.audit_head}"
        )
    _print_problems(report.problems)
    if not report.ok:
        raise typer.Exit(1)


@case_app.command("check")
def case_check(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    audit_head: Annotated[
        str | None,
        typer.Option(
            "--audit-head", help="A head recorded earlier: it must still be in the chain."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Report disagreements between rows, derived files and the audit chain; exit 1 if any."""
    with open_case(case, database_url) as c:
        report = c.check(audit_head=audit_head)
    if json_out:
        emit_jsonl(report.to_json())
    else:
        if report.ok:
            out.print(
                f"case consistent: {report.counts['media']} media, "
                f"{report.thumbnails_checked} thumbnails, {report.audit_entries} audit entries"
            )
        for note in report.notes:
            out.print(f"note: {note}")
        _print_problems(report.problems)
    if not report.ok:
        raise typer.Exit(1)


def _print_problems(problems: list[str]) -> None:
    for p in problems:
        err.print(f"[red]problem:[/red] {p}")


__all__ = ["register"]
