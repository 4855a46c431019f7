"""Browser tests: headless Debian Chromium driven by Playwright against a real server.

Log in, assess an item with the keyboard only, check that images arrive greyscale and blurred,
reveal one, and check that an auditor cannot assess. Skipped when Chromium is absent, unless
``CI`` is set (then it fails).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.web.conftest import PASSWORD
from verisight.assessment import AssessmentService
from verisight.web import create_app
from verisight.web.server import background

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium); set CI to make this fail")
    return path


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """Browser tests run on SQLite only (the HTTP tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'case.db'}"


@pytest.fixture
def browser_ctx(service: AssessmentService) -> Iterator[tuple[Any, str]]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with background(create_app(service)) as url, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium, url
        finally:
            chromium.close()


def login(page: Any, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    # Wait for the autofocused field before typing: on a loaded machine keystrokes sent
    # before focus lands would be lost.
    page.locator("input[name=name]:focus").wait_for()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.locator("input[name=password]:focus").wait_for()
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()


def grey(data: bytes) -> bool:
    img = Image.open(io.BytesIO(data))
    if img.mode == "L":
        return True
    r, g, _b = img.convert("RGB").split()
    return ImageChops.difference(r, g).getbbox() is None


def test_keyboard_assessment_blur_and_reveal(
    browser_ctx: tuple[Any, str], service: AssessmentService
) -> None:
    from playwright.sync_api import expect

    chromium, url = browser_ctx
    context = chromium.new_context()
    page = context.new_page()
    csp_errors: list[str] = []
    page.on(
        "console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None
    )
    login(page, url, "analyst")
    assert page.url.endswith("/queue")
    page.keyboard.press("Enter")  # start assessing
    page.wait_for_url("**/item/*")
    sha = page.url.rsplit("/", 1)[-1]
    img = page.locator("#media")
    shielded_src = img.get_attribute("src")
    assert shielded_src and "shielded" in shielded_src
    shielded = context.request.get(f"{url}{shielded_src}").body()
    assert grey(shielded)
    assert context.request.get(f"{url}/media/{sha}/revealed.jpg").status == 403

    page.keyboard.down("v")  # hold to reveal
    expect(page.locator("#reveal-state")).to_have_text("revealed")
    expect(img).to_have_attribute("src", re.compile("revealed"))
    revealed = context.request.get(f"{url}/media/{sha}/revealed.jpg")
    assert revealed.status == 200 and not grey(revealed.body())
    assert revealed.body() != shielded
    page.keyboard.up("v")
    expect(page.locator("#reveal-state")).to_have_text("shielded")

    for key in ("p", "c", "g", "5", "t"):  # pseudo-photograph, C, AI photorealistic, 14-15
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: not u.endswith(sha))
    a = service.assessments.get(sha)
    assert a is not None
    d = a.decision
    assert (d.outcome, d.category, d.origin, d.age_band, d.sex) == (
        "pseudo-photograph", "C", "ai-photorealistic", "14-15", "unidentified",
    )  # fmt: skip
    actions = [e.action for e in service.audit.entries(media_sha256=sha)]
    assert {"view", "reveal", "conceal", "assess"} <= set(actions)
    assert not csp_errors, csp_errors
    context.close()


def test_auditor_cannot_assess_in_the_browser(
    browser_ctx: tuple[Any, str], service: AssessmentService, shas: list[str]
) -> None:
    chromium, url = browser_ctx
    context = chromium.new_context()
    page = context.new_page()
    login(page, url, "auditor")
    assert page.url.endswith("/audit")
    assert "Chain verified" in page.content()
    response = page.goto(f"{url}/item/{shas[0]}")
    assert response is not None and response.status == 403
    assert "may not" in page.content()
    page.goto(f"{url}/audit")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    r = context.request.post(
        f"{url}/item/{shas[0]}/assess",
        form={"csrf": token or "", "version": "0", "outcome": "not-illegal",
              "origin": "unknown", "age_band": "unknown", "sex": "unidentified"},
    )  # fmt: skip
    assert r.status == 403
    assert service.assessments.get(shas[0]) is None
    context.close()
