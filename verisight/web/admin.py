"""Admin and auditor screens: organisation settings, users, the audit log, exports."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from verisight.assessment.welfare import SETTINGS
from verisight.errors import UsageError
from verisight.web.auth import welfare_values
from verisight.web.deps import Post, Service, Session, render

router = APIRouter()


@router.get("/admin")
def admin_page(request: Request, service: Service, session: Session) -> Response:
    view = service.admin_view(session.user)
    return render(request, "admin.html", session, users=view.users, settings_spec=SETTINGS,
                  org=view.org_welfare, qa=view.review_policy)  # fmt: skip


@router.post("/admin/welfare")
def admin_welfare(service: Service, post: Post) -> Response:
    try:
        service.accounts.set_org_welfare(post.user, welfare_values(post.form))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/qa")
def admin_qa(service: Service, post: Post) -> Response:
    try:
        rate = float(post.form.get("sample_rate", "")) / 100
    except ValueError:
        raise UsageError("the second-review share is a percentage") from None
    service.set_review_policy(post.user, rate)
    return RedirectResponse("/admin", status_code=303)


@router.get("/export.json")
def export(service: Service, session: Session) -> Response:
    rows = service.export(session.user)
    return JSONResponse(
        {"assessments": rows},
        headers={"Content-Disposition": 'attachment; filename="verisight-assessments.json"'},
    )
