"""``verisight demo`` (``make demo``): the whole flow on a generated, benign collection.

Scan (which clusters), import a demo hash list holding some of the demo's own pictures and
show the matches, show the provenance verdicts, show items against decisions, write the HTML
report, create an admin and a reviewer account with random passwords printed once, and print
the exact command to start the web app. Running it again is safe: the scan adds nothing twice,
the bank is not imported twice, existing accounts are kept (their passwords are not shown
again) and the report is rewritten.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from verisight.case import DEFAULT_CASE_DIR, Case
from verisight.cli._common import CaseOpt, fail, open_case, out
from verisight.errors import VerisightError
from verisight.limits import Limits
from verisight.services.audit import os_actor

DEMO_BANK = "demo-list"
#: Accounts the demo creates: name, role.
DEMO_ACCOUNTS = (("demo-admin", "admin"), ("demo-reviewer", "reviewer"))


def demo(
    case: CaseOpt = DEFAULT_CASE_DIR,
    collection: Annotated[
        Path, typer.Option(help="Where to write the generated demo collection.")
    ] = Path("verisight-demo"),
    workers: Annotated[int | None, typer.Option("--workers", "-w")] = None,
) -> None:
    """Generate a benign demo collection and walk through the whole flow (scan, bank matches,
    provenance, clusters and decisions, report, accounts); safe to run again."""
    from verisight.cli.scan import _print_summary, _scan_with_progress
    from verisight.demo import build_demo_collection, demo_bank_csv

    n = build_demo_collection(collection)
    out.print(
        f"[bold]1. Scan[/bold] — demo collection: {n} files written to {collection}/ "
        "(generated shapes, no downloads)"
    )
    with open_case(case, None, create=True) as c:
        try:
            summary = _scan_with_progress(c, [collection], workers, Limits(), 500)
            _print_summary(summary)
            _bank(c, demo_bank_csv(collection))
            _provenance(c)
            _decisions(c)
            report = _report(c)
            accounts = _accounts(c)
        except VerisightError as exc:
            fail(exc)
    out.print(f"[bold]6. Report[/bold] — written to {report}")
    out.print("[bold]7. Accounts[/bold]")
    for name, role, password in accounts:
        if password:
            out.print(f"  {name} ({role}): password [bold]{password}[/bold]  (shown once)")
        else:
            out.print(f"  {name} ({role}): exists already, password unchanged")
    out.print("Start the web app with:")
    out.print(f"  {_verisight()} serve --case {case}")
    out.print("and open http://127.0.0.1:8700/ (log in as demo-reviewer to assess).")


def _bank(c: Case, csv_text: str) -> None:
    path = c.directory / "demo-list.csv"
    path.write_text(csv_text, encoding="utf-8")
    res = c.banking.import_file(path, DEMO_BANK, label="Demo hash list (neutral)")
    verb = "already imported" if res.already_imported else f"imported {res.added} entries"
    out.print(f"[bold]2. Bank[/bold] — {DEMO_BANK}: {verb}; matches:")
    for m in c.banking.matches(bank=DEMO_BANK):
        media = c.media_show(m.media_sha256)
        where = media.sightings[0].path if media.sightings else ""
        out.print(f"  {m.media_sha256[:12]}  {m.hash_type:<6} distance {m.distance}  {where}")


def _provenance(c: Case) -> None:
    verdicts: Counter[str] = Counter()
    models: Counter[str] = Counter()
    for m in c.media(kind="image"):
        if m.error_reason:
            continue
        verdicts[m.provenance or "not-checked"] += 1
        report = m.provenance_report
        if report and report.generator and report.generator.model_name:
            models[report.generator.model_name] += 1
    out.print(
        "[bold]3. Provenance[/bold] — "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
        + (
            "; generator models: " + ", ".join(f"{k} ({v})" for k, v in models.most_common())
            if models
            else ""
        )
    )


def _decisions(c: Case) -> None:
    pictures = [m for m in c.media() if m.kind in ("image", "video") and not m.error_reason]
    items = sum(len(m.sightings) for m in pictures)
    progress = c.assessment.triage_progress()
    left = sum(p.left for p in progress)
    out.print(
        f"[bold]4. Clusters[/bold] — {items} pictures seen ({len(pictures)} distinct), "
        f"[bold]{left} decisions[/bold] in the queue (a cluster is one decision; "
        "archives and captures are never queued)"
    )
    out.print(
        "[bold]5. Triage[/bold] — " + ", ".join(f"{p.tier} {p.left}" for p in progress if p.left)
    )


def _report(c: Case) -> Path:
    from verisight.reports.charts import chart_uris
    from verisight.reports.render import to_html

    rep = c.reports.report(actor=os_actor(), format="html")
    path = c.directory / "report.html"
    path.write_text(to_html(rep, chart_uris(rep)), encoding="utf-8")
    return path


def _accounts(c: Case) -> list[tuple[str, str, str | None]]:
    made: list[tuple[str, str, str | None]] = []
    for name, role in DEMO_ACCOUNTS:
        if c.assessment.users.by_name(name) is not None:
            made.append((name, role, None))
            continue
        password = secrets.token_urlsafe(12)
        c.assessment.accounts.add_user(name, role, password)
        made.append((name, role, password))
    return made


def _verisight() -> str:
    """How to call this very ``verisight`` from here (``.venv/bin/verisight`` after ``make
    demo``): it is usually not on PATH outside the virtual environment."""
    exe = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("verisight")
    if exe.name != "verisight":
        exe = Path(sys.executable).parent / "verisight"
    try:
        rel = os.path.relpath(exe.resolve() if exe.is_absolute() else exe.absolute())
    except ValueError:
        return str(exe)
    return rel if not rel.startswith("..") else str(exe.absolute())
