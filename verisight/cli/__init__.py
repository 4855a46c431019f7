"""The ``verisight`` command: a thin shell over :class:`verisight.case.Case`.

Exit codes: 0 done (bad *items* are facts recorded in the case, not errors of the
command), 1 the case or database cannot be used, 2 bad usage.

Each feature adds its commands in its own module; this one assembles the app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from verisight import __version__
from verisight.cli._common import out

app = typer.Typer(
    name="verisight",
    help="Take in, fingerprint and triage media collections for child-safety work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"verisight {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Verisight: take in, fingerprint and triage media collections."""


from verisight.cli import api as _api  # noqa: E402
from verisight.cli import banks as _banks  # noqa: E402
from verisight.cli import case_cmd as _case  # noqa: E402
from verisight.cli import clusters as _clusters  # noqa: E402
from verisight.cli import intel as _intel  # noqa: E402
from verisight.cli import media as _media  # noqa: E402
from verisight.cli import reports as _reports  # noqa: E402
from verisight.cli import scan as _scan  # noqa: E402
from verisight.cli import web as _web  # noqa: E402

_scan.register(app)
_media.register(app)
_clusters.register(app)
_banks.register(app)
_intel.register(app)
_web.register(app)
_reports.register(app)
_case.register(app)
_api.register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
