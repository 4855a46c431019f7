"""The case dashboard over HTTP (SQLite and PostgreSQL): who lands on it, what each role sees,
the period's figures (audited as a report), triage progress and exposure per analyst."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.web.conftest import DECISION, Browser
from verisight.assessment import AssessmentService


def status(r: object) -> int:
    return int(r.status_code)  # type: ignore[attr-defined]


def body(r: object) -> str:
    return str(r.text)  # type: ignore[attr-defined]


def landing(browser: Browser, name: str) -> str:
    page = browser.client.get("/login")

    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    r = browser.client.post(
        "/login",
        data={"name": name, "password": "correct horse battery", "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    home = browser.client.get("/", follow_redirects=False)
    return str(home.headers["location"])


def test_reviewers_and_admins_land_on_the_dashboard(
    app_factory: Callable[[], Browser],
) -> None:
    assert landing(app_factory(), "reviewer") == "/dashboard"
    assert landing(app_factory(), "admin") == "/dashboard"
    assert landing(app_factory(), "analyst") == "/queue"
    anonymous = app_factory()
    r = anonymous.client.get("/dashboard", headers={"accept": "text/html"}, follow_redirects=False)
    assert status(r) in (303, 401)


def test_what_each_role_sees(
    app_factory: Callable[[], Browser], service: AssessmentService, shas: list[str]
) -> None:
    service.users.set_org_setting("qa", {"sample_rate": 0.0})
    analyst, analyst2 = app_factory(), app_factory()
    assert analyst.login("analyst") == 303 and analyst2.login("analyst2") == 303
    # exposure: analyst reveals two media, analyst2 one
    for sha in shas[:2]:
        assert status(analyst.post(f"/media/{sha}/reveal")) == 204
    assert status(analyst2.post(f"/media/{shas[0]}/reveal")) == 204
    assert status(analyst.post(f"/item/{shas[0]}/assess", DECISION | {"version": "0"})) == 303

    reviewer = app_factory()
    assert reviewer.login("reviewer") == 303
    page = body(reviewer.get("/dashboard"))
    assert 'id="figures"' in page and 'id="scans"' in page and 'id="exposure"' in page
    assert 'data-analyst="analyst"' in page and 'data-analyst="analyst2"' in page
    row = page.split('data-analyst="analyst"')[1].split("</tr>")[0]
    assert "<strong>2 /" in row
    assert "<td>4</td>" in page.split('id="scans"')[1]  # seen, clustered
    assert 'id="decisions-left">3<' in page and "1 decided" in page
    assert 'data-tier="no-ai-evidence"' in page
    assert 'id="figure-distinct_media"' in page

    mine = body(analyst.get("/dashboard"))
    assert 'id="exposure"' in mine and 'data-analyst="analyst"' in mine
    assert 'data-analyst="analyst2"' not in mine  # analysts see only their own
    assert 'id="figures"' not in mine and 'id="scans"' not in mine
    assert 'id="progress"' in mine

    auditor = app_factory()
    assert auditor.login("auditor") == 303
    audited = body(auditor.get("/dashboard"))
    assert 'id="figures"' in audited and 'id="exposure"' not in audited


def test_a_period_is_reported_and_audited(browser: Browser, service: AssessmentService) -> None:
    assert browser.login("admin") == 303
    r = browser.get("/dashboard?from=2020-01-01&to=2020-01-31")
    assert status(r) == 200 and "2020-01-01" in body(r)
    assert 'id="figure-distinct_media"' in body(r)
    entries = [e for e in service.audit.entries() if e.action == "report"]
    assert entries and entries[0].actor == "admin"
    assert entries[0].detail["format"] == "dashboard"
    assert entries[0].detail["from"] == "2020-01-01"
    bad = browser.get("/dashboard?from=yesterday")
    assert status(bad) == 400
