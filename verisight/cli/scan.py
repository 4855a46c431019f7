"""``verisight scan`` and ``verisight demo``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from verisight.case import DEFAULT_CASE_DIR, Case
from verisight.cli._common import CaseOpt, DbOpt, JsonOpt, err, fail, open_case, out
from verisight.errors import VerisightError
from verisight.limits import Limits
from verisight.scanning import ScanSummary

if TYPE_CHECKING:
    from verisight.distributed import DaskExecutor

_DEFAULTS = Limits()


def register(app: typer.Typer) -> None:
    from verisight.cli.demo import demo

    app.command()(scan)
    app.command()(demo)


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
    item_timeout: Annotated[
        float,
        typer.Option(
            "--item-timeout",
            metavar="SECONDS",
            help="Most seconds one item may take to analyse before it is interrupted (its "
            "worker killed and replaced if need be) and recorded decode-timeout; 0: no limit.",
            min=0,
        ),
    ] = _DEFAULTS.max_item_seconds,
    batch_size: Annotated[int, typer.Option(help="Rows per database transaction.")] = 500,
    detector: Annotated[
        Path | None,
        typer.Option(
            help="An ONNX image classifier to score every image (see docs/provenance.md)."
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Analyse on a Dask cluster: its scheduler (tcp://host:8786), or local:N for "
            "N worker processes here. Workers must see PATHs at the same place "
            "(docs/distributed.md).",
        ),
    ] = None,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster/--no-cluster",
            help="Cluster the new media afterwards (incremental; see docs/clustering.md).",
        ),
    ] = True,
) -> None:
    """Take in files, folders, archives and web captures; fingerprint every file."""
    limits = Limits(
        max_pixels=max_pixels,
        max_archive_depth=max_depth,
        max_member_bytes=max_member_mb << 20,
        max_total_bytes=max_total_gb << 30,
        max_compression_ratio=max_ratio,
        max_item_seconds=item_timeout,
    )
    executor = _connect_dask(dask) if dask else None  # before the case: nothing written
    try:
        with open_case(case, database_url, create=True) as c:
            try:
                summary = _scan_with_progress(
                    c, paths, workers, limits, batch_size, detector, executor, cluster=cluster
                )
            except VerisightError as exc:
                fail(exc)
    finally:
        if executor is not None:
            executor.close()
    if json_out:
        sys.stdout.write(json.dumps(summary.to_json()) + "\n")
    else:
        _print_summary(summary)


def _scan_with_progress(
    c: Case,
    paths: list[Path],
    workers: int | None,
    limits: Limits,
    batch_size: int,
    detector: Path | None = None,
    executor: DaskExecutor | None = None,
    *,
    cluster: bool = True,
) -> ScanSummary:
    if not err.is_terminal:
        return c.scan(
            paths,
            workers=workers,
            limits=limits,
            batch_size=batch_size,
            detector=detector,
            dask=executor,
            cluster=cluster,
        )
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("scanning", total=None)
        started = time.monotonic()
        where = f" on {executor.workers} Dask workers" if executor is not None else ""

        def update(s: ScanSummary) -> None:
            rate = s.seen / max(time.monotonic() - started, 1e-3)
            progress.update(
                task,
                description=f"seen {s.seen:,} · analysed {s.analysed:,} · failed {s.failed:,}"
                f" · skipped {s.skipped:,} · {rate:,.0f} items/s{where}",
            )

        return c.scan(
            paths,
            workers=workers,
            limits=limits,
            batch_size=batch_size,
            on_progress=update,
            detector=detector,
            dask=executor,
            cluster=cluster,
        )


def _connect_dask(address: str) -> DaskExecutor:
    from verisight.distributed import DaskExecutor

    try:
        executor = DaskExecutor(address)
    except VerisightError as exc:
        fail(exc)
    for worker, why in sorted(executor.refused.items()):
        err.print(f"[yellow]warning:[/yellow] Dask worker {worker} refused: {why}", markup=True)
    executor.on_notice = lambda msg: err.print(f"warning: {msg}", markup=False)
    err.print(
        f"Dask: {executor.workers} workers at {address}; dashboard: "
        f"{executor.dashboard or 'not available'}",
        markup=False,
    )
    return executor


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
        out.print("  (details: verisight sightings list --status failed)")
    if s.matching:
        m = s.matching
        out.print(
            f"  bank matches: {m.media_matched:,} media ({m.new_matches:,} new matches)"
            + (f", {m.suppressed:,} suppressed by negative banks" if m.suppressed else "")
        )  # fmt: skip
    if s.clustering:
        k = s.clustering
        out.print(
            f"  clustered {k.new_media:,} new media: {k.joined_existing:,} joined existing"
            f" clusters, {k.new_clusters:,} new clusters"
            f" ({k.near_duplicate_clusters:,} in the case)"
        )
    out.print(f"  case: {s.case}")
