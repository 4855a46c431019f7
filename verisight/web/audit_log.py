"""``/audit``: verify the hash chain and browse the log with filters, page by page.

Read-only, for the roles with ``read-audit`` (auditors and admins); the service checks it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from verisight.assessment import AuditFilter
from verisight.errors import UsageError
from verisight.web.deps import Service, Session, render

router = APIRouter()
PAGE = 50


def _day(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise UsageError(f"{name} is a date: YYYY-MM-DD") from None


@router.get("/audit")
def audit_page(
    request: Request,
    service: Service,
    session: Session,
    actor: str = "",
    action: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    until = _day(date_to, "to")
    filt = AuditFilter(
        actor=actor.strip() or None, action=action.strip() or None,
        since=_day(date_from, "from"), until=until + timedelta(days=1) if until else None,
        text=q.strip()[:200] or None,
    )  # fmt: skip
    rows = service.audit_log(session.user, PAGE + 1, filt=filt, offset=(page - 1) * PAGE)
    report = service.verify_audit()
    query = {"actor": actor, "action": action, "from": date_from, "to": date_to, "q": q}
    keep = {k: v for k, v in query.items() if v}

    def link(n: int) -> str:
        return "/audit?" + urlencode(keep | {"page": n})

    return render(request, "audit.html", session, entries=rows[:PAGE], report=report,
                  query=query, page=page, prev_url=link(page - 1) if page > 1 else None,
                  next_url=link(page + 1) if len(rows) > PAGE else None)  # fmt: skip
