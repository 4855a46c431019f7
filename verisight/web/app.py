"""The FastAPI application of ``verisight serve``: :func:`create_app` builds it around a service.

Security is in the app, not the browser: every route but the login form and static files
needs a session; roles are checked by the service; every POST needs the session's CSRF
token; responses carry a strict CSP (no inline scripts or styles), no framing, no referrer and
``Cache-Control: no-store``, error pages (500s included) like any other. Request bodies are
limited per route before anything parses them (:mod:`verisight.web.limits`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from verisight.assessment import AssessmentService, StaleVersion, TooManyAttempts
from verisight.errors import Forbidden, MediaNotFound, UsageError
from verisight.services.admin import AdminService
from verisight.web import (
    admin,
    admin_banks,
    admin_scans,
    admin_users,
    audit_log,
    auth,
    dashboard,
    exports,
    items,
    oidc,
    password,
    reports,
)
from verisight.web.deps import PASSWORD_PAGE, BadCsrf, NotLoggedIn, PasswordChangeRequired
from verisight.web.limits import BodyLimit

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def create_app(
    service: AssessmentService,
    *,
    secure_cookies: bool = False,
    sso: oidc.OidcConfig | oidc.SingleSignOnClient | None = None,
    scan_roots: Sequence[Path] = (),
    scan_workers: int | None = None,
) -> FastAPI:
    """The web app over ``service``; ``secure_cookies`` when served behind TLS; ``sso`` to
    offer OpenID Connect sign-in (:mod:`verisight.web.oidc`) beside passwords; scans from
    the browser only under ``scan_roots`` (none: off), with ``scan_workers`` processes."""
    app = FastAPI(title="Verisight", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.state.secure_cookies = secure_cookies
    app.state.oidc = oidc.SingleSignOnClient.of(sso) if isinstance(sso, oidc.OidcConfig) else sso
    app.state.admin = AdminService(service, scan_roots, scan_workers=scan_workers)
    app.add_middleware(BodyLimit)  # inside the headers middleware: its 413s get them too

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            response = await call_next(request)
        except Exception:  # a bug: answer like any page, with every header, no traceback
            log.exception("internal error on %s %s", request.method, request.url.path)
            response = _problem(500, "Internal error", "something went wrong on the server")
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, exc: NotLoggedIn) -> Response:
        if request.method == "GET" and _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        return _problem(401, "Not logged in", "log in first")

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, exc: BadCsrf) -> Response:
        return _problem(403, "CSRF token missing or wrong", "reload the page and try again")

    @app.exception_handler(PasswordChangeRequired)
    async def _change(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.method == "GET" and _wants_html(request):
            return RedirectResponse(PASSWORD_PAGE, status_code=303)
        return _problem(403, "Password change required", "change your password first")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_html(request):
            return HTMLResponse(_page("Not allowed", str(exc)), status_code=403)
        return _problem(403, "Forbidden", str(exc))

    @app.exception_handler(MediaNotFound)
    async def _missing(request: Request, exc: MediaNotFound) -> Response:
        return _problem(404, "Not found", str(exc))

    @app.exception_handler(TooManyAttempts)
    async def _slow(request: Request, exc: TooManyAttempts) -> Response:
        if _wants_html(request):
            return HTMLResponse(_page("Too many attempts", str(exc)), status_code=429)
        return _problem(429, "Too many attempts", str(exc))

    @app.exception_handler(StaleVersion)
    async def _stale(request: Request, exc: StaleVersion) -> Response:
        return _problem(409, "Conflict", str(exc))

    @app.exception_handler(UsageError)
    async def _usage(request: Request, exc: UsageError) -> Response:
        return _problem(400, "Bad request", str(exc))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, oidc, items, admin, dashboard, admin_banks, admin_scans, exports,
                   admin_users, audit_log, reports, password):  # fmt: skip
        app.include_router(module.router)
    return app


def _page(title: str, message: str) -> str:
    from html import escape

    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="/static/verisight.css"><title>{escape(title)}</title></head>'
        f'<body><main><h1>{escape(title)}</h1><p class="error">{escape(message)}</p>'
        '<p><a href="/">Back</a></p></main></body></html>'
    )
