"""Browser tests (Debian's Chromium via Playwright): the queue as decisions, and the dashboard
reviewers land on. Skipped without Chromium unless ``CI`` is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.test_browser import browser_ctx, chromium_path, database_url, login
from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.demo import scene

__all__ = ["browser_ctx", "chromium_path", "database_url"]


def reposts(case: Case, root: Path) -> None:
    """Re-encoded, resized and PNG copies of one generated picture: one cluster."""
    folder = root / "reposts"
    folder.mkdir()
    img = scene(7, (480, 360))
    img.save(folder / "pic.jpg", quality=92)
    img.save(folder / "pic-q60.jpg", quality=60)
    img.resize((240, 180)).save(folder / "pic-small.jpg", quality=85)
    img.save(folder / "pic.png")
    case.scan([folder], workers=1)  # clusters


def test_queue_lists_decisions(
    browser_ctx: tuple[Any, str], service: AssessmentService, case: Case, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    reposts(case, tmp_path)
    media = [m for m in case.media() if m.kind == "image"]
    assert len(media) == 8
    chromium, url = browser_ctx
    page = chromium.new_context().new_page()
    login(page, url, "analyst")
    page.goto(f"{url}/queue")
    rows = page.locator("#queue-list table.list").last.locator("tbody tr")
    # 4 pictures scanned apart + 1 picture posted 4 times = 5 decisions
    expect(rows).to_have_count(5)
    expect(page.locator("#decisions-left")).to_have_text("5")
    cluster = page.locator("td.cluster[data-size='4']")
    expect(cluster).to_have_count(1)
    expect(cluster.locator(".variants")).to_contain_text("PNG 480×360")
    # the row opens the best copy: the largest JPEG at the best quality
    link = cluster.locator("xpath=..").locator("a").first
    href = link.get_attribute("href") or ""
    best = next(m for m in media if m.sha256 == href.rsplit("/", 1)[-1])
    assert (best.width, best.height, best.format) == (480, 360, "JPEG")
    assert best.sightings[0].path.endswith("pic.jpg")


def test_reviewer_lands_on_the_dashboard(
    browser_ctx: tuple[Any, str], service: AssessmentService
) -> None:
    from playwright.sync_api import expect

    chromium, url = browser_ctx
    page = chromium.new_context().new_page()
    login(page, url, "reviewer")
    assert page.url.endswith("/dashboard")
    expect(page.locator("#progress h2")).to_contain_text("4 decisions left")
    expect(page.locator("#figure-distinct_media dd")).to_have_text("4")
    expect(page.locator("#exposure tr[data-analyst='analyst']")).to_have_count(1)
    page.fill("#period input[name=from]", "2020-01-01")
    page.fill("#period input[name=to]", "2020-01-31")
    with page.expect_navigation():
        page.click("#period button")
    assert "from=2020-01-01" in page.url
    expect(page.locator("#figures h2")).to_contain_text("2020-01-01")
    expect(page.locator("#figure-distinct_media dd")).to_have_text("0")
