"""Shared pieces of the ``verisight`` command: consoles, common options, error handling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape as escape_markup

from verisight.case import DATABASE_URL_ENV, Case
from verisight.errors import UsageError, VerisightError
from verisight.names import escaped, json_text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

CaseOpt = Annotated[
    Path, typer.Option("--case", help="Case directory (database and derived files).")
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=DATABASE_URL_ENV,
        help="SQLAlchemy URL of the case database, e.g. postgresql+psycopg://host/db "
        "(default: SQLite inside the case directory).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
TrustedProxyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--trusted-proxy",
        help="Address of a reverse proxy whose X-Forwarded-For is believed (repeatable); "
        "without it the header is ignored.",
    ),
]


def fail(exc: VerisightError) -> NoReturn:
    """Print a user-facing error and exit: 2 for bad usage, 1 otherwise."""
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1)


def open_case(case: Path, database_url: str | None, create: bool = False) -> Case:
    try:
        return Case(case, database_url, create=create)
    except VerisightError as exc:
        fail(exc)


def safe(value: object) -> str:
    """Untrusted text (file names, URLs, metadata, error details) for a terminal line.

    Control characters (escape sequences, newlines), undecodable bytes and bidirectional
    overrides are shown escaped (:func:`verisight.names.escaped`), and Rich markup in the
    text is printed as text. JSON output needs none of this (``emit_jsonl``).
    """
    return escape_markup(escaped(str(value)))


def emit_jsonl(obj: dict[str, Any]) -> None:
    """One JSON line; valid UTF-8 even for names that are not (see verisight.names)."""
    sys.stdout.write(json_text(obj) + "\n")
