"""Videos in the analyst's room over HTTP: the contact sheet shielded, frame stepping, audited
playback of the original with Range requests, and the assessment form.

The case holds benign generated clips only (moving shapes over abstract scenes): one plain
file with audio and one inside a ZIP archive, next to a few images.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import write_images
from tests.web.conftest import DECISION, Browser
from tests.web.test_welfare import image, is_grey, sharpness
from verisight.analysis.video import _SheetCollector
from verisight.assessment import AssessmentService
from verisight.assessment.video import crop_tile, sheet_frame_indices
from verisight.case import Case
from verisight.demo_video import make_video
from verisight.media.video import SampledFrame

Factory = Callable[[], Browser]
SIZE = (160, 120)


@pytest.fixture
def case(tmp_path: Path, database_url: str) -> Iterator[Case]:
    """Overrides the web fixtures' case: two images, a clip with audio, a zipped clip."""
    folder = tmp_path / "collection"
    write_images(folder, 2)
    (folder / "clip.mp4").write_bytes(make_video(3, size=SIZE, seed=3, audio=True))
    with zipfile.ZipFile(folder / "box.zip", "w") as z:
        z.writestr("inner/other.mp4", make_video(2, size=SIZE, seed=4))
    c = Case(tmp_path / "case", database_url, create=True)
    c.scan([folder], workers=1)
    yield c
    c.close()


@pytest.fixture
def clips(case: Case) -> dict[str, str]:
    """``{"plain": sha256, "zipped": sha256}`` of the two videos."""
    out = {}
    for m in case.media(kind="video"):
        out["zipped" if any(len(s.chain) > 1 for s in m.sightings) else "plain"] = m.sha256
    assert set(out) == {"plain", "zipped"}
    return out


def play(b: Browser, sha: str) -> int:
    r = b.client.post(f"/media/{sha}/play", headers={"x-csrf-token": b.csrf})
    return int(r.status_code)


