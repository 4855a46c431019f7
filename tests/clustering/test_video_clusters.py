"""Near-duplicate video clusters: re-encodes, resizes and trims join the original (vPDQ)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.clustering.helpers import hexof, noisy, random_hash, sha
from verisight.analysis import analyse_bytes
from verisight.analysis.record import VideoFrame, VideoInfo
from verisight.cli import app
from verisight.clustering import VideoCandidate, VideoParams, VideoRepresentative, plan_video_update
from verisight.clustering.videos import good_frames, video_pairs
from verisight.demo_video import make_video, transcode
from verisight.limits import Limits
from verisight.matching.vpdq import score

runner = CliRunner()


@pytest.fixture(scope="module")
def clip() -> bytes:
    """The same benign clip as ``tests/video``: 8 s, four scenes and a moving disc."""
    return make_video(8, seed=1, audio=True)


@pytest.fixture(scope="module")
def other_clip() -> bytes:
    return make_video(8, seed=2)


def frames(data: bytes) -> tuple[VideoFrame, ...]:
    video = analyse_bytes(data, Limits()).video
    assert isinstance(video, VideoInfo)
    return video.frames


def fake_video(label: str, hashes: list[np.ndarray]) -> VideoCandidate:
    return VideoCandidate(sha(label), tuple((hexof(h), 100) for h in hashes))


def test_neighbour_rule_and_trims() -> None:
    rng = np.random.default_rng(3)
    scenes = [random_hash(rng) for _ in range(10)]
    original = fake_video("orig", scenes)
    reencoded = fake_video("re", [noisy(h, rng, 8) for h in scenes])
    half = fake_video("half", [noisy(h, rng, 8) for h in scenes[:5]])  # 100 % / 50 %
    excerpt = fake_video("excerpt", scenes[5:9])  # 100 % / 40 %: too little of the original
    partial = fake_video("partial", scenes[:3] + scenes[5:9] + [random_hash(rng) for _ in "abc"])
    # partial: 70 % of the original, 70 % of itself (a different edit)
    plan = plan_video_update([original, reencoded, half, excerpt, partial], [])
    groups = {c.representative: {m.sha256 for m in c.members} for c in plan.new_clusters}
    assert sorted(map(len, groups.values())) == [1, 1, 3]
    (big,) = [g for g in groups.values() if len(g) == 3]
    assert big == {sha("orig"), sha("re"), sha("half")}
    # the representative is a neighbour of every member: a full-length copy leads
    rep = next(r for r, g in groups.items() if len(g) == 3)
    assert rep in {sha("orig"), sha("re")}
    dist = {m.sha256: m.distance for c in plan.new_clusters for m in c.members}
    assert dist[sha("half")] == 50 and dist[rep] == 0
    # an existing cluster is joined, never merged
    later = plan_video_update(
        [excerpt, half], [VideoRepresentative(7, original.sha256, original.frames)]
    )
    assert [(j.cluster_id, j.sha256, j.distance) for j in later.joins] == [(7, sha("half"), 50)]
    assert [c.representative for c in later.new_clusters] == [sha("excerpt")]
    # no good frame: a singleton kept apart
    dull = VideoCandidate(sha("dull"), ((hexof(scenes[0]), 10),))
    (single,) = plan_video_update([dull], []).new_clusters
    assert single.reason == "low-quality"
    with pytest.raises(ValueError):
        VideoParams(percent=40, min_percent=50)


def test_pair_scores_equal_vpdq_brute_force() -> None:
    rng = np.random.default_rng(5)
    base = [random_hash(rng) for _ in range(12)]
    videos = [
        [(hexof(noisy(h, rng, int(rng.integers(0, 40)))), 100) for h in base[s : s + 8]]
        for s in (0, 2, 4)
    ] + [[(hexof(random_hash(rng)), 100) for _ in range(6)]]
    pairs = video_pairs([good_frames(v, 50) for v in videos], 31)
    got = {(int(a), int(b)): (pa, pb) for a, b, pa, pb in zip(
        pairs.a, pairs.b, pairs.a_percent, pairs.b_percent, strict=True)}  # fmt: skip
    for i in range(4):
        for j in range(i + 1, 4):
            ref = score(
                [VideoFrame(k, 0.0, p, q) for k, (p, q) in enumerate(videos[i])],
                [VideoFrame(k, 0.0, p, q) for k, (p, q) in enumerate(videos[j])],
            )
            want = (ref.query_percent, ref.compared_percent)
            assert got.get((i, j), (0.0, 0.0)) == pytest.approx(want), (i, j)


def test_scanned_copies_cluster_with_the_original(
    tmp_path: Path, database_url: str, clip: bytes, other_clip: bytes
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "original.mp4").write_bytes(clip)
    (src / "reencoded.mkv").write_bytes(transcode(clip, codec="mpeg4", container="matroska"))
    (src / "resized.mp4").write_bytes(transcode(clip, size=(160, 120)))
    (src / "trimmed.mp4").write_bytes(transcode(clip, start=2.0, end=7.0))
    (src / "unrelated.mp4").write_bytes(other_clip)
    # a still with the very PDQ of one of the original's frames: images never join videos
    still = src / "still.png"

    box: Any
    with av.open(io.BytesIO(clip)) as box:
        next(f for i, f in enumerate(box.decode(video=0)) if i == 100).to_image().save(still)
    case = str(tmp_path / "case")
    db = ["--database-url", database_url]
    res = runner.invoke(
        app, ["scan", str(src), "--case", case, "--workers", "1", "--no-cluster", *db]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["cluster", "--case", case, *db, "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["new_media"] == 6 and summary["new_videos"] == 5
    res = runner.invoke(app, ["cluster", "list", "--case", case, *db, "--json"])
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    listed = runner.invoke(app, ["media", "list", "--case", case, *db, "--json"])
    media = [json.loads(x) for x in listed.stdout.splitlines()]
    name = {m["sha256"]: Path(m["sightings"][0]["path"]).name for m in media}
    groups = {frozenset(name[s] for s in obj["members"]): obj for obj in lines}
    copies = frozenset({"original.mp4", "reencoded.mkv", "resized.mp4", "trimmed.mp4"})
    assert set(groups) == {copies, frozenset({"unrelated.mp4"}), frozenset({"still.png"})}
    video = groups[copies]
    assert video["kind"] == "near-duplicate" and video["basis"] == ["vpdq"]
    assert video["reason"] is None and video["threshold"] == 31
    assert video["members"][0] == video["representative"] and video["distances"][0] == 0
    assert groups[frozenset({"still.png"})]["basis"] is None
    # the trimmed copy holds 5 of the original's 8 seconds
    dist = dict(zip([name[s] for s in video["members"]], video["distances"], strict=True))
    assert 30 <= dist["trimmed.mp4"] <= 50
    shown = runner.invoke(app, ["cluster", "show", str(video["cluster"]), "--case", case, *db])
    assert shown.exit_code == 0 and "vPDQ" in shown.stdout
    again = runner.invoke(app, ["cluster", "--case", case, *db, "--json"])
    assert json.loads(again.stdout)["new_media"] == 0


def test_trim_scores_as_documented(clip: bytes) -> None:
    s = score(frames(transcode(clip, start=2.0, end=7.0)), frames(clip))
    assert s.query_percent >= 80 and 50 <= s.compared_percent < 80
