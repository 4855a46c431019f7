"""``verisight api`` and ``verisight apikey …``: the platform API and its keys."""

from __future__ import annotations

from typing import Annotated

import typer

from verisight.apikeys import SCOPES
from verisight.case import DEFAULT_CASE_DIR
from verisight.cli._common import CaseOpt, DbOpt, JsonOpt, emit_jsonl, err, fail, open_case, out
from verisight.cli._common import TrustedProxyOpt as ProxyOpt
from verisight.errors import VerisightError

apikey_app = typer.Typer(help="Manage the platform API's keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("api")(api)
    app.add_typer(apikey_app, name="apikey")


def api(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8710,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each holds its own index).", min=1)
    ] = 1,
    anonymous_lookups: Annotated[
        bool,
        typer.Option("--anonymous-lookups", help="Allow look-ups without a key."),
    ] = False,
    url_host: Annotated[
        list[str] | None,
        typer.Option(
            "--url-host",
            help="Allow hashing from URLs on this host (and its subdomains); repeatable. "
            "Off unless given.",
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", help="Largest request body, in MiB.", min=1)
    ] = 64,
    poll_seconds: Annotated[
        float,
        typer.Option("--poll-seconds", help="Seconds between polls of the database for changes."),
    ] = 2.0,
    trusted_proxy: ProxyOpt = None,
) -> None:
    """Serve the platform API: HMA-compatible hashing, matching and bank curation."""
    from verisight.api import ApiSettings
    from verisight.api.server import serve
    from verisight.cli.web import proxy_allowlist

    settings = ApiSettings(
        anonymous_lookups=anonymous_lookups,
        url_hosts=tuple(h.lower() for h in url_host or ()),
        max_upload_bytes=max_upload_mb << 20,
        poll_seconds=poll_seconds,
    )
    with open_case(case, database_url, create=True) as c:
        if not c.api_keys.all() and not anonymous_lookups:
            err.print(
                "[yellow]no API keys yet:[/yellow] create one with "
                "`verisight apikey create NAME --scope lookup`"
            )
        out.print(f"Verisight API on http://{host}:{port}/  (case {c.directory})")
        serve(
            c, settings, host=host, port=port, workers=workers,
            forwarded_allow_ips=proxy_allowlist(trusted_proxy or []),
        )  # fmt: skip


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"One of {', '.join(SCOPES)}; repeatable."),
    ],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    with open_case(case, database_url, create=True) as c:
        try:
            new = c.api_keys.create(name, scope)
        except VerisightError as exc:
            fail(exc)
    if json_out:
        emit_jsonl({"name": new.view.name, "key": new.key, "scopes": list(new.view.scopes)})
        return
    out.print(f"created API key {name} ({', '.join(new.view.scopes)}):")
    out.print(new.key)
    err.print("[yellow]store it now:[/yellow] it cannot be shown again")


@apikey_app.command("list")
def apikey_list(
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List keys: name, prefix, scopes, state and requests served."""
    with open_case(case, database_url) as c:
        keys = c.api_keys.all()
    for k in keys:
        row = {
            "name": k.name, "prefix": k.prefix, "scopes": list(k.scopes),
            "revoked": k.revoked_at is not None, "requests": k.requests,
            "created_at": k.created_at.isoformat(),
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        }  # fmt: skip
        if json_out:
            emit_jsonl(row)
        else:
            state = "revoked" if k.revoked_at else "active"
            out.print(
                f"{k.name}\t{k.prefix}…\t{','.join(k.scopes)}\t{state}\t{k.requests} requests"
            )


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    case: CaseOpt = DEFAULT_CASE_DIR,
    database_url: DbOpt = None,
) -> None:
    """Revoke a key: it is refused (401) from the next request on."""
    with open_case(case, database_url) as c:
        try:
            c.api_keys.revoke(name)
        except VerisightError as exc:
            fail(exc)
    out.print(f"revoked {name}")


__all__ = ["register"]
