"""``verisight intel …``: which models and LoRAs are being used, and term-list hits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import CaseOpt, DbOpt, emit_jsonl, fail, open_case, out, safe
from verisight.errors import VerisightError

intel_app = typer.Typer(help="Generator intelligence: models, LoRAs, prompt terms.",
                        no_args_is_help=True)  # fmt: skip
JsonLines = Annotated[bool, typer.Option("--json", help="JSON Lines.")]


def register(app: typer.Typer) -> None:
    app.add_typer(intel_app, name="intel")


@intel_app.command("models")
def models(
    case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None, json_out: JsonLines = False
) -> None:
    """Every model and LoRA seen in generator metadata, most used first."""
    with open_case(case, database_url) as c:
        uses = c.intel.models()
    for u in uses:
        j = u.to_json()
        if json_out:
            emit_jsonl(j)
        else:
            out.print(
                f"{u.media:>6,}  {u.kind:<5} {safe(j['name'] or '?')}  {safe(u.hash or '')}"
                f"  {j['first_seen'] or ''} … {j['last_seen'] or ''}"
                f"  {safe(', '.join(j['sources'][:3]))}"
            )


@intel_app.command("terms")
def terms(
    file: Annotated[Path, typer.Argument(help="Your term list: one term or phrase a line.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonLines = False,
) -> None:
    """Media whose extracted prompt contains a term of your list (whole words and phrases)."""
    with open_case(case, database_url) as c:
        try:
            for hit in c.intel.terms(file):
                if json_out:
                    emit_jsonl(hit.to_json())
                else:
                    out.print(
                        f"{hit.sha256[:16]}  {safe(', '.join(hit.terms))}  {safe(hit.path or '')}"
                    )
        except VerisightError as exc:
            fail(exc)


@intel_app.command("import-models")
def import_models(
    file: Annotated[Path, typer.Argument(help="CSV: hash,name[,url][,kind].")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Names and URLs for model/LoRA hashes, used by `verisight intel models` and reports."""
    with open_case(case, database_url, create=True) as c:
        try:
            n = c.intel.import_models(file)
        except VerisightError as exc:
            fail(exc)
    out.print(f"imported {n:,} model names")
