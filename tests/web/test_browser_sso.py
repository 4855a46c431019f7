"""Browser tests (Debian's Chromium via Playwright): signing in through an OpenID Connect
provider stood up on 127.0.0.1, and the dashboard an analyst sees (their own exposure only).
Skipped without Chromium unless ``CI`` is set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.idp import TestProvider
from tests.web.test_browser import (
    CHROMIUM_ARGS,
    browser_ctx,
    chromium_path,
    database_url,
    login,
)
from verisight.assessment import AssessmentService
from verisight.web import create_app
from verisight.web.server import background

__all__ = ["browser_ctx", "chromium_path", "database_url"]


@pytest.fixture
def sso_ctx(service: AssessmentService) -> Iterator[tuple[Any, str, TestProvider]]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with (
        TestProvider().serve() as idp,
        background(create_app(service, sso=idp.config())) as url,
        sync_playwright() as pw,
    ):
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium, url, idp
        finally:
            chromium.close()


def test_sign_in_with_the_identity_provider(
    sso_ctx: tuple[Any, str, TestProvider], service: AssessmentService
) -> None:
    from playwright.sync_api import expect

    chromium, url, idp = sso_ctx
    idp.claims = {"sub": "subject-7", "preferred_username": "grace", "roles": ["hotline-reviewer"]}
    page = chromium.new_context().new_page()
    page.goto(f"{url}/login")
    button = page.locator("#sso-login")
    expect(button).to_have_text("Sign in with Test IdP")
    button.click()
    page.wait_for_url(f"{url}/dashboard")  # provider, callback, then the reviewer's landing
    expect(page.locator("body")).to_contain_text("grace")
    expect(page.locator("#progress")).to_be_visible()
    user = service.users.by_name("grace")
    assert user is not None and user.role == "reviewer"
    # an unmapped role gets the login page with the refusal, and no session
    idp.claims = {"sub": "subject-8", "preferred_username": "guest", "roles": ["visitor"]}
    other = chromium.new_context().new_page()
    other.goto(f"{url}/login")
    other.click("#sso-login")
    expect(other.locator("p.error")).to_contain_text("no Verisight role")
    other.goto(f"{url}/dashboard")
    assert other.url.endswith("/login")


def test_an_analyst_sees_only_their_own_exposure_on_the_dashboard(
    browser_ctx: tuple[Any, str], service: AssessmentService, shas: list[str]
) -> None:
    from playwright.sync_api import expect

    analyst, analyst2 = service.users.by_name("analyst"), service.users.by_name("analyst2")
    assert analyst is not None and analyst2 is not None
    for sha in shas[:2]:
        service.reveal(analyst, sha)
    service.reveal(analyst2, shas[0])
    chromium, url = browser_ctx
    page = chromium.new_context().new_page()
    login(page, url, "analyst")
    page.goto(f"{url}/dashboard")
    rows = page.locator("#exposure tr.exposure-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-analyst", "analyst")
    expect(rows.first.locator("strong")).to_contain_text("2 /")
    expect(page.locator("#exposure h2")).to_contain_text("(yours)")
    expect(page.locator("#figures")).to_have_count(0)
    # a welfare lead sees every analyst's
    lead = chromium.new_context().new_page()
    login(lead, url, "reviewer")
    expect(lead.locator("#exposure tr[data-analyst='analyst'] strong")).to_contain_text("2 /")
    expect(lead.locator("#exposure tr[data-analyst='analyst2'] strong")).to_contain_text("1 /")
