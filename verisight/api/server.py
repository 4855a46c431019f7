"""Running the API under uvicorn, in one process or several (``--workers N``).

With several workers uvicorn imports the app in each process: :func:`app_from_env` rebuilds it
from the JSON settings ``verisight api`` puts in ``VERISIGHT_API_CONFIG``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from verisight.case import Case
from verisight.limits import Limits

from .app import create_app
from .deps import ApiSettings

CONFIG_ENV = "VERISIGHT_API_CONFIG"


def app_from_env() -> FastAPI:
    cfg = json.loads(os.environ[CONFIG_ENV])
    case = Case(Path(cfg["case"]), cfg.get("database_url"))
    s = cfg["settings"]
    settings = ApiSettings(
        anonymous_lookups=s["anonymous_lookups"], url_hosts=tuple(s["url_hosts"]),
        max_upload_bytes=s["max_upload_bytes"], limits=Limits(**s["limits"]),
        poll_seconds=s["poll_seconds"], stale_seconds=s["stale_seconds"],
    )  # fmt: skip
    return create_app(case, settings)


def serve(
    case: Case,
    settings: ApiSettings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str = "",
) -> None:
    """Run the API. ``X-Forwarded-For`` is read only from ``forwarded_allow_ips`` (the operator's
    ``--trusted-proxy`` addresses); with none, proxy headers are off, even from 127.0.0.1."""
    import uvicorn

    common: dict[str, Any] = {
        "host": host, "port": port, "log_level": "warning", "server_header": False,
        "proxy_headers": bool(forwarded_allow_ips), "forwarded_allow_ips": forwarded_allow_ips,
    }  # fmt: skip
    if workers <= 1:
        uvicorn.run(create_app(case, settings), **common)
        return
    os.environ[CONFIG_ENV] = json.dumps(
        {
            "case": str(case.directory),
            "database_url": case.database_url,
            "settings": asdict(settings),
        }
    )
    uvicorn.run("verisight.api.server:app_from_env", factory=True, workers=workers, **common)
