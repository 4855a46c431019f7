"""Videos through a scan: stored frames (SQLite and PostgreSQL), JSON, contact sheet."""

from __future__ import annotations

import zipfile
from pathlib import Path

from verisight.case import Case, media_json
from verisight.demo_video import make_video


def test_scan_stores_video_frames_and_contact_sheet(
    tmp_path: Path, database_url: str, clip: bytes
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "clip.mp4").write_bytes(clip)
    (src / "broken.mov").write_bytes(clip[: len(clip) // 3])
    with zipfile.ZipFile(src / "bundle.zip", "w") as zf:
        zf.writestr("inner/copy.webm", make_video(3, seed=5, codec="libvpx", container="webm"))
    with Case(tmp_path / "case", database_url, create=True) as case:
        summary = case.scan([src], workers=1)
        assert summary.reconciles and summary.seen == 4
        assert summary.errors_by_reason == {"corrupt-video": 1}
        videos = {m.sha256: m for m in case.media(kind="video")}
        assert len(videos) == 3
        good = next(m for m in videos.values() if m.size == len(clip))
        data = media_json(good)
        v = data["video"]
        assert (v["width"], v["height"], v["codec"], v["audio"], v["fps"]) == (
            320,
            240,
            "h264",
            True,
            25.0,
        )
        assert [f["t"] for f in v["frames"]] == [float(i) for i in range(8)]
        assert all(len(f["pdq"]) == 64 and f["quality"] > 0 for f in v["frames"])
        assert case.contact_sheet(good.sha256) is not None
        assert case.thumbnail(good.sha256) is not None
        webm = next(m for m in videos.values() if m.mime == "video/webm")
        assert webm.video is not None and webm.video.codec == "vp8"
        assert case.media_show(good.sha256[:12]).video == good.video
        # rescanning adds nothing twice
        again = case.scan([src], workers=1)
        assert again.reconciles
        assert case.media_show(good.sha256).video == good.video
        broken = next(m for m in videos.values() if m.error)
        assert broken.video is None and media_json(broken)["video"] is None
