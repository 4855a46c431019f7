"""Browser tests of the administration pages: headless Chromium (Playwright) against a real
server, one flow per page: users (with the forced password change), API keys, the audit log
and reports. Skipped when Chromium is absent, unless ``CI`` is set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import browser_ctx, chromium_path, database_url, login
from verisight.assessment import AssessmentService

__all__ = ["browser_ctx", "chromium_path", "database_url"]  # fixtures shared with test_browser


@pytest.fixture
def chromium(browser_ctx: tuple[Any, str]) -> Any:
    return browser_ctx


def test_users_page_and_forced_password_change(
    chromium: tuple[Any, str], service: AssessmentService
) -> None:
    from playwright.sync_api import expect

    browser, url = chromium
    admin = browser.new_context().new_page()
    login(admin, url, "admin")
    admin.click("nav a[href='/admin/users']")
    form = admin.locator("#add-user")
    form.locator("input[name=name]").fill("newcomer")
    form.locator("select[name=role]").select_option("auditor")
    with admin.expect_navigation():
        form.locator("button").click()
    temporary = admin.locator("#temporary-password").inner_text()
    row = admin.locator("tr[data-user='newcomer']")
    expect(row.locator(".state")).to_contain_text("must change password")

    newcomer = browser.new_context().new_page()
    login(newcomer, url, "newcomer", temporary)
    assert newcomer.url.endswith("/password")
    expect(newcomer.locator("#must-change")).to_be_visible()
    assert newcomer.locator("nav").count() == 0
    newcomer.goto(f"{url}/audit")  # anything else sends her back
    assert newcomer.url.endswith("/password")
    newcomer.fill("input[name=current]", temporary)
    newcomer.fill("input[name=new]", "my own long password")
    newcomer.fill("input[name=confirm]", "my own long password")
    with newcomer.expect_navigation():
        newcomer.click("#change-password button")
    newcomer.wait_for_url("**/audit")
    expect(newcomer.locator("#verify")).to_contain_text("Chain verified")

    with admin.expect_navigation():
        admin.locator("tr[data-user='newcomer'] form[action$='/disable'] button").click()
    expect(admin.locator("tr[data-user='newcomer'] .state")).to_have_text("disabled")
    user = service.users.by_name("newcomer")
    assert user is not None and not user.active and not user.must_change_password


def test_api_keys_page(chromium: tuple[Any, str], service: AssessmentService) -> None:
    from playwright.sync_api import expect

    browser, url = chromium
    page = browser.new_context().new_page()
    login(page, url, "admin")
    page.click("nav a[href='/admin/keys']")
    page.fill("#create-key input[name=name]", "partner")
    page.check("#create-key input[name=scope_hash]")
    with page.expect_navigation():
        page.click("#create-key button")
    key = page.locator("#key-text").inner_text()
    assert key.startswith("vs_") and service.case.api_keys.authenticate(key) is not None
    page.goto(f"{url}/admin/keys")  # shown once: never again
    assert key not in page.content()
    row = page.locator("tr[data-key='partner']")
    expect(row).to_contain_text("lookup, hash")
    with page.expect_navigation():
        row.locator("button").click()
    expect(page.locator("tr[data-key='partner'] .state")).to_have_text("revoked")
    assert service.case.api_keys.authenticate(key) is None


def test_audit_page(chromium: tuple[Any, str], service: AssessmentService) -> None:
    from playwright.sync_api import expect

    browser, url = chromium
    for i in range(55):
        service.audit.append("someone", "note-test", detail={"n": i})
    page = browser.new_context().new_page()
    login(page, url, "auditor")
    assert page.url.endswith("/audit")
    page.fill("#audit-filters input[name=actor]", "someone")
    with page.expect_navigation():
        page.click("#audit-filters button")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(50)
    with page.expect_navigation():
        page.click("#pages a[rel=next]")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(5)
    page.fill("#audit-filters input[name=q]", '"n":7}')
    with page.expect_navigation():
        page.click("#audit-filters button")
    expect(page.locator("#audit-entries tbody tr")).to_have_count(1)
    assert page.locator("form[method=post][action^='/admin']").count() == 0  # read-only


def test_reports_page(chromium: tuple[Any, str], service: AssessmentService) -> None:
    from playwright.sync_api import expect

    browser, url = chromium
    page = browser.new_context(accept_downloads=True).new_page()
    login(page, url, "reviewer")
    page.click("nav a[href='/reports']")
    page.fill("#report-period input[name=from]", "2000-01-01")
    with page.expect_navigation():
        page.click("#report-period button")
    expect(page.locator("#report-figures")).to_contain_text("Distinct media")
    with page.expect_download() as dl:
        page.click("#downloads a:text('JSON')")
    figures = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))["figures"]
    assert figures["distinct_media"]["value"] == 4
    with page.expect_download() as dl:
        page.click("#downloads a:text('PDF')")
    assert Path(dl.value.path()).read_bytes()[:4] == b"%PDF"
    formats = {e.detail["format"] for e in service.audit.entries() if e.action == "report"}
    assert {"web", "json", "pdf"} <= formats
