"""Administration of accounts and API keys: ``/admin/users`` and ``/admin/keys``.

Every action is a POST with the session's CSRF token (the ``Post`` dependency) and goes
through the same service calls as ``verisight user …`` and ``verisight apikey …``, which
check the ``manage`` permission and write the audit entry. A temporary password and a new
API key are shown once, on the page that answers the POST, and never again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from verisight.apikeys import SCOPES
from verisight.assessment import AssessmentService, SessionRecord, temporary_password
from verisight.assessment.roles import Role
from verisight.errors import UsageError
from verisight.web.deps import Post, Posted, Service, Session, render

router = APIRouter()
ROLES = [r.value for r in Role]


def _users_page(
    request: Request,
    service: AssessmentService,
    session: SessionRecord,
    status: int = 200,
    **context: Any,
) -> Response:
    view = service.admin_view(session.user)
    context = {"error": None, "shown_once": None} | context
    return render(request, "admin_users.html", session, status, users=view.users, roles=ROLES,
                  **context)  # fmt: skip


@router.get("/admin/users")
def users_page(request: Request, service: Service, session: Session) -> Response:
    return _users_page(request, service, session)


def _user_action(
    request: Request, service: Service, post: Posted, action: Callable[[], Any]
) -> Response:
    """Run an account action; a refusal re-renders the page with the reason (400)."""
    try:
        action()
    except UsageError as exc:
        return _users_page(request, service, post.session, 400, error=str(exc))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users")
def add_user(request: Request, service: Service, post: Post) -> Response:
    """A new user with a temporary password, shown once; she changes it at her first login."""
    name, role = post.form.get("name", "").strip(), post.form.get("role", "")
    password = temporary_password()
    try:
        service.accounts.add_user(name, role, password, by=post.user, must_change=True)
    except UsageError as exc:
        return _users_page(request, service, post.session, 400, error=str(exc))
    return _shown_once(request, service, post, name, password, "new account")


def _shown_once(
    request: Request, service: AssessmentService, post: Posted, name: str, password: str,
    why: str,
) -> Response:  # fmt: skip
    once = {"user": name, "password": password, "why": why}
    return _users_page(request, service, post.session, shown_once=once)


@router.post("/admin/users/{name}/role")
def set_role(request: Request, service: Service, post: Post, name: str) -> Response:
    role = post.form.get("role", "")
    return _user_action(request, service, post,
                        lambda: service.accounts.set_role(name, role, by=post.user))  # fmt: skip


@router.post("/admin/users/{name}/disable")
def disable(request: Request, service: Service, post: Post, name: str) -> Response:
    return _user_action(request, service, post,
                        lambda: service.accounts.set_active(name, False, by=post.user))  # fmt: skip


@router.post("/admin/users/{name}/enable")
def enable(request: Request, service: Service, post: Post, name: str) -> Response:
    return _user_action(request, service, post,
                        lambda: service.accounts.set_active(name, True, by=post.user))  # fmt: skip


@router.post("/admin/users/{name}/revoke-sessions")
def revoke_sessions(request: Request, service: Service, post: Post, name: str) -> Response:
    return _user_action(request, service, post,
                        lambda: service.accounts.revoke_sessions(name, by=post.user))  # fmt: skip


@router.post("/admin/users/{name}/reset-password")
def reset_password(request: Request, service: Service, post: Post, name: str) -> Response:
    """A temporary password, shown once; the user must change it at her next login."""
    password = temporary_password()
    try:
        service.accounts.reset_password(name, password, by=post.user)
    except UsageError as exc:
        return _users_page(request, service, post.session, 400, error=str(exc))
    return _shown_once(request, service, post, name, password, "password reset")


# API keys (``verisight apikey``)
def _keys_page(
    request: Request,
    service: AssessmentService,
    session: SessionRecord,
    status: int = 200,
    **context: Any,
) -> Response:
    context = {"error": None, "new_key": None} | context
    return render(request, "admin_keys.html", session, status,
                  keys=service.api_keys(session.user), scopes=SCOPES, **context)  # fmt: skip


@router.get("/admin/keys")
def keys_page(request: Request, service: Service, session: Session) -> Response:
    return _keys_page(request, service, session)


@router.post("/admin/keys")
def create_key(request: Request, service: Service, post: Post) -> Response:
    """A new key, shown on this response only (the database keeps its hash and prefix)."""
    scopes = [s for s in SCOPES if post.form.get(f"scope_{s}")]
    try:
        new = service.create_api_key(post.user, post.form.get("name", ""), scopes)
    except UsageError as exc:
        return _keys_page(request, service, post.session, 400, error=str(exc))
    return _keys_page(request, service, post.session, new_key=new)


@router.post("/admin/keys/{name}/revoke")
def revoke_key(request: Request, service: Service, post: Post, name: str) -> Response:
    try:
        service.revoke_api_key(post.user, name)
    except UsageError as exc:
        return _keys_page(request, service, post.session, 400, error=str(exc))
    return RedirectResponse("/admin/keys", status_code=303)
