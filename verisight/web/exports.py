"""``/exports``: the evidence package (zip) and the VICS export as downloads, written by the
same code as ``verisight export evidence`` and ``verisight export hashes --format vics``
(audited by the report service). Roles with ``export``: admin, reviewer, auditor."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from verisight.assessment.roles import Perm
from verisight.assessment.taxonomy import OUTCOME
from verisight.reports.hashes import check_filters
from verisight.web.admin_banks import admin_service, download
from verisight.web.deps import Post, Session, render

router = APIRouter()

_SPLIT = re.compile(r"[\s,]+")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@router.get("/exports")
def exports_page(request: Request, session: Session) -> Response:
    admin_service(request).assessment.require(session.user, Perm.EXPORT)
    return render(request, "exports.html", session, outcomes=OUTCOME.options)


@router.post("/exports/evidence")
def export_evidence(request: Request, post: Post) -> Response:
    media = [m for m in _SPLIT.split(post.form.get("media", "")) if m]
    outcomes = [o for o in _SPLIT.split(post.form.get("outcome", "")) if o]
    check_filters(outcomes, ())
    body, _ = admin_service(request).export_evidence(
        post.user, media=media, outcomes=outcomes,
        include_originals=post.form.get("include_originals") == "on",
    )  # fmt: skip
    return download(body, "application/zip", f"verisight-evidence-{_stamp()}.zip")


@router.post("/exports/vics")
def export_vics(request: Request, post: Post) -> Response:
    text = admin_service(request).export_vics(
        post.user, vics_model=post.form.get("vics_model", "Default"),
        include_pending=post.form.get("include_pending") == "on",
    )  # fmt: skip
    return download(text.encode("utf-8"), "application/json", f"verisight-vics-{_stamp()}.json")
