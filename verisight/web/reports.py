"""``/reports``: a period report (the code of ``verisight report``), viewed as a page and
downloaded as PDF, JSON or a standalone HTML file. Counts only, never an image; each
report is audited by the service (``report``, with its format). For the roles that may
export (reviewers, admins, auditors)."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from verisight.assessment.roles import Perm
from verisight.reports.render import TITLES, to_html, to_json
from verisight.web.deps import Service, Session, render

router = APIRouter()
From = Annotated[str, Query(alias="from")]
To = Annotated[str, Query(alias="to")]
MEDIA_TYPES = {"pdf": "application/pdf", "json": "application/json", "html": "text/html"}


@router.get("/reports")
def reports_page(
    request: Request, service: Service, session: Session, date_from: From = "", date_to: To = ""
) -> Response:
    """The form; with a period (or ``generate``), the report for it."""
    service.require(session.user, Perm.EXPORT)
    report, columns = None, []
    if date_from or date_to or "generate" in request.query_params:
        report = service.report(session.user, "web", date_from or None, date_to or None)
        rows = [r for rs in report.main.breakdowns.values() for r in rs]
        columns = [f.name for f in fields(rows[0]) if f.name != "key"] if rows else []
    return render(request, "reports.html", session, report=report, titles=TITLES,
                  columns=columns, query={"from": date_from, "to": date_to})  # fmt: skip


@router.get("/reports/report.{format}")
def download(
    service: Service, session: Session, format: str, date_from: From = "", date_to: To = ""
) -> Response:
    if format not in MEDIA_TYPES:
        return Response("unknown format", status_code=404, media_type="text/plain")
    rep = service.report(session.user, format, date_from or None, date_to or None)
    if format == "pdf":
        from verisight.reports.charts import to_pdf

        body: bytes | str = to_pdf(rep)
    elif format == "json":
        body = to_json(rep)
    else:
        from verisight.reports.charts import chart_uris

        body = to_html(rep, chart_uris(rep))
    period = re.sub(r"[^0-9-]", "", "-".join(p for p in (date_from, date_to) if p)) or "all"
    name = f"verisight-report-{period}.{format}"
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
