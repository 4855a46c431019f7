"""``verisight report`` and ``verisight export hashes|evidence|cybertip``: findings handed on.

Every command is audited (actor ``cli:<os user>``); none of them shows an image or contacts
any service.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import CaseOpt, DbOpt, err, fail, open_case, out
from verisight.errors import UsageError, VerisightError
from verisight.reports.hashes import HASH_FORMATS, check_filters
from verisight.services.audit import os_actor
from verisight.services.reports import BY

REPORT_FORMATS = ("html", "md", "json", "pdf")
export_app = typer.Typer(
    help="Hash lists, evidence packages and draft CyberTipline reports.", no_args_is_help=True
)

OutcomeOpt = Annotated[
    list[str] | None,
    typer.Option("--outcome", help="Only this outcome (repeatable), e.g. pseudo-photograph."),
]


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.add_typer(export_app, name="export")


def report(
    format: Annotated[str, typer.Option("--format", help="html, md, json or pdf.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: standard output).")
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day of the period, included.")
    ] = None,
    compare_from: Annotated[
        str | None, typer.Option("--compare-from", help="First day of the comparison period.")
    ] = None,
    compare_to: Annotated[
        str | None, typer.Option("--compare-to", help="Last day of the comparison period.")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Break down by source, site or month (repeatable)."),
    ] = None,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Counts for a period (items, media, provenance, outcomes by law and category, bank
    matches, generator models), with a comparison period and the change. Counts only."""
    from verisight.reports import period_spec
    from verisight.reports.render import to_html, to_json, to_markdown

    try:
        if format not in REPORT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(REPORT_FORMATS)}")
        if format == "pdf" and output is None:
            raise UsageError("a PDF report needs --output FILE")
        for b in by or ():
            if b not in BY:
                raise UsageError(f"--by must be one of {', '.join(BY)}")
        period_spec(date_from, date_to)
        if compare_from or compare_to:
            period_spec(compare_from, compare_to)
    except VerisightError as exc:
        fail(exc)
    with open_case(case, database_url) as c:
        rep = c.reports.report(
            actor=os_actor(), format=format, date_from=date_from, date_to=date_to,
            compare_from=compare_from, compare_to=compare_to, by=by or ("site", "month"),
        )  # fmt: skip
    if format == "pdf":
        from verisight.reports.charts import to_pdf

        assert output is not None
        output.write_bytes(to_pdf(rep))
    else:
        if format == "html":
            from verisight.reports.charts import chart_uris

            text = to_html(rep, chart_uris(rep))
        else:
            text = to_json(rep) if format == "json" else to_markdown(rep)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
    if output is not None:
        err.print(f"report written to {output}")


@export_app.command("hashes")
def hashes(
    format: Annotated[str, typer.Option("--format", help=", ".join(HASH_FORMATS) + ".")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: standard output).")
    ] = None,
    outcome: OutcomeOpt = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this category A, B or C.")
    ] = None,
    include_pending: Annotated[
        bool,
        typer.Option("--include-pending", help="Also assessments awaiting review or disputed."),
    ] = False,
    vics_model: Annotated[
        str, typer.Option("--vics-model", help="VICS data model: Default, UK or US.")
    ] = "Default",
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Assessed media as a hash list (VICS JSON v2, bank CSV, or one hash a line), streamed."""
    try:
        check_filters(outcome or (), category or ())
        if format not in HASH_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(HASH_FORMATS)}")
        if vics_model not in ("Default", "UK", "US"):
            raise UsageError("--vics-model must be Default, UK or US")
    except VerisightError as exc:
        fail(exc)
    with open_case(case, database_url) as c, (
        output.open("w", encoding="utf-8", newline="") if output
        else contextlib.nullcontext(sys.stdout)
    ) as fh:  # fmt: skip
        res = c.reports.export_hashes(
            fh, format, actor=os_actor(), outcomes=outcome or (),
            categories=category or (), include_pending=include_pending,
            vics_model=vics_model,
        )  # fmt: skip
    left = f"; {res.left_out:,} without a {format} hash left out" if res.left_out else ""
    err.print(f"{res.written:,} media written{left}")


@export_app.command("evidence")
def evidence(
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write.")],
    media: Annotated[
        list[str] | None, typer.Option("--media", help="A media SHA-256 or prefix (repeatable).")
    ] = None,
    outcome: OutcomeOpt = None,
    include_originals: Annotated[
        bool,
        typer.Option(
            "--include-originals",
            help="Add the original bytes, re-read and checked against their SHA-256.",
        ),
    ] = False,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """An evidence package: manifest, audit extract with chain verification, optional
    originals, and the SHA-256 of every file in a signed-off manifest."""
    try:
        check_filters(outcome or (), ())
        if not media and not outcome:
            raise UsageError("give --media SHA256 or --outcome OUTCOME")
    except VerisightError as exc:
        fail(exc)
    with open_case(case, database_url) as c:
        try:
            res = c.reports.export_evidence(
                output,
                actor=os_actor(),
                media=media or (),
                outcomes=outcome or (),
                include_originals=include_originals,
            )
        except VerisightError as exc:
            fail(exc)
    out.print(f"{res.media:,} media written to {output}"
              + (f"; originals: {res.originals_included:,} included, "
                 f"{len(res.originals_missing):,} not available (see manifest.json)"
                 if include_originals else ""))  # fmt: skip


@export_app.command("cybertip")
def cybertip(
    media: Annotated[list[str], typer.Option("--media", help="A media SHA-256 or prefix.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The folder to write.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """A draft NCMEC CyberTipline report (XML) for a person to review; nothing is sent."""
    with open_case(case, database_url) as c:
        try:
            shas = c.reports.resolve(media)
            c.reports.export_cybertip(output, actor=os_actor(), media=shas)
        except VerisightError as exc:
            fail(exc)
    out.print(f"draft for {len(shas):,} file(s) written to {output} (not submitted)")
