"""Login, logout, the break reminder and per-user welfare settings."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from verisight.assessment.roles import Perm, can
from verisight.assessment.welfare import SETTINGS
from verisight.errors import UsageError
from verisight.web.deps import (
    LOGIN_COOKIE,
    PASSWORD_PAGE,
    SESSION_COOKIE,
    Post,
    Service,
    Session,
    render,
)

router = APIRouter()


def secure_cookies(request: Request) -> bool:
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie a login sets, by password or single sign-on alike."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies(request)
    )


def home_for(role: str) -> str:
    if can(role, Perm.RESOLVE) or can(role, Perm.MANAGE):
        return "/dashboard"  # welfare leads and admins land on the case dashboard
    return "/queue" if can(role, Perm.VIEW_MEDIA) else "/audit"


@router.get("/login")
def login_form(request: Request) -> Response:
    """The form; messages come only from the server (no ``?error=`` text from a link)."""
    return login_page(request)


def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    """The login form with a fresh form token (and the server's ``error``, if any)."""
    token = secrets.token_urlsafe(24)
    response: Response = render(request, "login.html", None, status, login_token=token,
                                error=error)  # fmt: skip
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies(request),
        path="/login",
    )  # fmt: skip
    return response


@router.post("/login")
def login(
    request: Request,
    service: Service,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    login_token: Annotated[str, Form()] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), login_token.encode()):
        return render(request, "login.html", None, 403, login_token=cookie,
                      error="The form expired: try again.")  # fmt: skip
    address = request.client.host if request.client else "unknown"
    result = service.accounts.login(name, password, address)
    if result is None:
        return render(request, "login.html", None, 401, login_token=cookie,
                      error="Wrong name or password.")  # fmt: skip
    home = PASSWORD_PAGE if result.user.must_change_password else home_for(result.user.role)
    response = RedirectResponse(home, status_code=303)
    set_session_cookie(request, response, result.token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(service: Service, post: Post) -> Response:
    service.accounts.logout(post.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home(session: Session) -> Response:
    return RedirectResponse(home_for(session.user.role), status_code=303)


@router.post("/break")
def took_break(service: Service, post: Post) -> Response:
    service.accounts.took_break(post.session)
    return RedirectResponse("/", status_code=303)


@router.get("/settings")
def settings_form(request: Request, service: Service, session: Session) -> Response:
    return render(request, "settings.html", session, settings_spec=SETTINGS,
                  mine=session.user.settings, org=service.accounts.org_welfare())  # fmt: skip


def welfare_values(form: dict[str, str]) -> dict[str, str]:
    """Form fields named ``w_<setting>``; an empty field means "use the default"."""
    return {s.name: form[f"w_{s.name}"].strip() for s in SETTINGS
            if form.get(f"w_{s.name}", "").strip()}  # fmt: skip


@router.post("/settings")
def save_settings(request: Request, service: Service, post: Post) -> Response:
    try:
        service.accounts.set_user_welfare(post.user, welfare_values(post.form))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return RedirectResponse("/settings", status_code=303)
