"""``verisight api`` believes ``X-Forwarded-For`` only from the proxies the operator names with
``--trusted-proxy``; by default proxy headers are off, even from 127.0.0.1 (issue 18 item 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from verisight.api.server import CONFIG_ENV
from verisight.cli import api as api_cli


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    api_cli.register(app)
    return app


@pytest.mark.parametrize("workers", ["1", "2"])
def test_api_trusts_forwarded_for_only_from_configured_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    import uvicorn

    seen: list[dict[str, object]] = []
    monkeypatch.setenv(CONFIG_ENV, "")  # the multi-worker path sets it; restored afterwards
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append(kw))
    where = ["api", "--case", str(tmp_path / "case"), "--anonymous-lookups", "--workers", workers]
    res = CliRunner().invoke(cli(), where)
    assert res.exit_code == 0, res.output
    assert seen[-1]["proxy_headers"] is False
    assert not seen[-1]["forwarded_allow_ips"]
    args = [*where, "--trusted-proxy", "10.0.0.5", "--trusted-proxy", "10.0.0.6"]
    res = CliRunner().invoke(cli(), args)
    assert res.exit_code == 0, res.output
    assert seen[-1]["proxy_headers"] is True
    assert seen[-1]["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
