"""``verisight media …`` and ``verisight sightings …``: inspecting a case."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from verisight.case import DEFAULT_CASE_DIR, Case, MediaView, Status, media_json, sighting_json
from verisight.cli._common import (
    CaseOpt,
    DbOpt,
    JsonOpt,
    emit_jsonl,
    fail,
    open_case,
    out,
    safe,
)
from verisight.errors import VerisightError

media_app = typer.Typer(help="Inspect the distinct media of a case.", no_args_is_help=True)
sightings_app = typer.Typer(help="Inspect where items were seen.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(media_app, name="media")
    app.add_typer(sightings_app, name="sightings")


@media_app.command("list")
def media_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines, one media a line.")] = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind (image, video, ...).")] = None,
) -> None:
    """List the distinct media of a case."""
    with open_case(case, database_url) as c:
        if json_out:
            for m in c.media(kind=kind):
                emit_jsonl(media_json(m))
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
                safe(m.error_reason or ""),
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
    with open_case(case, database_url) as c:
        try:
            m = c.media_show(sha256)
        except VerisightError as exc:
            fail(exc)
        if json_out:
            emit_jsonl(media_json(m))
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
        taken = f", taken {m.camera.taken}" if m.camera.taken else ""
        rows.append(("camera", safe(f"{cam}{taken}")))
    if m.error:
        rows.append(("error", safe(m.error)))
    thumb = c.thumbnail(m.sha256)
    if thumb:
        rows.append(("thumbnail", safe(thumb)))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        out.print(f"{k:<{width}}  {v}")
    _print_provenance(m)
    matches = list(c.banking.matches(media=m.sha256))
    if matches:
        out.print(f"bank matches ({len(matches)}):")
        for x in matches:
            out.print(
                f"  {safe(x.bank)} ({x.bank_kind}): {x.hash_type} d={x.distance}"
                f"  label={safe(repr(x.entry.row.label))} category={safe(x.entry.row.category)}"
                + (f"  variant {x.variant}" if x.variant and x.variant != "original" else "")
            )
    out.print(f"sightings ({len(m.sightings)}):")
    for s in m.sightings:
        extra = "".join(
            [
                f"  url {safe(s.url)}" if s.url else "",
                f"  captured {s.captured_at.isoformat()}" if s.captured_at else "",
                f"  \\[{s.status.value}: {safe(s.reason)}]"
                if s.status is not Status.ANALYSED
                else "",
            ]
        )
        out.print(f"  {safe(s.path)}{extra}")


def _print_provenance(m: MediaView) -> None:
    report = m.provenance_report
    if report is None:
        return
    flag = "  \\[CONFLICT: " + safe("; ".join(report.conflict_reasons)) + "]"
    out.print(f"provenance: {safe(report.provenance)}{flag if report.conflict else ''}")
    out.print("  (a declared signal is a fact about the file, not proof about the pixels)")
    for e in report.evidence:
        out.print(f"  - {safe(e.kind)}: {safe(e.value)}  \\[{safe(e.source)}]")
    gen = report.generator
    if gen is not None:
        fields = ("tool", "model_name", "model_hash", "seed", "steps", "sampler", "cfg")
        values = ((k, getattr(gen, k)) for k in fields)
        out.print("  generator: " + ", ".join(f"{k}={safe(v)}" for k, v in values if v))
        for lora in gen.loras:
            out.print(f"    lora {safe(lora.name)} hash={safe(lora.hash)} w={safe(lora.weight)}")
    c2pa = report.c2pa
    if c2pa is not None:
        out.print(
            f"  c2pa: {safe(c2pa.state)}; generator {safe(c2pa.claim_generator)}; "
            f"source types {safe(list(c2pa.digital_source_types))}"
        )
    for p in report.parse_errors:
        out.print(f"  parse error in {safe(p.source)}: {safe(p.message)}")
    if m.detector_score is not None:
        out.print(f"  detector score: {m.detector_score:.3f}")


@sightings_app.command("list")
def sightings_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    status: Annotated[Status | None, typer.Option(help="Only items with this outcome.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Every place an item was seen, with its outcome (failed and skipped items included)."""
    with open_case(case, database_url) as c:
        for s in c.sightings(status):
            if json_out:
                emit_jsonl(sighting_json(s))
            else:
                why = f"  {safe(s.reason)}: {safe(s.detail)}" if s.reason else ""
                out.print(f"{s.status.value:<8} {safe(s.path)}{why}")
