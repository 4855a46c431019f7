"""``/admin/banks``: list banks, import one by upload, set its kind and threshold, disable or
enable one entry, export it as a download. Everything goes through
:class:`verisight.services.admin.AdminService` (the CLI's code paths, audited, admin only)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from verisight.assessment import SessionRecord
from verisight.assessment.roles import Perm
from verisight.banking import BANK_KINDS
from verisight.errors import UsageError, VerisightError
from verisight.matching import READ_FORMATS, WRITE_FORMATS
from verisight.matching.signals import PDQ_THRESHOLD
from verisight.services.admin import AdminService
from verisight.web.deps import Post, Session, posted, render

router = APIRouter()

#: An uploaded file keeps its own name's safe characters on disk: the format is detected from
#: the suffix, as for a file given to ``verisight bank import``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SUFFIX = {"csv": "csv", "vics": "json", "pdq": "txt", "plain": "txt"}


def admin_service(request: Request) -> AdminService:
    admin: AdminService = request.app.state.admin
    return admin


def download(body: bytes, media_type: str, filename: str) -> Response:
    """``body`` as a file download called ``filename``."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


def _threshold(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError("the PDQ threshold is a whole number") from None


def _page(
    request: Request, session: SessionRecord, status_code: int = 200, **extra: Any
) -> Response:
    banks = admin_service(request).banks(session.user)
    return render(request, "admin_banks.html", session, status_code, banks=banks,
                  read_formats=READ_FORMATS, write_formats=WRITE_FORMATS, kinds=BANK_KINDS,
                  default_threshold=PDQ_THRESHOLD, **extra)  # fmt: skip


@router.get("/admin/banks")
def banks_page(request: Request, session: Session) -> Response:
    return _page(request, session)


@router.get("/admin/banks/{name}")
def bank_page(request: Request, session: Session, name: str) -> Response:
    admin = admin_service(request)
    entries = admin.bank_entries(session.user, name)  # checks the role first
    bank = admin.case.banking.bank(name)
    return render(request, "admin_bank.html", session, bank=bank, entries=entries,
                  kinds=BANK_KINDS, write_formats=WRITE_FORMATS,
                  default_threshold=PDQ_THRESHOLD)  # fmt: skip


@router.post("/admin/banks/import")
async def bank_import(request: Request, session: Session) -> Response:
    """Import an uploaded hash list exactly as ``verisight bank import`` does: atomic, and an
    invalid row refuses the whole file unless "skip invalid rows" is ticked."""
    admin = admin_service(request)
    admin.assessment.require(session.user, Perm.MANAGE)  # before a large body is parsed
    post = await posted(request, session)
    form = await request.form()  # parsed once already by ``Post``; the upload is in it
    upload = form.get("file")
    f = post.form
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UsageError("choose a file to import")
    name = f.get("name", "").strip()
    if not name:
        raise UsageError("give the bank a name")
    filename = _UNSAFE.sub("_", Path(upload.filename).name).lstrip(".") or "upload"
    try:
        with tempfile.TemporaryDirectory(prefix="verisight-bank-") as tmp:
            path = Path(tmp) / filename
            with path.open("wb") as out:
                while chunk := await upload.read(1 << 20):
                    out.write(chunk)
            res = admin.import_bank(
                post.user, path, name, format=f.get("format", "auto"),
                label=f.get("label") or None, kind=f.get("kind", "match"),
                pdq_threshold=_threshold(f.get("threshold", "")),
                skip_invalid=f.get("skip_invalid") == "on",
            )  # fmt: skip
    except VerisightError as exc:
        return _page(request, post.session, 400, import_error=str(exc), import_name=name)
    return _page(request, post.session, imported=res, import_name=name)


@router.post("/admin/banks/{name}/settings")
def bank_settings(request: Request, post: Post, name: str) -> Response:
    admin_service(request).configure_bank(
        post.user, name, kind=post.form.get("kind", ""),
        pdq_threshold=_threshold(post.form.get("threshold", "")),
    )  # fmt: skip
    return RedirectResponse(f"/admin/banks/{name}", status_code=303)


@router.post("/admin/banks/{name}/entries")
def bank_entry(request: Request, post: Post, name: str) -> Response:
    """Disable (``enabled=0``) or enable (``enabled=1``) the entry whose id is ``entry``."""
    enabled, entry = post.form.get("enabled"), post.form.get("entry", "")
    if enabled not in ("0", "1") or not entry.isdigit():
        raise UsageError("give an entry id and enabled 0 or 1")
    admin_service(request).set_entry_enabled(post.user, name, int(entry), enabled == "1")
    return RedirectResponse(f"/admin/banks/{name}", status_code=303)


@router.post("/admin/banks/{name}/export")
def bank_export(request: Request, post: Post, name: str) -> Response:
    format = post.form.get("format", "")
    if format not in WRITE_FORMATS:
        raise UsageError(f"the format is one of {', '.join(WRITE_FORMATS)}")
    text = admin_service(request).export_bank(post.user, name, format)
    filename = f"{_UNSAFE.sub('_', name)}.{_SUFFIX.get(format, 'txt')}"
    media_type = "application/json" if format == "vics" else "text/plain; charset=utf-8"
    return download(text.encode("utf-8"), media_type, filename)
