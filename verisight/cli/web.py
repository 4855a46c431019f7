"""``verisight serve``, ``user add`` and ``audit verify``: the analyst's room."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import (
    CaseOpt,
    DbOpt,
    JsonOpt,
    TrustedProxyOpt,
    emit_jsonl,
    err,
    fail,
    open_case,
    out,
)
from verisight.errors import UsageError, VerisightError

user_app = typer.Typer(help="Manage the people who use the web app.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")


def serve(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on (127.0.0.1 unless behind a TLS proxy)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind TLS).")
    ] = False,
    trusted_proxy: TrustedProxyOpt = None,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            "--oidc-issuer",
            metavar="URL",
            help="Offer single sign-on with this OpenID Connect provider (its issuer URL).",
        ),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option("--oidc-client-id", metavar="ID", help="This app's client ID there."),
    ] = None,
    oidc_client_secret_file: Annotated[
        Path | None,
        typer.Option(
            "--oidc-client-secret-file",
            metavar="PATH",
            help="File holding the client secret (none: a public client, PKCE only).",
        ),
    ] = None,
    oidc_role_claim: Annotated[
        str,
        typer.Option(
            "--oidc-role-claim",
            metavar="NAME",
            help="ID-token claim with the user's roles or groups (dotted for nested claims).",
        ),
    ] = "roles",
    oidc_role_map: Annotated[
        list[str] | None,
        typer.Option(
            "--oidc-role-map",
            metavar="VALUE=ROLE",
            help="A claim value and the role it grants (repeatable; the first match wins).",
        ),
    ] = None,
    oidc_name: Annotated[
        str | None,
        typer.Option(
            "--oidc-name", metavar="TEXT", help='The login button\'s "Sign in with TEXT".'
        ),
    ] = None,
    oidc_allow_http_localhost: Annotated[
        bool,
        typer.Option(
            "--oidc-allow-http-localhost",
            help="Allow an http provider on 127.0.0.1 (testing only; otherwise https).",
        ),
    ] = False,
    scan_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--scan-root",
            help="A folder admins may scan from the browser, anything under it (repeatable); "
            "without one, scanning from the browser is off.",
        ),
    ] = None,
) -> None:
    """Start the assessment web app (the analyst's room)."""
    import uvicorn

    from verisight.web import create_app
    from verisight.web.oidc import OidcConfig, OidcError, SingleSignOnClient, parse_role_map

    sso = None
    if oidc_issuer is not None:
        try:
            secret = (
                oidc_client_secret_file.read_text(encoding="utf-8").strip()
                if oidc_client_secret_file is not None
                else None
            )
            sso = OidcConfig(
                oidc_issuer, oidc_client_id or "", secret, oidc_role_claim,
                parse_role_map(oidc_role_map or []), oidc_name or "",
                oidc_allow_http_localhost,
            )  # fmt: skip
        except OSError as exc:
            fail(UsageError(f"cannot read the client secret: {exc.strerror}"))
        except VerisightError as exc:
            fail(exc)
    roots = scan_root or []
    for root in roots:
        if not root.is_dir():
            fail(VerisightError(f"--scan-root {root} is not a folder"))
    with open_case(case, database_url) as c:
        service = c.assessment
        if not service.users.all():
            err.print(
                "[yellow]no users yet:[/yellow] add one with `verisight user add NAME --role admin`"
            )
        client = None
        if sso is not None:
            client = SingleSignOnClient.of(sso)
            out.print(f"single sign-on: {sso.issuer} (client {sso.client_id})")
            try:
                client.provider.metadata()
            except OidcError as exc:  # retried at each sign-in; the server still starts
                err.print(f"[yellow]the identity provider is not answering:[/yellow] {exc}")
        out.print(f"Verisight on http://{host}:{port}/  (case {c.directory})")
        uvicorn.run(
            create_app(service, secure_cookies=secure_cookies, sso=client, scan_roots=roots),
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            proxy_headers=bool(trusted_proxy),
            forwarded_allow_ips=proxy_allowlist(trusted_proxy or []),
        )


def proxy_allowlist(trusted: list[str]) -> str:
    """uvicorn's ``forwarded_allow_ips``: ``X-Forwarded-For``/``-Proto`` are read only from
    the addresses the operator named (``--trusted-proxy``), never by default, not even from
    127.0.0.1, where any local process could forge them and dodge the per-address login
    limits. With none named, proxy headers are off altogether."""
    return ",".join(trusted) if trusted else ""


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin, analyst, reviewer or auditor.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user (the password is prompted for, or read from stdin)."""
    password = _password(password_stdin)
    with open_case(case, database_url) as c:
        try:
            c.assessment.accounts.add_user(name, role, password)
        except VerisightError as exc:
            fail(exc)
    out.print(f"added {name} ({role})")


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


NameArg = Annotated[str, typer.Argument(help="Login name.")]


def _on_accounts(case: Path, database_url: str | None, action: Callable[[Any], Any]) -> Any:
    """``action`` on the case's accounts service; a refusal is a clear error and exit code."""
    return _on_assessment(case, database_url, lambda s: action(s.accounts))


def _on_assessment(case: Path, database_url: str | None, action: Callable[[Any], Any]) -> Any:
    """``action`` on the case's assessment service; a refusal is a clear error and exit code."""
    with open_case(case, database_url) as c:
        try:
            return action(c.assessment)
        except VerisightError as exc:
            fail(exc)


@user_app.command("disable")
def user_disable(
    name: NameArg, case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None
) -> None:
    """Disable a user: no more logins, and every open session ends (audited)."""
    _on_accounts(case, database_url, lambda a: a.set_active(name, False))
    out.print(f"disabled {name}")


@user_app.command("enable")
def user_enable(
    name: NameArg, case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None
) -> None:
    """Enable a disabled user again (audited)."""
    _on_accounts(case, database_url, lambda a: a.set_active(name, True))
    out.print(f"enabled {name}")


@user_app.command("role")
def user_role(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="admin, analyst, reviewer or auditor.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Change a user's role; her sessions end, so the next one has the new role (audited)."""
    _on_accounts(case, database_url, lambda a: a.set_role(name, role))
    out.print(f"{name} is now {role}")


@user_app.command("reset-password")
def user_reset_password(
    name: NameArg,
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a new password (prompted for, or read from stdin); ends the user's sessions. The
    user must change it at the next login."""
    password = _password(password_stdin)
    ended = _on_accounts(case, database_url, lambda a: a.reset_password(name, password))
    out.print(f"new password for {name}; {ended} session(s) ended")


@user_app.command("revoke-sessions")
def user_revoke_sessions(
    name: NameArg, case: CaseOpt = DEFAULT_CASE_DIR, database_url: DbOpt = None
) -> None:
    """Log a user out everywhere: every open session ends (audited)."""
    ended = _on_accounts(case, database_url, lambda a: a.revoke_sessions(name))
    out.print(f"{ended} session(s) of {name} ended")


@user_app.command("link-sso")
def user_link_sso(
    name: NameArg,
    issuer: Annotated[
        str, typer.Option("--issuer", metavar="URL", help="The identity provider's issuer.")
    ],
    subject: Annotated[
        str, typer.Option("--subject", metavar="SUB", help="The user's subject (sub) there.")
    ],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Link a user to a single sign-on identity: signing in with it logs in as them (audited)."""
    _on_assessment(case, database_url, lambda s: s.sso.link(name, issuer, subject))
    out.print(f"linked {name} to {subject} at {issuer}")


@audit_app.command("verify")
def audit_verify(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute the audit log's hash chain; exit 1 if any entry was edited, deleted or moved."""
    with open_case(case, database_url) as c:
        report = c.audit.verify()
    if json_out:
        emit_jsonl(report.to_json())
    elif report.ok:
        out.print(f"audit log intact: {report.entries} entries, head {report.head}")
    else:
        for p in report.problems:
            err.print(f"[red]broken:[/red] {p}")
    if not report.ok:
        raise typer.Exit(1)


__all__ = ["register"]
