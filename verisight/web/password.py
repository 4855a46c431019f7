"""``/password``: a user changes her own password; the only page (with logging out) that a
session whose password was reset may reach (:data:`verisight.web.deps.PASSWORD_PAGE`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from verisight.errors import UsageError
from verisight.web.auth import home_for
from verisight.web.deps import Post, Service, Session, render

router = APIRouter()


@router.get("/password")
def password_form(request: Request, session: Session) -> Response:
    return render(request, "password.html", session, error=None)


@router.post("/password")
def change_password(request: Request, service: Service, post: Post) -> Response:
    current, new = post.form.get("current", ""), post.form.get("new", "")
    try:
        if new != post.form.get("confirm", ""):
            raise UsageError("the new password and its confirmation differ")
        service.accounts.change_password(post.session, current, new)
    except UsageError as exc:
        return render(request, "password.html", post.session, 400, error=str(exc))
    return RedirectResponse(home_for(post.user.role), status_code=303)
