"""Videos through the API: hashed as HMA's ``video`` content type (video_md5 and vPDQ), added
to a bank by file, and found again by file, by vPDQ and by MD5; a re-encode matches by vPDQ."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api
from verisight.demo_video import make_video, transcode


@pytest.mark.slow
def test_video_upload_hash_bank_and_lookup(api: Api) -> None:
    clip = make_video(4.0, fps=10, seed=3)
    r = api.post("/h/hash", files={"video": ("v.mp4", clip, "video/mp4")})
    assert r.status_code == 200, r.text
    signals = r.json()
    assert len(signals["video_md5"]) == 32
    frames = json.loads(signals["vpdq"])
    assert frames and all(len(f.split(",")[0]) == 64 for f in frames)

    api.post("/c/banks", json={"name": "VIDEOS"})
    added = api.post("/c/bank/VIDEOS/content", files={"video": ("v.mp4", clip, "video/mp4")})
    assert added.status_code == 200, added.text
    cid = added.json()["id"]
    assert set(added.json()["signals"]) >= {"video_md5", "vpdq"}
    api.refresh()

    found = api.post("/m/lookup", files={"video": ("v.mp4", clip, "video/mp4")}).json()
    assert found["video_md5"] == {"VIDEOS": [{"bank_content_id": cid, "distance": "0"}]}
    assert found["vpdq"]["VIDEOS"][0]["bank_content_id"] == cid
    again = transcode(clip, size=(240, 180))  # a smaller re-encode: new bytes, same content
    by_vpdq = api.post("/h/hash", files={"video": ("w.mp4", again, "video/mp4")}).json()
    assert by_vpdq["video_md5"] != signals["video_md5"]
    hit = api.get("/m/lookup", params={"signal_type": "vpdq", "signal": by_vpdq["vpdq"]}).json()
    assert hit["VIDEOS"][0]["bank_content_id"] == cid
