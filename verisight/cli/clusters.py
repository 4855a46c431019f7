"""``verisight cluster …``: near-duplicate clusters and generation series of a case."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import CaseOpt, DbOpt, JsonOpt, emit_jsonl, fail, open_case, out
from verisight.clustering import DEFAULT_MIN_QUALITY, DEFAULT_THRESHOLD, ClusterParams
from verisight.clustering.videos import VPDQ_BASIS
from verisight.errors import UsageError, VerisightError
from verisight.services.clusters import KINDS, ClusterView

cluster_app = typer.Typer(
    help="Group near-duplicate media (one decision each) and generation series.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app, name="cluster")


@cluster_app.callback()
def cluster(
    ctx: typer.Context,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    threshold: Annotated[
        int,
        typer.Option("--threshold", help="PDQ distance to a cluster's representative (inclusive)."),
    ] = DEFAULT_THRESHOLD,
    min_quality: Annotated[
        int,
        typer.Option("--min-quality", help="Lowest PDQ quality that clusters."),
    ] = DEFAULT_MIN_QUALITY,
    crops: Annotated[
        bool,
        typer.Option(
            "--crops/--no-crops",
            help="Also recognise crops: media alone after PDQ join a cluster whose "
            "representative aligns with them (see docs/clustering.md).",
        ),
    ] = True,
    json_out: JsonOpt = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run the crop pass's screening and alignment on a Dask cluster "
            "(tcp://host:8786, or local:N); same clusters (docs/distributed.md).",
        ),
    ] = None,
) -> None:
    """Build or update the clusters after a scan (new media join existing clusters or form
    new ones; existing clusters are never merged)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        params = ClusterParams(threshold=threshold, min_quality=min_quality, crops=crops)
    except ValueError as exc:
        fail(UsageError(str(exc)))
    with open_case(case, database_url) as c:
        try:
            summary = c.clusters.update(params, dask=dask)
        except VerisightError as exc:
            fail(exc)
    if json_out:
        out.print(json.dumps(summary.to_json()), markup=False)
        return
    out.print(
        f"{summary.new_media:,} new media: {summary.joined_existing:,} joined existing "
        f"clusters, {summary.new_clusters:,} new clusters, {summary.singletons:,} singletons "
        f"kept apart (PDQ quality < {summary.min_quality} or no PDQ); "
        f"{summary.crop_matches:,} placed as crops; "
        f"{summary.best_copies:,} new clusters represented by their best copy"
    )
    out.print(
        f"{summary.near_duplicate_clusters:,} near-duplicate clusters (one decision each), "
        f"{summary.series:,} generation series; threshold {summary.threshold}, "
        f"{summary.elapsed_seconds:.1f} s"
    )


@cluster_app.command("list")
def cluster_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only near-duplicate or series.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON Lines, one cluster a line.")
    ] = False,
) -> None:
    """List the clusters of a case."""
    if kind is not None and kind not in KINDS:
        fail(UsageError(f"--kind must be one of {', '.join(KINDS)}"))
    with open_case(case, database_url) as c:
        try:
            clusters = c.clusters.list(kind)
        except VerisightError as exc:
            fail(exc)
        if json_out:
            for cl in clusters:
                emit_jsonl(cl.to_json())
            return
        table = Table(box=None, pad_edge=False)
        table.add_column("cluster", justify="right")
        table.add_column("kind", no_wrap=True)
        table.add_column("representative", no_wrap=True)
        table.add_column("members", justify="right")
        table.add_column("note")
        for cl in clusters:
            table.add_row(
                str(cl.id), cl.kind, cl.representative[:16], str(len(cl.members)), _note(cl)
            )
        out.print(table)


@cluster_app.command("show")
def cluster_show(
    cluster_id: Annotated[int, typer.Argument(metavar="ID", help="The cluster's number.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One cluster: its representative and members with their distances."""
    with open_case(case, database_url) as c:
        try:
            cl = c.clusters.show(cluster_id)
        except VerisightError as exc:
            fail(exc)
    if json_out:
        emit_jsonl(cl.to_json())
        return
    out.print(f"cluster {cl.id} ({cl.kind}) {_note(cl)}".rstrip())
    for m in cl.members:
        role = "representative" if m.sha256 == cl.representative else ""
        dist = "" if m.distance is None else f"distance {m.distance:>3}"
        out.print(f"  {m.sha256}  {dist}  {role}".rstrip())


@cluster_app.command("grids")
def cluster_grids(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compute the luma grids the crop pass needs for media scanned before scans kept them,
    re-reading each original where it was seen (checked by SHA-256)."""
    with open_case(case, database_url) as c:
        result = c.clusters.grids()
    if json_out:
        out.print(json.dumps(result.to_json()), markup=False)
        return
    out.print(
        f"{result.missing:,} media had no luma grid: {result.computed:,} computed from their "
        f"originals, {len(result.failed):,} left without one; {result.elapsed_seconds:.1f} s"
    )
    for sha, why in result.failed:
        out.print(f"  {sha}  {why}", markup=False)


def _note(cl: ClusterView) -> str:
    if cl.reason:
        return f"singleton: {cl.reason}"
    if cl.basis == VPDQ_BASIS:
        return f"videos (vPDQ), frame threshold {cl.threshold}"
    if cl.basis:
        return f"same {cl.basis.replace(',', ' / ')}"
    return f"threshold {cl.threshold}" if cl.threshold is not None else ""
