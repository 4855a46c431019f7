"""The ``vigil`` command: a thin shell over :class:`vigil.case.Case`.

Exit codes: 0 done (bad *items* are facts recorded in the case, not errors of the
command), 1 the case or database cannot be used, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from vigil import __version__
from vigil.case import DATABASE_URL_ENV, DEFAULT_CASE_DIR, Case, media_json, sighting_json
from vigil.errors import CaseError, UsageError, VigilError
from vigil.limits import Limits
from vigil.scanning import ScanSummary
from vigil.store import MediaView, Status

_DEFAULTS = Limits()

app = typer.Typer(
    name="vigil",
    help="Take in, fingerprint and triage media collections for child-safety work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
media_app = typer.Typer(help="Inspect the distinct media of a case.", no_args_is_help=True)
sightings_app = typer.Typer(help="Inspect where items were seen.", no_args_is_help=True)
app.add_typer(media_app, name="media")
app.add_typer(sightings_app, name="sightings")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

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


def _fail(exc: VigilError) -> NoReturn:
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1)


def _open(case: Path, database_url: str | None, create: bool = False) -> Case:
    try:
        return Case(case, database_url, create=create)
    except VigilError as exc:
        _fail(exc)


def _version(value: bool) -> None:
    if value:
        out.print(f"vigil {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Vigil: take in, fingerprint and triage media collections."""


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders, archives, WARC files.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Analysis processes (default: cores).")
    ] = None,
    json_out: JsonOpt = False,
    max_depth: Annotated[
        int, typer.Option(help="Open archives nested up to this depth.")
    ] = _DEFAULTS.max_archive_depth,
    max_pixels: Annotated[
        int, typer.Option(help="Refuse images with more pixels (decompression bombs).")
    ] = _DEFAULTS.max_pixels,
    max_member_mb: Annotated[
        int, typer.Option(help="Largest archive member / WARC payload read, in MiB.")
    ] = _DEFAULTS.max_member_bytes >> 20,
    max_total_gb: Annotated[
        int, typer.Option(help="Most data extracted from one archive, in GiB (zip bombs).")
    ] = _DEFAULTS.max_total_bytes >> 30,
    max_ratio: Annotated[
        float, typer.Option(help="Highest compression ratio accepted for a member (zip bombs).")
    ] = _DEFAULTS.max_compression_ratio,
    batch_size: Annotated[int, typer.Option(help="Rows per database transaction.")] = 500,
) -> None:
    """Take in files, folders, archives and web captures; fingerprint every file."""
    limits = Limits(
        max_pixels=max_pixels,
        max_archive_depth=max_depth,
        max_member_bytes=max_member_mb << 20,
        max_total_bytes=max_total_gb << 30,
        max_compression_ratio=max_ratio,
    )
    with _open(case, database_url, create=True) as c:
        try:
            summary = _scan_with_progress(c, paths, workers, limits, batch_size)
        except VigilError as exc:
            _fail(exc)
    if json_out:
        sys.stdout.write(json.dumps(summary.to_json()) + "\n")
    else:
        _print_summary(summary)


def _scan_with_progress(
    c: Case, paths: list[Path], workers: int | None, limits: Limits, batch_size: int
) -> ScanSummary:
    if not err.is_terminal:
        return c.scan(paths, workers=workers, limits=limits, batch_size=batch_size)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("scanning", total=None)

        def update(s: ScanSummary) -> None:
            progress.update(
                task,
                description=f"seen {s.seen:,} · analysed {s.analysed:,} · failed {s.failed:,}"
                f" · skipped {s.skipped:,}",
            )

        return c.scan(
            paths, workers=workers, limits=limits, batch_size=batch_size, on_progress=update
        )


def _print_summary(s: ScanSummary) -> None:
    verb = "resumed and finished" if s.resumed else "finished"
    out.print(f"Scan #{s.scan} {verb} in {s.elapsed_seconds:.1f} s")
    check = "reconciles" if s.reconciles else "DOES NOT RECONCILE"
    out.print(
        f"  seen {s.seen:,} = analysed {s.analysed:,} + failed {s.failed:,}"
        f" + skipped {s.skipped:,}  ({check})"
    )
    out.print(
        f"  distinct media {s.distinct_media:,}, duplicate sightings {s.duplicate_sightings:,}"
        + (f", already recorded {s.already_recorded:,}" if s.already_recorded else "")
    )
    if s.by_type:
        out.print("  by type: " + ", ".join(f"{k} {v:,}" for k, v in sorted(s.by_type.items())))
    if s.errors_by_reason:
        out.print(
            "  failed/skipped by reason: "
            + ", ".join(f"{k} {v:,}" for k, v in s.errors_by_reason.most_common())
        )
        out.print("  (details: vigil sightings list --status failed)")
    out.print(f"  case: {s.case}")


