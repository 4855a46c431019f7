"""Issue 18 item 12 and the source filter: hostile query and form text is a 400 or a plain
match, never a 500, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from tests.web.conftest import DECISION, Browser
from verisight.assessment import AssessmentService, QueueFilter


def test_nul_in_queue_filters_is_a_400(browser: Browser) -> None:
    assert browser.login("analyst") == 303
    for url in ("/queue?source=%00", "/queue?bank=a%00b", "/next?source=x%00", "/grid?source=%00"):
        r = browser.get(url)
        assert r.status_code == 400, url  # type: ignore[attr-defined]


def test_nul_in_a_note_is_a_400_and_saves_nothing(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst") == 303
    r = browser.post(f"/item/{shas[0]}/assess", DECISION | {"version": "0", "note": "a\x00b"})
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert service.assessments.get(shas[0]) is None
    ok = browser.post(f"/item/{shas[0]}/assess", DECISION | {"version": "0", "note": "l1\nl2"})
    assert ok.status_code == 303  # type: ignore[attr-defined]


def test_source_filter_is_a_plain_substring(service: AssessmentService) -> None:
    analyst = service.users.by_name("analyst")
    assert analyst is not None

    def count(source: str) -> int:
        return service.queue(analyst, QueueFilter(source=source)).total

    assert count("img-0001") == 1
    assert count("img_0001") == 0  # "_" is not a wildcard
    assert count("img-000%") == 0  # nor is "%"
    assert count("%") == 0
    assert count("img-000") == 4


def test_login_message_cannot_be_set_from_a_link(browser: Browser) -> None:
    page = browser.get("/login?error=Call+0800+now+to+verify+your+account")
    assert "0800" not in page.text  # type: ignore[attr-defined]
