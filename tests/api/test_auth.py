"""API keys: 401 without a valid key, 403 without the scope, 200 with it; keys are stored
hashed, counted per request, revocable; curation is audited under the key's name."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.conftest import jpeg_bytes
from verisight.api import ApiSettings, create_app
from verisight.api.deps import CACHE_SECONDS
from verisight.case import Case
from verisight.cli import app as cli

PDQ = "f" * 64
#: (method, path, kwargs, scope needed)
ENDPOINTS = [
    ("get", "/m/lookup", {"params": {"signal_type": "pdq", "signal": PDQ}}, "lookup"),
    ("get", "/m/raw_lookup", {"params": {"signal_type": "pdq", "signal": PDQ}}, "lookup"),
    ("get", "/m/index/status", {}, "lookup"),
    ("post", "/m/compare", {"json": {"pdq": [PDQ, PDQ]}}, "lookup"),
    ("post", "/m/lookup/batch", {"json": {"signals": [PDQ]}}, "lookup"),
    ("get", "/c/banks", {}, "lookup"),
    ("get", "/c/signal_type", {}, "lookup"),
    ("get", "/metrics", {}, "lookup"),
    ("post", "/h/hash", {"files": {"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")}}, "hash"),
    ("post", "/c/banks", {"json": {"name": "NEW"}}, "curate"),
    ("post", "/c/bank/B/signal", {"json": {"pdq": PDQ}}, "curate"),
    ("delete", "/c/bank/B/content/1", {}, "curate"),
]


@pytest.mark.parametrize(("method", "path", "kw", "scope"), ENDPOINTS)
def test_auth_matrix(api: Api, method: str, path: str, kw: dict, scope: str) -> None:
    api.post("/c/banks", json={"name": "B"})
    call = getattr(api.client, method)
    r = call(path, **kw)
    assert r.status_code == 401 and "message" in r.json()
    r = call(path, headers={"Authorization": "Bearer vs_not-a-key"}, **kw)
    assert r.status_code == 401
    for s in ("lookup", "hash", "curate"):
        r = call(path, headers={"X-API-Key": api.keys[s]}, **kw)
        if s == scope:
            assert r.status_code in (200, 201), (s, r.text)
        else:
            assert r.status_code == 403, (s, r.text)
            assert scope in r.json()["message"]


def test_status_needs_no_key(api: Api) -> None:
    assert api.client.get("/status").status_code == 200
    assert api.client.get("/site-map").status_code == 200


def test_lookup_by_file_needs_lookup_and_hash(api: Api) -> None:
    files = {"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")}
    assert (
        api.post("/m/lookup", files=files, headers=api.headers(api.keys["lookup"])).status_code
        == 403
    )
    assert api.post("/m/lookup", files=files).status_code == 200


def test_revoked_key_is_refused_and_keys_are_hashed(api: Api, case: Case) -> None:
    key = api.keys["lookup"]
    assert api.get("/c/banks", headers=api.headers(key)).status_code == 200
    revoked = time.monotonic()
    case.api_keys.revoke("only-lookup")  # elsewhere (the CLI): the replica's cache expires
    while api.get("/c/banks", headers=api.headers(key)).status_code == 200:
        assert time.monotonic() - revoked < CACHE_SECONDS + 0.5
        time.sleep(0.05)
    assert api.get("/c/banks", headers=api.headers(key)).status_code == 401
    import sqlalchemy as sa

    with case.store.engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(sa.text("select * from api_key"))],
                          default=str)  # fmt: skip
    assert key not in dump and key[:10] in dump  # only the prefix is stored


def test_requests_are_counted_per_key(api: Api, case: Case) -> None:
    for _ in range(3):
        api.get("/c/banks", headers=api.headers(api.keys["lookup"]))
    api.client.app.state.flush_counts()  # type: ignore[attr-defined]
    counts = {k.name: k.requests for k in case.api_keys.all()}
    assert counts["only-lookup"] == 3 and counts["only-curate"] == 0
    metrics = api.get("/metrics").text
    assert 'verisight_api_key_requests_total{key="only-lookup"} 3.0' in metrics


def test_curation_is_audited_under_the_key_name(api: Api, case: Case) -> None:
    api.post("/c/banks", json={"name": "B"}, headers=api.headers(api.keys["curate"]))
    api.post("/c/bank/B/signal", json={"pdq": PDQ}, headers=api.headers(api.keys["curate"]))
    api.put("/c/bank/B/content/1", json={"disable_until_ts": 0},
            headers=api.headers(api.keys["curate"]))  # fmt: skip
    api.delete("/c/bank/B", headers=api.headers(api.keys["curate"]))
    from verisight.store.audit import AuditLog

    log = AuditLog(case.store.engine)
    mine = [(e.actor, e.action) for e in log.entries() if e.action.startswith("api-")]
    assert mine[::-1] == [
        ("only-curate", "api-bank-create"), ("only-curate", "api-content-add"),
        ("only-curate", "api-content-update"), ("only-curate", "api-bank-delete"),
    ]  # fmt: skip
    assert log.verify().ok


def test_anonymous_lookups_only_with_the_flag(case: Case) -> None:
    app = create_app(case, ApiSettings(anonymous_lookups=True), follow=False)
    with TestClient(app) as client:
        assert (
            client.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ}).status_code == 200
        )
        assert client.post("/c/banks", json={"name": "X"}).status_code == 401
        files = {"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")}
        assert client.post("/h/hash", files=files).status_code == 401


def test_apikey_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    base = ["--case", str(tmp_path / "case")]
    r = runner.invoke(cli, ["apikey", "create", "svc", "--scope", "lookup", "--scope", "curate",
                            "--json", *base])  # fmt: skip
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["name"] == "svc" and made["scopes"] == ["lookup", "curate"]
    assert made["key"].startswith("vs_") and len(made["key"]) > 40
    r = runner.invoke(cli, ["apikey", "list", "--json", *base])
    listed = json.loads(r.stdout)
    assert listed["prefix"] == made["key"][:10] and made["key"] not in r.stdout
    bad = runner.invoke(cli, ["apikey", "create", "x", "--scope", "admin", *base])
    assert bad.exit_code == 2
    again = runner.invoke(cli, ["apikey", "create", "svc", "--scope", "lookup", *base])
    assert again.exit_code == 2
    assert runner.invoke(cli, ["apikey", "revoke", "svc", *base]).exit_code == 0
    r = runner.invoke(cli, ["apikey", "list", "--json", *base])
    assert json.loads(r.stdout)["revoked"] is True
    with Case(tmp_path / "case") as c:
        assert c.api_keys.authenticate(made["key"]) is None
