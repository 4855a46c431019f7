"""The case dashboard (``GET /dashboard``): the landing page of reviewers and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from verisight.web.deps import Service, Session, render

router = APIRouter()


@router.get("/dashboard")
def dashboard(
    request: Request,
    service: Service,
    session: Session,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    view = service.dashboard(session.user, date_from or None, date_to or None)
    bars = {}
    if view.report is not None:
        for name in ("media_by_provenance", "top_generator_models", "bank_matches_by_bank",
                     "outcomes"):  # fmt: skip
            value = view.figure(name)
            if isinstance(value, dict):
                top = max(value.values(), default=0) or 1
                bars[name] = [(k, v, round(100 * v / top)) for k, v in value.items()]
    return render(request, "dashboard.html", session, view=view, bars=bars)