def _emit_jsonl(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@media_app.command("list")
def media_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines, one media a line.")] = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind (image, video, ...).")] = None,
) -> None:
    """List the distinct media of a case."""
    with _open(case, database_url) as c:
        if json_out:
            for m in c.media(kind=kind):
                _emit_jsonl(media_json(m))
            return
        table = Table(box=None, pad_edge=False)
        table.add_column("sha256", no_wrap=True, min_width=16)
        table.add_column("kind", no_wrap=True)
        table.add_column("mime", no_wrap=True)
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("w×h", no_wrap=True)
        table.add_column("pdq q", justify="right")
        table.add_column("seen", justify="right")
        table.add_column("error")
        for m in c.media(kind=kind):
            table.add_row(
                m.sha256[:16],
                m.kind,
                m.mime,
                f"{m.size:,}",
                f"{m.width}×{m.height}" if m.width else "",
                "" if m.pdq_quality is None else str(m.pdq_quality),
                str(len(m.sightings)),
                m.error_reason or "",
            )
        out.print(table)


@media_app.command("show")
def media_show(
    sha256: Annotated[str, typer.Argument(help="SHA-256 or a prefix of ≥ 8 hex digits.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Everything the case knows about one media."""
    with _open(case, database_url) as c:
        try:
            m = c.media_show(sha256)
        except VigilError as exc:
            _fail(exc)
        if json_out:
            _emit_jsonl(media_json(m))
            return
        _print_media(m, c)


def _print_media(m: MediaView, c: Case) -> None:
    rows: list[tuple[str, str]] = [
        ("sha256", m.sha256),
        ("md5", m.md5),
        ("sha1", m.sha1),
        ("size", f"{m.size:,} bytes"),
        ("type", f"{m.kind} ({m.mime}{', ' + m.format if m.format else ''})"),
    ]
    if m.width:
        rows.append(("dimensions", f"{m.width} × {m.height} (as stored)"))
    if m.pdq:
        weak = "  (weak: quality < 50)" if (m.pdq_quality or 0) < 50 else ""
        rows.append(("pdq", f"{m.pdq}  quality {m.pdq_quality}{weak}"))
    if m.exif_orientation:
        rows.append(("exif orientation", str(m.exif_orientation)))
    if m.camera:
        cam = " ".join(x for x in (m.camera.make, m.camera.model) if x)
        rows.append(("camera", f"{cam}" + (f", taken {m.camera.taken}" if m.camera.taken else "")))
    if m.error:
        rows.append(("error", m.error))
    thumb = c.thumbnail(m.sha256)
    if thumb:
        rows.append(("thumbnail", str(thumb)))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        out.print(f"{k:<{width}}  {v}")
    out.print(f"sightings ({len(m.sightings)}):")
    for s in m.sightings:
        extra = "".join(
            [
                f"  url {s.url}" if s.url else "",
                f"  captured {s.captured_at.isoformat()}" if s.captured_at else "",
                f"  [{s.status.value}: {s.reason}]" if s.status is not Status.ANALYSED else "",
            ]
        )
        out.print(f"  {s.path}{extra}")


@sightings_app.command("list")
def sightings_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    status: Annotated[Status | None, typer.Option(help="Only items with this outcome.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Every place an item was seen, with its outcome (failed and skipped items included)."""
    with _open(case, database_url) as c:
        for s in c.sightings(status):
            if json_out:
                _emit_jsonl(sighting_json(s))
            else:
                why = f"  {s.reason}: {s.detail}" if s.reason else ""
                out.print(f"{s.status.value:<8} {s.path}{why}")


@app.command()
def demo(
    case: CaseOpt = DEFAULT_CASE_DIR,
    collection: Annotated[
        Path, typer.Option(help="Where to write the generated demo collection.")
    ] = Path("vigil-demo"),
    workers: Annotated[int | None, typer.Option("--workers", "-w")] = None,
) -> None:
    """Generate a benign demo collection (variants, archives, corrupt files) and scan it."""
    from vigil.demo import build_demo_collection

    n = build_demo_collection(collection)
    out.print(
        f"Demo collection: {n} files written to {collection}/ (generated shapes, no downloads)"
    )
    with _open(case, None, create=True) as c:
        try:
            summary = _scan_with_progress(c, [collection], workers, Limits(), 500)
        except VigilError as exc:
            _fail(exc)
    _print_summary(summary)
    out.print(f"Next: vigil media list --case {case}")


def main() -> None:
    try:
        app()
    except CaseError as exc:  # pragma: no cover - safety net
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
