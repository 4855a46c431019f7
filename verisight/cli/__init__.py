"""The ``verisight`` command: a thin shell over :class:`verisight.case.Case`.

Exit codes: 0 done (bad *items* are facts recorded in the case, not errors of the
command), 1 the case or database cannot be used, 2 bad usage.

Each feature adds its commands in its own module (:data:`MODULES`). A run of the command
imports only the module of the command it runs (:func:`main`), so ``verisight --version`` or
``verisight media list`` never load decoders, numba kernels or the web stack; the full
``app`` (every command, for ``--help``, tests and the generated reference) is
``verisight.cli.app``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from verisight import __version__

_app = typer.Typer(
    name="verisight",
    help="Take in, fingerprint and triage media collections for child-safety work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: The command modules, in the order ``verisight --help`` lists their commands.
MODULES = ("scan", "media", "clusters", "banks", "intel", "web", "reports", "case_cmd", "api")
#: The module that registers each top-level command (``tests/test_startup.py`` checks this).
COMMANDS = {
    "scan": "scan", "demo": "scan", "media": "media", "sightings": "media",
    "cluster": "clusters", "match": "banks", "lookup": "banks", "bank": "banks",
    "intel": "intel", "serve": "web", "user": "web", "audit": "web", "report": "reports",
    "export": "reports", "case": "case_cmd", "api": "api", "apikey": "api",
}  # fmt: skip
_loaded: list[str] = []


def _version(value: bool) -> None:
    if value:
        typer.echo(f"verisight {__version__}")
        raise typer.Exit()


@_app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Verisight: take in, fingerprint and triage media collections."""


def load(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """The app with the commands of ``modules`` registered (each module once)."""
    for name in modules:
        if name not in _loaded:
            importlib.import_module(f"verisight.cli.{name}").register(_app)
            _loaded.append(name)
    return _app


def main() -> None:
    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith("-")), None)
    if command in COMMANDS:
        load((COMMANDS[command],))
    elif args != ["--version"]:  # help, or a mistyped command: list them all
        load()
    _app()


def __getattr__(name: str) -> Any:
    if name == "app":  # every command
        return load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "MODULES", "app", "load", "main"]
