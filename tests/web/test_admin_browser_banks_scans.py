"""The administration pages in headless Chromium (Playwright, Debian's ``chromium``): upload a
bank and see it listed, start a scan of a generated folder and see it finish, download an
export. Skipped without Chromium unless ``CI`` is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_images
from tests.web.test_browser import CHROMIUM_ARGS, chromium_path, login
from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.web import create_app
from verisight.web.server import background


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """Browser tests run on SQLite only (the HTTP tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'case.db'}"


@pytest.fixture
def scan_root(tmp_path: Path) -> Path:
    root = tmp_path / "incoming"
    write_images(root / "batch", 3, start=60)
    return root


@pytest.fixture
def admin_page(service: AssessmentService, scan_root: Path) -> Iterator[tuple[Any, str, list[str]]]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    app = create_app(service, scan_roots=[scan_root], scan_workers=1)
    with background(app) as url, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            context = chromium.new_context(accept_downloads=True)
            page = context.new_page()
            csp: list[str] = []
            page.on(
                "console", lambda m: csp.append(m.text) if "Content Security" in m.text else None
            )
            login(page, url, "admin")
            yield page, url, csp
            context.close()
        finally:
            chromium.close()
            app.state.admin.wait(60)


def test_upload_a_bank_and_see_it_listed(
    admin_page: tuple[Any, str, list[str]], case: Case, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, url, csp = admin_page
    media = sorted(case.media(), key=lambda m: m.sha256)
    hashes = tmp_path / "neutral-list.csv"
    hashes.write_text("md5,label\n" + "".join(f"{m.md5},entry\n" for m in media[:3]))
    page.goto(f"{url}/admin/banks")
    page.set_input_files("input[name=file]", str(hashes))
    page.fill("input[name=name]", "hotline")
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-result")).to_contain_text("Imported 3 entries")
    expect(page.locator("#banks")).to_contain_text("hotline")
    assert case.banking.bank("hotline").entries == 3
    assert not csp, csp


def test_start_a_scan_and_see_it_finish(
    admin_page: tuple[Any, str, list[str]], scan_root: Path
) -> None:
    from playwright.sync_api import expect

    page, url, csp = admin_page
    page.goto(f"{url}/admin/scans")
    page.fill("input[name=path]", str(scan_root / "batch"))
    with page.expect_navigation():
        page.click("#scan-form button[type=submit]")
    expect(page.locator("#scan-state")).to_have_text("finished", timeout=60_000)
    expect(page.locator("#scan-analysed")).to_have_text("3")
    expect(page.locator("#scans")).to_contain_text("batch")
    assert not csp, csp


def test_download_exports(admin_page: tuple[Any, str, list[str]], case: Case) -> None:
    page, url, csp = admin_page
    page.goto(f"{url}/exports")
    with page.expect_download() as info:
        page.click("#vics-form button[type=submit]")
    download = info.value
    assert download.suggested_filename.startswith("verisight-vics-")
    json.loads(Path(download.path()).read_text())
    sha = next(iter(case.media())).sha256
    page.fill("textarea[name=media]", sha)
    with page.expect_download() as info:
        page.click("#evidence-form button[type=submit]")
    assert info.value.suggested_filename.endswith(".zip")
    assert not csp, csp
