"""The administration pages over HTTP, on SQLite and PostgreSQL: ``/admin/users``,
``/admin/keys``, ``/audit`` (filters, pages) and ``/reports``, and the forced password change.

For every new route: no session → the login page (pages) or 401; the wrong role → 403; a POST
without the CSRF token or with a wrong one → 403 and no change; success → the audit entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.web.conftest import PASSWORD, Browser
from verisight.assessment import AssessmentService

Factory = Callable[[], Browser]

PAGES = ["/admin/users", "/admin/keys", "/audit", "/reports", "/reports/report.json"]
#: POST routes: (url, form); every one changes something and is audited.
POSTS: list[tuple[str, dict[str, str], str]] = [
    ("/admin/users", {"name": "newcomer", "role": "analyst"}, "user-add"),
    ("/admin/users/analyst2/role", {"role": "reviewer"}, "user-role"),
    ("/admin/users/analyst2/disable", {}, "user-disable"),
    ("/admin/users/analyst2/enable", {}, "user-enable"),
    ("/admin/users/analyst2/reset-password", {}, "user-password"),
    ("/admin/users/analyst2/revoke-sessions", {}, "user-sessions-revoked"),
    ("/admin/keys", {"name": "partner", "scope_lookup": "1"}, "apikey-create"),
]


def actions(service: AssessmentService, action: str) -> list[Any]:
    """Entries of ``action`` by someone logged in (the fixture adds its users as the shell)."""
    return [e for e in service.audit.entries() if e.action == action and e.actor is not None]


def logged_in(app_factory: Factory, name: str) -> Browser:
    b = app_factory()
    assert b.login(name) == 303
    return b


@pytest.mark.parametrize("url", [*PAGES, "/password"])
def test_pages_need_a_session(browser: Browser, url: str) -> None:
    r = browser.client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert browser.client.get(url, follow_redirects=False).status_code == 401


@pytest.mark.parametrize(("url", "form", "_action"), [*POSTS, ("/password", {}, ""),
                         ("/admin/keys/partner/revoke", {}, "")])  # fmt: skip
def test_posts_need_a_session(
    browser: Browser, url: str, form: dict[str, str], _action: str
) -> None:
    assert browser.post(url, form, csrf=False).status_code == 401


@pytest.mark.parametrize(
    ("role", "url"),
    [("analyst", "/admin/users"), ("reviewer", "/admin/keys"), ("auditor", "/admin/users"),
     ("analyst", "/audit"), ("reviewer", "/audit"), ("analyst", "/reports"),
     ("analyst", "/reports/report.pdf")],
)  # fmt: skip
def test_wrong_role_gets_403(app_factory: Factory, service: AssessmentService, role: str,
                             url: str) -> None:  # fmt: skip
    b = logged_in(app_factory, role)
    assert b.get(url).status_code == 403
    assert actions(service, "denied")[0].actor == role


@pytest.mark.parametrize(("url", "form", "_action"), POSTS)
def test_wrong_role_cannot_post(app_factory: Factory, service: AssessmentService, url: str,
                                form: dict[str, str], _action: str) -> None:  # fmt: skip
    b = logged_in(app_factory, "reviewer")
    assert b.post(url, form).status_code == 403
    assert not actions(service, _action)


@pytest.mark.parametrize(("url", "form", "action"), POSTS)
def test_csrf_is_required(app_factory: Factory, service: AssessmentService, url: str,
                          form: dict[str, str], action: str) -> None:  # fmt: skip
    b = logged_in(app_factory, "admin")
    assert b.post(url, form, csrf=False).status_code == 403
    assert b.post(url, form | {"csrf": "wrong"}, csrf=False).status_code == 403
    assert not actions(service, action)
    r = b.post(url, form)
    assert r.status_code in (200, 303), r.text
    (entry,) = actions(service, action)
    assert entry.actor == "admin"


def test_users_page_flow(app_factory: Factory, service: AssessmentService) -> None:
    admin = logged_in(app_factory, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "analyst2" in page.text
    r = admin.post("/admin/users", {"name": "newcomer", "role": "auditor"})
    m = re.search(r'id="temporary-password">([^<]+)<', r.text)
    assert m, r.text
    temporary = m.group(1)
    assert temporary not in admin.get("/admin/users").text
    assert temporary not in json.dumps([e.detail for e in service.audit.entries()])
    user = service.users.by_name("newcomer")
    assert user is not None and user.role == "auditor" and user.must_change_password
    # role change and disabling end the user's sessions
    other = logged_in(app_factory, "analyst2")
    assert admin.post("/admin/users/analyst2/role", {"role": "reviewer"}).status_code == 303
    assert other.client.get("/dashboard", follow_redirects=False).status_code == 401
    assert actions(service, "user-role")[0].detail["to"] == "reviewer"
    assert admin.post("/admin/users/analyst2/disable").status_code == 303
    assert app_factory().login("analyst2") == 401
    assert admin.post("/admin/users/analyst2/enable").status_code == 303
    assert app_factory().login("analyst2") == 303
    # bad input is refused with the reason, and an admin cannot lock herself out
    assert admin.post("/admin/users", {"name": "x", "role": "boss"}).status_code == 400
    r = admin.post("/admin/users/admin/disable")
    assert r.status_code == 400 and "own account" in r.text
    assert admin.post("/admin/users/nobody/revoke-sessions").status_code == 400


def test_forced_password_change(app_factory: Factory, service: AssessmentService) -> None:
    admin = logged_in(app_factory, "admin")
    r = admin.post("/admin/users/analyst2/reset-password")
    m = re.search(r'id="temporary-password">([^<]+)<', r.text)
    assert m
    temporary = m.group(1)
    assert actions(service, "user-password")[0].detail["must_change"] is True
    user = app_factory()
    assert user.login("analyst2", PASSWORD) == 401  # the old password is gone
    assert user.login("analyst2", temporary) == 303
    # every page but the form redirects there; any other request is refused on the server
    for url in ("/", "/queue", "/dashboard", "/settings", f"/item/{'0' * 64}"):
        r = user.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/password", url
    assert user.client.get("/queue", follow_redirects=False).status_code == 403
    assert user.post("/settings", {}).status_code == 403
    assert user.post("/break").status_code == 403
    # the change: wrong current password, mismatch, too short, then right
    bad = {
        "current": "wrong password",
        "new": "a new good password",
        "confirm": "a new good password",
    }
    assert user.post("/password", bad).status_code == 400
    mismatch = {"current": temporary, "new": "a new good password", "confirm": "another one!!"}
    assert user.post("/password", mismatch).status_code == 400
    short = {"current": temporary, "new": "short", "confirm": "short"}
    assert user.post("/password", short).status_code == 400
    good = {"current": temporary, "new": "a new good password", "confirm": "a new good password"}
    r = user.post("/password", good)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    assert user.client.get("/queue", follow_redirects=False).status_code == 200
    assert actions(service, "password-change")[0].actor == "analyst2"
    fresh = service.users.by_name("analyst2")
    assert fresh is not None and not fresh.must_change_password
    assert app_factory().login("analyst2", "a new good password") == 303


def test_password_change_is_rate_limited(app_factory: Factory) -> None:
    user = logged_in(app_factory, "analyst")
    wrong = {
        "current": "not my password",
        "new": "a new good password",
        "confirm": "a new good password",
    }
    for _ in range(3):  # the fixture's limiter allows 3 failures a minute
        assert user.post("/password", wrong).status_code == 400
    assert user.post("/password", wrong).status_code == 429
    right = wrong | {"current": PASSWORD}
    assert user.post("/password", right).status_code == 429  # blocked for a while


def test_cli_reset_password_forces_a_change(
    service: AssessmentService, case_dir_url: tuple[Any, str]
) -> None:
    from typer.testing import CliRunner

    from verisight.cli import app

    directory, url = case_dir_url
    res = CliRunner().invoke(app, ["user", "reset-password", "analyst", "--case", str(directory),
                                   "--database-url", url, "--password-stdin"],
                             input="temporary password 1\n")  # fmt: skip
    assert res.exit_code == 0, res.output
    user = service.users.by_name("analyst")
    assert user is not None and user.must_change_password


def test_api_keys_flow(app_factory: Factory, service: AssessmentService) -> None:
    admin = logged_in(app_factory, "admin")
    r = admin.post("/admin/keys", {"name": "partner", "scope_lookup": "1", "scope_hash": "1"})
    m = re.search(r'id="key-text">(vs_[^<]+)<', r.text)
    assert m, r.text
    key = m.group(1)
    assert service.case.api_keys.authenticate(key) is not None
    listing = admin.get("/admin/keys").text
    assert key not in listing and key[:10] in listing and "lookup, hash" in listing
    assert admin.post("/admin/keys", {"name": "nothing"}).status_code == 400
    assert admin.post("/admin/keys", {"name": "partner", "scope_lookup": "1"}).status_code == 400
    assert admin.post("/admin/keys/partner/revoke", {}, csrf=False).status_code == 403
    assert logged_in(app_factory, "auditor").post("/admin/keys/partner/revoke").status_code == 403
    assert admin.post("/admin/keys/partner/revoke").status_code == 303
    assert service.case.api_keys.authenticate(key) is None
    assert actions(service, "apikey-revoke")[0].actor == "admin"
    assert "revoked" in admin.get("/admin/keys").text


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_audit_filters_and_pages(app_factory: Factory, service: AssessmentService,
                                 role: str) -> None:  # fmt: skip
    for i in range(60):
        service.audit.append("someone", "note-test", detail={"n": i, "word": f"w{i}"})
    b = logged_in(app_factory, role)
    page = b.get("/audit?actor=someone").text
    assert "Chain verified" in page and page.count("note-test") == 50
    assert 'rel="next"' in page
    page2 = b.get("/audit?actor=someone&page=2").text
    assert page2.count("note-test") == 10 and 'rel="next"' not in page2 and 'rel="prev"' in page2
    only = b.get("/audit?q=W17").text
    assert only.count("note-test") == 1
    assert b.get("/audit?action=login").text.count('class="action">login<') >= 1
    assert "note-test" not in b.get("/audit?action=login").text
    assert "No entry matches" in b.get("/audit?from=2000-01-01&to=2000-01-02").text
    assert "note-test" in b.get("/audit?from=2000-01-01").text
    assert b.get("/audit?from=yesterday").status_code == 400
    assert b.get("/audit?q=%25").status_code == 200
    assert "No entry matches" in b.get("/audit?q=%25_%25").text


@pytest.mark.parametrize("role", ["reviewer", "admin", "auditor"])
def test_reports(app_factory: Factory, service: AssessmentService, role: str) -> None:
    b = logged_in(app_factory, role)
    assert "report-figures" not in b.get("/reports").text
    page = b.get("/reports?from=2000-01-01&to=2100-12-31&generate=1")
    assert page.status_code == 200 and "Distinct media" in page.text
    assert "<img" not in page.text
    j = b.get("/reports/report.json?from=2000-01-01&to=")
    assert j.headers["content-type"].startswith("application/json")
    assert json.loads(j.text)["figures"]["distinct_media"]["value"] == 4
    pdf = b.get("/reports/report.pdf")
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    html = b.get("/reports/report.html")
    assert "Verisight report" in html.text and "attachment" in html.headers["content-disposition"]
    assert b.get("/reports/report.exe").status_code == 404
    assert b.get("/reports?from=2020-02-01&to=2020-01-01").status_code == 400
    formats = [e.detail["format"] for e in actions(service, "report")
               if e.actor == role and e.detail["format"] != "dashboard"]  # fmt: skip
    assert sorted(formats) == ["html", "json", "pdf", "web"]


def test_cli_changes_a_role(service: AssessmentService, case_dir_url: tuple[Any, str]) -> None:
    from typer.testing import CliRunner

    from verisight.cli import app

    directory, url = case_dir_url
    args = ["user", "role", "analyst2", "--case", str(directory), "--database-url", url]
    res = CliRunner().invoke(app, [*args, "--role", "auditor"])
    assert res.exit_code == 0, res.output
    user = service.users.by_name("analyst2")
    assert user is not None and user.role == "auditor"
    assert CliRunner().invoke(app, [*args, "--role", "boss"]).exit_code == 2
