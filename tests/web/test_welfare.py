"""Welfare over HTTP: shielded derivatives, audited reveals, settings, exposure, breaks."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PIL import Image, ImageChops, ImageStat
from sqlalchemy import Table, update

from tests.web.conftest import Browser
from verisight.assessment import AssessmentService
from verisight.assessment.welfare import WelfareSettings, resolve, summarise
from verisight.store.schema import WebSession

Factory = Callable[[], Browser]


def image(b: Browser, url: str) -> Image.Image:
    r = b.client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    assert r.headers["cache-control"] == "no-store"
    return Image.open(io.BytesIO(r.content))


def is_grey(img: Image.Image) -> bool:
    if img.mode == "L":
        return True
    r, g, b = img.convert("RGB").split()
    return (
        ImageChops.difference(r, g).getbbox() is None
        and ImageChops.difference(g, b).getbbox() is None
    )


def sharpness(img: Image.Image) -> float:
    from PIL import ImageFilter

    return float(ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0])


def test_media_arrive_shielded_and_reveal_is_explicit_and_audited(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    sha = shas[0]
    assert browser.login("analyst") == 303
    browser.get(f"/item/{sha}")
    shielded = image(browser, f"/media/{sha}/shielded.jpg")
    assert is_grey(shielded)
    assert browser.client.get(f"/media/{sha}/revealed.jpg").status_code == 403
    r = browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    assert r.status_code == 204
    revealed = image(browser, f"/media/{sha}/revealed.jpg")
    assert not is_grey(revealed)
    assert sharpness(revealed) > 2 * sharpness(shielded)
    assert [e.action for e in service.audit.entries(media_sha256=sha)][:1] == ["reveal"]
    exposure = service.accounts.exposure(service.users.by_name("analyst"))  # type: ignore[arg-type]
    assert exposure.items_revealed == 1
    # navigating to an item reverts the reveal
    browser.get(f"/item/{shas[1]}")
    assert browser.client.get(f"/media/{sha}/revealed.jpg").status_code == 403
    # and so does conceal
    browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    browser.client.post(f"/media/{sha}/conceal", headers={"x-csrf-token": browser.csrf})
    assert browser.client.get(f"/media/{sha}/revealed.jpg").status_code == 403
    assert "Today: 1 revealed" in browser.get("/queue").text  # type: ignore[attr-defined]


def test_media_need_the_right_role(app_factory: Factory, shas: list[str]) -> None:
    for role in ("auditor", "admin"):
        b = app_factory()
        assert b.login(role) == 303
        sha = shas[0]
        assert b.client.get(f"/media/{sha}/shielded.jpg").status_code == 403
        assert b.client.get(f"/item/{sha}").status_code == 403
        r = b.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": b.csrf})
        assert r.status_code == 403
        assert b.client.get(f"/media/{sha}/revealed.jpg").status_code == 403
        assert b.client.get("/queue").status_code == 403


def test_org_defaults_and_user_overrides(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    admin, analyst = app_factory(), app_factory()
    assert admin.login("admin") == 303 and analyst.login("analyst") == 303
    assert analyst.post("/admin/welfare", {"w_blur_radius": "4"}).status_code == 403  # type: ignore[attr-defined]
    r = admin.post("/admin/welfare", {"w_blur_radius": "30", "w_reveal_mode": "click"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    user = service.users.by_name("analyst")
    assert user
    assert service.accounts.welfare(user).blur_radius == 30
    assert service.accounts.welfare(user).reveal_mode == "click"
    assert analyst.post("/settings", {"w_greyscale": "false"}).status_code == 303  # type: ignore[attr-defined]
    w = service.accounts.welfare(user)
    assert (w.greyscale, w.blur, w.blur_radius) == (False, True, 30)
    assert not is_grey(image(analyst, f"/media/{shas[0]}/shielded.jpg"))
    assert 'data-reveal-mode="click"' in analyst.get(f"/item/{shas[0]}").text  # type: ignore[attr-defined]
    assert analyst.post("/settings", {"w_blur_radius": "999"}).status_code == 400  # type: ignore[attr-defined]
    other = service.users.by_name("analyst2")
    assert other and service.accounts.welfare(other).greyscale  # others keep the default


def test_break_reminder(browser: Browser, service: AssessmentService) -> None:
    assert browser.login("analyst") == 303
    assert "Time for a break" not in browser.get("/queue").text  # type: ignore[attr-defined]
    sessions: Table = WebSession.__table__  # type: ignore[assignment]
    with service.case.store.engine.begin() as conn:
        conn.execute(update(sessions).values(break_at=datetime.now(UTC) - timedelta(hours=2)))
    assert "Time for a break" in browser.get("/queue").text  # type: ignore[attr-defined]
    assert browser.post("/break").status_code == 303  # type: ignore[attr-defined]
    assert "Time for a break" not in browser.get("/queue").text  # type: ignore[attr-defined]


def test_welfare_model_is_protective_by_default() -> None:
    assert WelfareSettings().blur and WelfareSettings().greyscale and WelfareSettings().video_muted
    w = resolve({"blur": "off", "blur_radius": "nonsense"}, {"blur": True, "unknown": 1})
    assert w.blur and w.blur_radius == WelfareSettings().blur_radius
    assert not resolve({"blur": "off"}, {}).blur
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    s = summarise(t0, t0 + timedelta(hours=1), [
        ("a", t0, t0 + timedelta(seconds=30)),
        ("a", t0, t0 + timedelta(seconds=10)),
        ("b", t0, None),  # left open: capped
    ])  # fmt: skip
    assert s.items_revealed == 2 and s.seconds_revealed == 40 + 600
