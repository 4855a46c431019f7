"""The video item page in headless Chromium: frame stepping with the keyboard, an audited
Play on a muted, non-autoplaying player, and Stop. Skipped when Chromium is absent (see
``test_browser``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import browser_ctx, login  # noqa: F401 (fixture)
from tests.web.test_video import case, clips  # noqa: F401 (fixtures)
from verisight.assessment import AssessmentService


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests run on SQLite only (the HTTP tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'case.db'}"


def test_step_frames_play_and_stop(
    browser_ctx: tuple[Any, str],  # noqa: F811
    service: AssessmentService,
    clips: dict[str, str],  # noqa: F811
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
    sha = clips["plain"]
    page.goto(f"{url}/item/{sha}")
    player = page.locator("#player")
    props = player.evaluate(
        "v => [v.muted, v.autoplay, v.loop, v.preload, v.getAttribute('src'), v.paused]"
    )
    assert props == [True, False, False, "none", None, True]

    img = page.locator("#media")
    page.keyboard.press(".")
    expect(img).to_have_attribute("src", re.compile(rf"/media/{sha}/frame/0/shielded\.jpg"))
    expect(page.locator("#frame-state")).to_have_text("Frame 1 of 3 at 0.00 s")
    page.keyboard.press(",")  # stays on the first frame
    expect(page.locator("#frame-state")).to_have_text("Frame 1 of 3 at 0.00 s")
    page.keyboard.press(".")
    expect(img).to_have_attribute("src", re.compile(r"/frame/1/shielded\.jpg"))
    page.keyboard.down("v")
    expect(img).to_have_attribute("src", re.compile(r"/frame/1/revealed\.jpg"))
    page.keyboard.up("v")
    expect(page.locator("#reveal-state")).to_have_text("shielded")
    page.keyboard.press("/")
    expect(img).to_have_attribute("src", re.compile(rf"/media/{sha}/shielded\.jpg"))

    video_url = f"{url}/media/{sha}/video"
    assert context.request.get(video_url).status == 403
    page.locator("#play").click()
    expect(player).to_have_attribute("src", f"/media/{sha}/video")
    assert player.evaluate("v => v.muted") is True
    assert next(e.action for e in service.audit.entries(media_sha256=sha)) == "play"
    # letting go of `v` while the video plays shields the sheet but keeps the video open
    page.keyboard.down("v")
    expect(page.locator("#reveal-state")).to_have_text("revealed")
    page.keyboard.up("v")
    expect(page.locator("#reveal-state")).to_have_text("shielded")
    assert context.request.get(video_url).status == 200
    page.locator("#stop").click()
    expect(player).to_be_hidden()
    page.wait_for_function(
        "url => fetch(url).then(r => r.status === 403)", arg=f"/media/{sha}/video"
    )
    assert not csp_errors, csp_errors
    context.close()