def test_item_page_shows_the_sheet_shielded_with_facts_and_a_safe_player(
    browser: Browser, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{sha}").text  # type: ignore[attr-defined]
    assert f'src="/media/{sha}/shielded.jpg"' in page
    assert 'Duration</dt><dd id="video-duration">3.00 s' in page
    assert "h264" in page and "160×120" in page and "25 fps" in page
    assert '<dd id="video-audio">yes (muted)' in page
    video = re.search(r"<video[^>]*>", page)
    assert video, page
    tag = video.group(0)
    assert " muted" in tag and " controls" in tag and 'preload="none"' in tag
    assert "autoplay" not in tag and "loop" not in tag and "src=" not in tag
    assert "<script>" not in page and "onclick" not in page
    # the form as for images, with the partially-synthetic origin
    assert 'name="origin" value="partially-synthetic"' in page
    # the contact sheet arrives greyscale and blurred; clear only after a reveal
    shielded = image(browser, f"/media/{sha}/shielded.jpg")
    assert is_grey(shielded)
    assert browser.client.get(f"/media/{sha}/revealed.jpg").status_code == 403
    r = browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    assert r.status_code == 204
    revealed = image(browser, f"/media/{sha}/revealed.jpg")
    assert not is_grey(revealed)
    assert sharpness(revealed) > 1.5 * sharpness(shielded)


def test_frames_step_through_shielded_tiles_of_the_sheet(
    browser: Browser, service: AssessmentService, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{sha}").text  # type: ignore[attr-defined]
    assert page.count('<li data-index="') == 3  # one sampled frame per second
    assert 'data-t="2.00"' in page and 'id="frame-next"' in page
    tiles = [image(browser, f"/media/{sha}/frame/{i}/shielded.jpg") for i in range(3)]
    assert all(is_grey(t) for t in tiles)
    assert tiles[0].size == SIZE
    assert browser.client.get(f"/media/{sha}/frame/3/shielded.jpg").status_code == 404
    assert browser.client.get(f"/media/{sha}/frame/0/revealed.jpg").status_code == 403
    browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    clear = image(browser, f"/media/{sha}/frame/1/revealed.jpg")
    assert not is_grey(clear) and clear.size == SIZE


def test_play_is_explicit_audited_and_the_video_supports_ranges(
    browser: Browser, service: AssessmentService, case: Case, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    original = next(Path(s.path) for s in case.media_show(sha).sightings)
    data = original.read_bytes()
    assert browser.login("analyst") == 303
    browser.get(f"/item/{sha}")
    url = f"/media/{sha}/video"
    assert browser.client.get(url).status_code == 403  # no Play yet
    # a reveal of the sheet is not a Play
    browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    assert browser.client.get(url).status_code == 403
    # Play needs the CSRF token
    assert browser.client.post(f"/media/{sha}/play").status_code == 403
    assert play(browser, sha) == 204
    actions = [e.action for e in service.audit.entries(media_sha256=sha)]
    assert actions[0] == "play"
    whole = browser.client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["cache-control"] == "no-store"
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert "media-src 'self'" in whole.headers["content-security-policy"]
    part = browser.client.get(url, headers={"range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.headers["cache-control"] == "no-store"
    tail = browser.client.get(url, headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    bad = browser.client.get(url, headers={"range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416
    # playing counts as exposure, and the `v` reveal of the sheet is part of it
    me = service.users.by_name("analyst")
    assert me is not None and service.accounts.exposure(me).items_revealed == 1
    # stopping (conceal) or opening any item ends it
    browser.client.post(f"/media/{sha}/conceal", headers={"x-csrf-token": browser.csrf})
    assert browser.client.get(url).status_code == 403
    assert play(browser, sha) == 204
    browser.get(f"/item/{clips['zipped']}")
    assert browser.client.get(url).status_code == 403


def test_video_route_needs_the_role_and_the_users_own_play(
    app_factory: Factory, service: AssessmentService, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    first = app_factory()
    assert first.login("analyst") == 303
    assert play(first, sha) == 204
    second = app_factory()
    assert second.login("analyst2") == 303
    assert second.client.get(f"/media/{sha}/video").status_code == 403
    for role in ("auditor", "admin"):
        b = app_factory()
        assert b.login(role) == 303
        assert play(b, sha) == 403
        assert b.client.get(f"/media/{sha}/video").status_code == 403
        assert b.client.get(f"/media/{sha}/frame/0/shielded.jpg").status_code == 403
    anonymous = app_factory()
    assert anonymous.client.get(f"/media/{sha}/video").status_code == 401
    denied = [e for e in service.audit.entries() if e.action == "denied"]
    assert {e.actor for e in denied} >= {"auditor", "admin"}


def test_archive_members_show_the_sheet_only(
    browser: Browser, service: AssessmentService, clips: dict[str, str]
) -> None:
    sha = clips["zipped"]
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{sha}").text  # type: ignore[attr-defined]
    assert "Playback unavailable: only seen inside archives" in page
    assert "<video" not in page and 'id="play"' not in page
    assert is_grey(image(browser, f"/media/{sha}/shielded.jpg"))
    assert play(browser, sha) == 403
    assert browser.client.get(f"/media/{sha}/video").status_code == 403
    assert not any(e.action == "play" for e in service.audit.entries(media_sha256=sha))


def test_a_changed_original_is_not_played(
    browser: Browser, case: Case, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    original = Path(case.media_show(sha).sightings[0].path)
    data = bytearray(original.read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    original.write_bytes(bytes(data))
    assert browser.login("analyst") == 303
    assert play(browser, sha) == 403


def test_videos_are_assessed_like_images_and_auditors_cannot(
    app_factory: Factory, service: AssessmentService, clips: dict[str, str]
) -> None:
    sha = clips["plain"]
    analyst = app_factory()
    assert analyst.login("analyst") == 303
    r = analyst.post(
        f"/item/{sha}/assess", DECISION | {"origin": "partially-synthetic", "version": "0"}
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    saved = service.assessments.get(sha)
    assert saved is not None and saved.decision.origin == "partially-synthetic"
    auditor = app_factory()
    assert auditor.login("auditor") == 303
    r = auditor.post(f"/item/{sha}/assess", DECISION | {"version": str(saved.version)})
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert service.assessments.get(sha) == saved


@pytest.mark.parametrize("sampled", [1, 3, 4, 5, 16, 17, 31, 32, 33, 64, 100, 250])
def test_sheet_frames_are_the_tiles_the_sheet_shows(sampled: int) -> None:
    """The replayed choice of frames and the crop geometry agree with the sheet renderer."""
    collector = _SheetCollector()
    for n in range(sampled):
        img = Image.new("RGB", (48, 36), ((n * 37) % 256, (n * 91) % 256, (n * 13) % 256))
        collector.add(SampledFrame(n, float(n), img))
    picks = sheet_frame_indices(sampled)
    assert len(picks) == len(collector.picks())
    sheet_bytes = collector.render()
    assert sheet_bytes is not None
    sheet = Image.open(io.BytesIO(sheet_bytes)).convert("RGB")
    for i, n in enumerate(picks):
        tile = crop_tile(sheet, i, len(picks))
        assert tile.size == (48, 36)
        r, g, b = tile.getpixel((24, 18))  # type: ignore[misc]
        want = ((n * 37) % 256, (n * 91) % 256, (n * 13) % 256)
        assert max(abs(r - want[0]), abs(g - want[1]), abs(b - want[2])) < 24, (i, n)
    with pytest.raises(IndexError):
        crop_tile(sheet, len(picks), len(picks))


@pytest.mark.parametrize("swap", ["same-size-file", "symlink", "rewrite-keeping-mtime"])
def test_the_stream_is_the_file_play_verified(
    browser: Browser, case: Case, clips: dict[str, str], tmp_path: Path, swap: str
) -> None:
    """Issue 18 item 11: after Play, a different file at the path is never streamed."""
    import os

    sha = clips["plain"]
    original = Path(case.media_show(sha).sightings[0].path)
    data = original.read_bytes()
    other = bytes(b ^ 0x5A for b in data)  # same size, other content
    assert browser.login("analyst") == 303
    assert play(browser, sha) == 204
    url = f"/media/{sha}/video"
    assert browser.client.get(url).content == data
    st = original.stat()
    if swap == "same-size-file":
        (tmp_path / "new.mp4").write_bytes(other)
        os.replace(tmp_path / "new.mp4", original)
    elif swap == "symlink":
        (tmp_path / "elsewhere.mp4").write_bytes(data)  # even identical bytes: a symlink
        original.unlink()
        original.symlink_to(tmp_path / "elsewhere.mp4")
    else:
        original.write_bytes(other)
        os.utime(original, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = browser.client.get(url)
    assert r.status_code == 403 and other not in r.content
    assert browser.client.get(url, headers={"range": "bytes=0-99"}).status_code == 403


def test_a_verified_stream_survives_a_swap_after_its_check(
    browser: Browser, service: AssessmentService, case: Case, clips: dict[str, str]
) -> None:
    """The body is read from the descriptor that was checked, not from the path again."""
    sha = clips["plain"]
    original = Path(case.media_show(sha).sightings[0].path)
    data = original.read_bytes()
    assert browser.login("analyst") == 303
    assert play(browser, sha) == 204
    me = service.users.by_name("analyst")
    assert me is not None
    opened = service.video_file(me, sha)
    original.unlink()
    original.write_bytes(bytes(len(data)))
    try:
        assert opened.file.read() == data
    finally:
        opened.file.close()
