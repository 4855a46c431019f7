"""Single sign-on over HTTP (SQLite and PostgreSQL) against a provider the test stands up on
127.0.0.1 (:mod:`tests.web.idp`): a successful login with its role, every check on the ID
token, refusals (audited), key rotation, and users linked by (issuer, subject) only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from joserfc.jwk import OctKey
from typer.testing import CliRunner

from tests.web.conftest import PASSWORD
from tests.web.idp import CLIENT_SECRET, TestProvider, new_key
from verisight.assessment import AssessmentService
from verisight.assessment.accounts import RateLimiter
from verisight.case import Case
from verisight.cli import app as cli_app
from verisight.errors import UsageError
from verisight.web import create_app
from verisight.web.deps import SESSION_COOKIE
from verisight.web.oidc import FLOW_COOKIE, Flows, OidcConfig


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[AssessmentService]:
    case = Case(tmp_path / "case", database_url, create=True)
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    s = AssessmentService(case, limiter=RateLimiter(attempts=3, window=60), hasher=fast)
    s.accounts.add_user("ada", "admin", PASSWORD)  # a local user with the provider's name
    yield s
    case.close()


@pytest.fixture
def idp() -> Iterator[TestProvider]:
    with TestProvider().serve() as provider:
        yield provider


@pytest.fixture
def client(service: AssessmentService, idp: TestProvider) -> Iterator[TestClient]:
    app = create_app(service, sso=idp.config())
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def sign_in(client: TestClient, idp: TestProvider, state: str | None = None) -> httpx.Response:
    """Click "Sign in with …", let the provider redirect back, and return the callback's
    answer (``state`` replaces the one the provider returns)."""
    start = client.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{idp.url}/authorize?")
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 303
    url = urlsplit(back.headers["location"])
    assert url.path == "/login/oidc/callback"
    query = url.query if state is None else re.sub(r"state=[^&]*", f"state={state}", url.query)
    return client.get(f"{url.path}?{query}", follow_redirects=False)


def audit(service: AssessmentService, action: str) -> list[Any]:
    return [e for e in service.audit.entries() if e.action == action]


def sso_users(service: AssessmentService) -> list[str]:
    return sorted(u.name for u in service.users.all() if u.name != "ada")


def test_login_page_offers_single_sign_on_only_when_configured(
    client: TestClient, service: AssessmentService
) -> None:
    assert "Sign in with Test IdP" in client.get("/login").text
    with TestClient(create_app(service), base_url="http://127.0.0.1") as plain:
        assert "Sign in with" not in plain.get("/login").text
        assert plain.get("/login/oidc", follow_redirects=False).status_code == 404


def test_sign_in_provisions_a_user_with_the_mapped_role(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    r = sign_in(client, idp)
    assert r.status_code == 200
    assert 'http-equiv="refresh" content="0;url=/dashboard"' in r.text  # reviewers' landing
    assert SESSION_COOKIE in r.cookies
    # a new user, linked by (issuer, subject): the local "ada" (an admin) is not taken over
    assert sso_users(service) == ["ada-2"]
    me = service.users.by_name("ada-2")
    assert me is not None and me.role == "reviewer"
    local = service.users.by_name("ada")
    assert local is not None and local.role == "admin"
    # the session is an ordinary one: pages, the CSRF token, logout
    page = client.get("/dashboard", headers={"accept": "text/html"})
    assert page.status_code == 200 and "ada-2" in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert (
        client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/dashboard", follow_redirects=False).status_code in (303, 401)
    (added,) = [e for e in audit(service, "user-add") if e.detail.get("via") == "oidc"]
    assert added.detail["user"] == "ada-2" and added.detail["via"] == "oidc"
    assert added.detail["subject"] == "subject-1" and added.detail["issuer"] == idp.url
    (login,) = audit(service, "login")
    assert login.actor == "ada-2" and login.detail["via"] == "oidc"
    assert login.detail["role"] == "reviewer"
    # no password logs the provisioned user in
    assert service.accounts.login("ada-2", "!sso", "127.0.0.1") is None


def test_the_same_identity_logs_in_as_the_same_user_and_follows_role_changes(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    assert sign_in(client, idp).status_code == 200
    idp.claims = idp.claims | {"preferred_username": "someone-else", "roles": ["hotline-analyst"]}
    r = sign_in(client, idp)
    assert r.status_code == 200 and "url=/queue" in r.text
    assert sso_users(service) == ["ada-2"]  # the subject decides, not the name
    user = service.users.by_name("ada-2")
    assert user is not None and user.role == "analyst"
    (change,) = audit(service, "user-role")
    assert change.detail["from"] == "reviewer" and change.detail["to"] == "analyst"
    # another subject with the same name is another user
    idp.claims = idp.claims | {"sub": "subject-2", "preferred_username": "ada"}
    assert sign_in(client, idp).status_code == 200
    assert sso_users(service) == ["ada-2", "ada-3"]


def test_an_unmapped_role_is_refused_and_audited(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    idp.claims = idp.claims | {"roles": ["visitor"]}
    r = sign_in(client, idp)
    assert r.status_code == 403 and "no Verisight role" in r.text
    assert SESSION_COOKIE not in r.cookies
    assert sso_users(service) == []  # nobody provisioned
    (refused,) = audit(service, "login-refused")
    assert refused.actor is None and refused.detail["subject"] == "subject-1"
    idp.claims = {k: v for k, v in idp.claims.items() if k != "roles"}
    assert sign_in(client, idp).status_code == 403


def test_a_disabled_user_stays_out(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    assert sign_in(client, idp).status_code == 200
    assert client.get("/dashboard", follow_redirects=False).status_code == 200
    service.accounts.set_active("ada-2", False)
    # the open session ended, and signing in again is refused
    assert client.get("/dashboard", follow_redirects=False).status_code in (303, 401)
    r = sign_in(client, idp)
    assert r.status_code == 403 and "disabled" in r.text
    (refused,) = audit(service, "login-refused")
    assert refused.actor == "ada-2" and "disabled" in refused.detail["reason"]
    # revoking sessions works as for password users
    service.accounts.set_active("ada-2", True)
    assert sign_in(client, idp).status_code == 200
    assert service.accounts.revoke_sessions("ada-2") == 1
    assert client.get("/dashboard", follow_redirects=False).status_code in (303, 401)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("bad-signature", "bad_signature"),
        ("hmac-with-the-client-secret", "algorithm"),
        ("wrong-audience", "aud"),
        ("expired", "expired"),
        ("stale", "too long ago"),
        ("future", "future"),
        ("wrong-nonce", "nonce"),
        ("wrong-issuer", "iss"),
        ("several-audiences", "azp"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused_and_audited(
    client: TestClient, idp: TestProvider, service: AssessmentService, change: str, reason: str
) -> None:
    now = int(time.time())
    if change == "bad-signature":
        idp.sign_with = new_key(idp.key.kid or "")  # same kid, another key
    elif change == "hmac-with-the-client-secret":  # algorithm confusion: refused outright
        idp.sign_with = OctKey.import_key(CLIENT_SECRET.encode(), {"kid": idp.key.kid or ""})
    else:
        idp.tweak = {
            "wrong-audience": {"aud": "another-client"},
            "expired": {"exp": now - 600, "iat": now - 900},
            "stale": {"iat": now - 3600, "exp": now + 300},
            "future": {"iat": now + 3600, "exp": now + 7200},
            "wrong-nonce": {"nonce": "not-the-nonce"},
            "wrong-issuer": {"iss": "http://127.0.0.1:1"},
            "several-audiences": {"aud": ["verisight-tests", "another-client"]},
        }[change]
    r = sign_in(client, idp)
    assert r.status_code == 403
    assert SESSION_COOKIE not in r.cookies
    assert sso_users(service) == []
    (failed,) = audit(service, "login-failed")
    assert failed.detail["via"] == "oidc" and reason in failed.detail["reason"], failed.detail


def test_a_state_that_does_not_match_is_refused_before_any_exchange(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    r = sign_in(client, idp, state="forged")
    assert r.status_code == 400 and "expired or did not start here" in r.text
    assert idp.token_requests == 0 and sso_users(service) == []
    # without the flow cookie (another browser), the real state is refused too
    client.cookies.delete(FLOW_COOKIE)
    start = client.get("/login/oidc", follow_redirects=False)
    back = httpx.get(start.headers["location"], follow_redirects=False)
    client.cookies.delete(FLOW_COOKIE, path="/login/oidc")
    url = urlsplit(back.headers["location"])
    assert client.get(f"{url.path}?{url.query}").status_code == 400
    assert idp.token_requests == 0
    # a state is single use
    r = sign_in(client, idp)
    assert r.status_code == 200
    assert audit(service, "login-failed") == []


def test_a_rotated_key_is_fetched_once_on_an_unknown_kid(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    assert sign_in(client, idp).status_code == 200
    assert sign_in(client, idp).status_code == 200
    assert idp.jwks_fetches == 1  # cached
    idp.rotate()
    assert sign_in(client, idp).status_code == 200
    assert idp.jwks_fetches == 2
    # a kid the provider never published is refused after one more look
    idp.sign_with = new_key("nobody-knows")
    r = sign_in(client, idp)
    assert r.status_code == 403 and idp.jwks_fetches == 3
    (failed,) = audit(service, "login-failed")
    assert "does not publish" in failed.detail["reason"]


def test_provider_urls_must_be_https_except_on_loopback_when_allowed() -> None:
    role_map = (("x", "analyst"),)
    with pytest.raises(UsageError, match="https"):
        OidcConfig("http://127.0.0.1:9/", "id", role_map=role_map)
    with pytest.raises(UsageError, match="https"):
        OidcConfig("http://idp.example/", "id", role_map=role_map, allow_http_localhost=True)
    with pytest.raises(UsageError, match="role-map"):
        OidcConfig("https://idp.example/", "id")
    assert OidcConfig("https://idp.example/", "id", role_map=role_map).name == "idp.example"


def test_serve_refuses_a_bad_role_map(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli_app,
        ["serve", "--case", str(tmp_path / "case"), "--oidc-issuer", "https://idp.example",
         "--oidc-client-id", "id", "--oidc-role-map", "staff=superuser"],
    )  # fmt: skip
    assert r.exit_code == 2 and "CLAIMVALUE=ROLE" in r.output


def test_serve_refuses_an_unreadable_client_secret(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli_app,
        ["serve", "--case", str(tmp_path / "case"), "--oidc-issuer", "https://idp.example",
         "--oidc-client-id", "id", "--oidc-role-map", "staff=analyst",
         "--oidc-client-secret-file", str(tmp_path / "missing")],
    )  # fmt: skip
    assert r.exit_code == 2 and "cannot read the client secret" in r.output


def test_sign_ins_under_way_are_single_use_bounded_and_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flows = Flows()
    monkeypatch.setattr(Flows, "MAX", 3)
    started = [flows.start() for _ in range(5)]
    assert flows.finish(started[0].state) is None  # the oldest went when full
    assert flows.finish(started[4].state) == started[4]
    assert flows.finish(started[4].state) is None  # single use
    monkeypatch.setattr(Flows, "TTL", -1.0)
    assert flows.finish(started[3].state) is None  # too old


def test_a_disabled_local_user_stays_out_even_through_the_provider(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    # linked by an operator: signing in logs in as the local user, until they are disabled
    case = service.case
    args = ["--case", str(case.directory), "--database-url", case.database_url]
    linked = CliRunner().invoke(
        cli_app, ["user", "link-sso", "ada", "--issuer", idp.url, "--subject", "subject-1", *args]
    )
    assert linked.exit_code == 0, linked.output
    again = CliRunner().invoke(
        cli_app, ["user", "link-sso", "ada", "--issuer", idp.url, "--subject", "subject-1", *args]
    )
    assert again.exit_code == 2 and "linked to 'ada' already" in again.output
    (link,) = audit(service, "user-link")
    assert link.detail == {"user": "ada", "issuer": idp.url, "subject": "subject-1"}
    assert sign_in(client, idp).status_code == 200
    assert sso_users(service) == []  # no new user: the link decides
    (login,) = audit(service, "login")
    assert login.actor == "ada" and login.detail["via"] == "oidc"
    service.accounts.set_active("ada", False)
    r = sign_in(client, idp)
    assert r.status_code == 403 and "disabled" in r.text
    # a first sign-in under a disabled user's name is refused too, not provisioned as "ada-2"
    idp.claims = idp.claims | {"sub": "subject-9"}
    r = sign_in(client, idp)
    assert r.status_code == 403 and "is disabled" in r.text
    assert sso_users(service) == []
    refused = audit(service, "login-refused")
    assert [e.detail["subject"] for e in refused] == ["subject-9", "subject-1"]
    assert refused[0].detail["reason"] == "the account 'ada' is disabled"


def test_a_provider_error_is_audited_and_an_unreachable_provider_is_explained(
    client: TestClient, idp: TestProvider, service: AssessmentService
) -> None:
    start = client.get("/login/oidc", follow_redirects=False)
    state = re.search(r"[?&]state=([^&]+)", start.headers["location"])
    assert state
    r = client.get(f"/login/oidc/callback?state={state.group(1)}&error=access_denied")
    assert r.status_code == 403 and idp.token_requests == 0
    (failed,) = audit(service, "login-failed")
    assert "access_denied" in failed.detail["reason"]
    gone = TestProvider()
    with gone.serve():
        config = gone.config()
    with TestClient(create_app(service, sso=config), base_url="http://127.0.0.1") as other:
        r = other.get("/login/oidc", follow_redirects=False)
        assert r.status_code == 502 and "cannot be reached" in r.text
