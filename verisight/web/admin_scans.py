"""``/admin/scans``: start a scan of a path under a configured root (``verisight serve
--scan-root``), follow its progress, list failed items with their reasons, resume an
interrupted scan. The scan is :meth:`verisight.case.Case.scan` in a background thread
(:class:`verisight.services.admin.AdminService`); one at a time per case."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from verisight.errors import UsageError
from verisight.web.admin_banks import admin_service
from verisight.web.deps import Post, Session, render

router = APIRouter()


@router.get("/admin/scans")
def scans_page(request: Request, session: Session) -> Response:
    state = admin_service(request).scan_state(session.user)
    return render(request, "admin_scans.html", session, state=state)


@router.get("/admin/scans/progress")
def scan_progress(request: Request, session: Session) -> Response:
    """The running (or last) scan of this app as JSON, for the page to poll."""
    job = admin_service(request).job(session.user)
    return JSONResponse({"job": job.to_json() if job else None})


@router.post("/admin/scans")
def scan_start(request: Request, post: Post) -> Response:
    admin_service(request).start_scan(post.user, post.form.get("path", ""))
    return RedirectResponse("/admin/scans", status_code=303)


@router.post("/admin/scans/{scan_id}/resume")
def scan_resume(request: Request, post: Post, scan_id: int) -> Response:
    if scan_id < 1:
        raise UsageError("no such scan")
    admin_service(request).resume_scan(post.user, scan_id)
    return RedirectResponse("/admin/scans", status_code=303)
