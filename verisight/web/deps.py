"""FastAPI dependencies: the service, the logged-in session, CSRF checks, templates.

Nothing here is global: :func:`verisight.web.app.create_app` puts the service and settings on
``app.state`` and these dependencies read them from the request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates

from verisight.assessment import AssessmentService, SessionRecord, UserRecord
from verisight.assessment.roles import Perm, can
from verisight.assessment.taxonomy import FIELDS
from verisight.assessment.welfare import break_due

SESSION_COOKIE = "verisight_session"
LOGIN_COOKIE = "verisight_login"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


class NotLoggedIn(Exception):
    """No valid session: pages redirect to the login form, other requests get 401."""


class BadCsrf(Exception):
    """A state-changing request without the session's CSRF token."""


class PasswordChangeRequired(Exception):
    """The session's password was reset: it may only change it (or log out) first."""


#: The pages a session whose password must change may reach (the server enforces it here,
#: in the session dependency every other route depends on, not by a redirect after login).
PASSWORD_PAGE = "/password"
WHILE_PASSWORD_MUST_CHANGE = frozenset({PASSWORD_PAGE, "/logout"})


def get_service(request: Request) -> AssessmentService:
    service: AssessmentService = request.app.state.service
    return service


Service = Annotated[AssessmentService, Depends(get_service)]


def current_session(request: Request, service: Service) -> SessionRecord:
    s = service.accounts.session(request.cookies.get(SESSION_COOKIE))
    if s is None:
        raise NotLoggedIn()
    if s.user.must_change_password and request.url.path not in WHILE_PASSWORD_MUST_CHANGE:
        raise PasswordChangeRequired()
    return s


Session = Annotated[SessionRecord, Depends(current_session)]


@dataclass(frozen=True)
class Posted:
    """A state-changing request whose CSRF token was checked, with its form fields."""

    session: SessionRecord
    form: dict[str, str]

    @property
    def user(self) -> UserRecord:
        return self.session.user


async def posted(request: Request, session: Session) -> Posted:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = request.headers.get("x-csrf-token") or fields.get("csrf") or ""
    if not secrets.compare_digest(token.encode(), session.csrf.encode()):
        raise BadCsrf()
    return Posted(session, fields)


Post = Annotated[Posted, Depends(posted)]


def render(
    request: Request,
    name: str,
    session: SessionRecord | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    service = get_service(request)
    base: dict[str, Any] = {"fields": FIELDS, "session": session, "perm": Perm}
    if session is not None:
        user = session.user
        settings = service.accounts.welfare(user)
        base |= {
            "user": user,
            "csrf": session.csrf,
            "welfare": settings,
            "can": lambda perm: can(user.role, perm),
            "break_due": break_due(settings, session.break_at, datetime.now(UTC)),
            "exposure": (
                service.accounts.exposure(user) if can(user.role, Perm.VIEW_MEDIA) else None
            ),
        }
    return TEMPLATES.TemplateResponse(request, name, base | context, status_code=status_code)
