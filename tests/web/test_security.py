"""Authentication, sessions, CSRF, rate limiting and security headers, over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Browser
from verisight.assessment import AssessmentService
from verisight.web import create_app

PAGES = ["/", "/queue", "/next", "/grid", "/settings", "/admin", "/audit", "/export.json"]


def media_routes(sha: str) -> list[str]:
    return [f"/item/{sha}", f"/history/{sha}", f"/media/{sha}/shielded.jpg",
            f"/media/{sha}/revealed.jpg"]  # fmt: skip


def test_every_route_needs_a_session(browser: Browser, shas: list[str]) -> None:
    c = browser.client
    for url in PAGES + media_routes(shas[0]):
        page = c.get(url, headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login", url
        api = c.get(url, follow_redirects=False)
        assert api.status_code == 401, url
        assert api.headers["content-type"].startswith("application/problem+json")
    for url in ["/logout", "/break", "/settings", f"/item/{shas[0]}/assess",
                f"/media/{shas[0]}/reveal", "/grid", "/admin/qa"]:  # fmt: skip
        assert c.post(url, data={}).status_code == 401, url


def test_login_sets_a_strict_httponly_cookie_and_stores_argon2(
    browser: Browser, service: AssessmentService
) -> None:
    page = browser.client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    r = browser.client.post(
        "/login",
        data={"name": "analyst", "password": PASSWORD, "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("verisight_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    user = service.users.by_name("analyst")
    assert user and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_cookie_is_secure_behind_tls(service: AssessmentService) -> None:
    with TestClient(create_app(service, secure_cookies=True), base_url="https://127.0.0.1") as c:
        page = c.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        form = {"name": "analyst", "password": PASSWORD, "login_token": token.group(1)}
        r = c.post("/login", data=form, follow_redirects=False)
        assert "Secure" in r.headers["set-cookie"]


def test_bad_password_and_rate_limit(browser: Browser) -> None:
    assert browser.login("analyst", "wrong password!") == 401
    assert browser.login("nobody", "wrong password!") == 401
    assert browser.login("analyst", "wrong again!!") == 401
    # the limiter allows 3 failures per minute for this address: the right password waits too
    assert browser.login("analyst") == 429


def test_login_form_needs_its_token(browser: Browser) -> None:
    r = browser.client.post(
        "/login", data={"name": "analyst", "password": PASSWORD, "login_token": "forged"}
    )
    assert r.status_code == 403


def test_state_changes_need_the_csrf_token(browser: Browser, shas: list[str]) -> None:
    assert browser.login("analyst") == 303
    sha = shas[0]
    form = {"version": "0", "outcome": "not-illegal", "origin": "unknown",
            "age_band": "unknown", "sex": "unidentified"}  # fmt: skip
    r = browser.post(f"/item/{sha}/assess", form, csrf=False)
    assert r.status_code == 403  # type: ignore[attr-defined]
    r = browser.post(f"/item/{sha}/assess", form | {"csrf": "x" * 43}, csrf=False)
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert browser.client.post(f"/media/{sha}/reveal").status_code == 403
    assert browser.post("/logout", csrf=False).status_code == 403  # type: ignore[attr-defined]
    r = browser.post(f"/item/{sha}/assess", form)
    assert r.status_code == 303  # type: ignore[attr-defined]
    ok = browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    assert ok.status_code == 204


def test_security_headers_and_no_inline_script(browser: Browser, shas: list[str]) -> None:
    assert browser.login("reviewer") == 303
    for url in ["/queue", f"/item/{shas[0]}", "/grid", "/settings", f"/history/{shas[0]}",
                f"/media/{shas[0]}/shielded.jpg", "/login"]:  # fmt: skip
        r = browser.client.get(url)
        assert r.status_code == 200, url
        h = r.headers
        csp = h["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert h["x-frame-options"] == "DENY" and h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store"
        if h["content-type"].startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\ssrc=)", r.text), url
            assert not re.search(r"\son[a-z]+\s*=", r.text), url
            assert not re.search(r"\sstyle\s*=", r.text), url
            assert "https://" not in r.text.split("</head>")[0]  # no CDN


def test_static_assets_are_local(browser: Browser) -> None:
    for name in ("htmx.min.js", "verisight.js", "verisight.css"):
        r = browser.client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 500
    assert (Path(__file__).parents[2] / "verisight/web/static/htmx.LICENSE.txt").is_file()


def test_logout_ends_the_session(browser: Browser) -> None:
    assert browser.login("analyst") == 303
    assert browser.post("/logout").status_code == 303  # type: ignore[attr-defined]
    assert browser.client.get("/queue", follow_redirects=False).status_code == 401


@pytest.mark.parametrize(("name", "role", "password"), [
    ("x", "boss", "long enough pw"), ("x", "analyst", "short"), (" x", "analyst", "long enough pw"),
])  # fmt: skip
def test_user_add_validates(
    service: AssessmentService, name: str, role: str, password: str
) -> None:
    from verisight.errors import UsageError

    with pytest.raises(UsageError):
        service.accounts.add_user(name, role, password)
