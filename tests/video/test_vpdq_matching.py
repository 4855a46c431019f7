"""vPDQ banks: the format round-trips, copies of footage match, unrelated videos do not."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import av

from verisight.analysis import analyse_bytes
from verisight.analysis.record import VideoFrame, VideoInfo
from verisight.case import Case
from verisight.demo_video import transcode
from verisight.limits import Limits
from verisight.matching import read_bank, write_bank
from verisight.matching.vpdq import format_vpdq_line, score

LIMITS = Limits()


def frames(data: bytes) -> tuple[VideoFrame, ...]:
    video = analyse_bytes(data, LIMITS).video
    assert isinstance(video, VideoInfo)
    return video.frames


def vpdq_file(path: Path, data: bytes) -> Path:
    path.write_text("".join(format_vpdq_line(f) + "\n" for f in frames(data)))
    return path


def test_vpdq_format_round_trips(tmp_path: Path, clip: bytes) -> None:
    path = vpdq_file(tmp_path / "known-video.txt", clip)
    first = path.read_text().splitlines()[1].split(",")
    assert first[0] == "25" and first[3] == "1.000" and len(first[2]) == 64
    entries = list(read_bank(path))  # detected as vpdq
    assert len(entries) == 8 and {e.source_id for e in entries} == {"known-video"}
    assert [e.frame for e in entries] == [25 * i for i in range(8)]
    out = io.StringIO()
    assert write_bank(entries, out, "vpdq").written == 8
    assert out.getvalue() == path.read_text()


def test_copies_match_above_threshold_and_unrelated_do_not(clip: bytes, other_clip: bytes) -> None:
    original = frames(clip)
    copies = {
        "resized-vp9": transcode(clip, size=(160, 120), codec="libvpx-vp9", container="webm"),
        "trimmed": transcode(clip, start=2.0, end=7.0),
        "re-encoded-mpeg4-mkv": transcode(clip, codec="mpeg4", container="matroska"),
    }
    for name, data in copies.items():
        s = score(frames(data), original)
        assert s.matches() and s.query_percent >= 80, (name, s)
    unrelated = score(frames(other_clip), original)
    assert not unrelated.matches() and unrelated.query_percent < 30, unrelated


def test_case_match_and_lookup(tmp_path: Path, clip: bytes, other_clip: bytes) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "copy.webm").write_bytes(
        transcode(clip, size=(240, 180), start=1.0, codec="libvpx-vp9", container="webm")
    )
    (src / "unrelated.mp4").write_bytes(other_clip)
    with av.open(io.BytesIO(clip)) as box:  # a still taken from the known footage
        still = next(f for i, f in enumerate(box.decode(video=0)) if i == 100).to_image()
    still.save(src / "still.png")
    bank_file = vpdq_file(tmp_path / "known.vpdq", clip)
    image_bank = tmp_path / "frames.pdq"
    image_bank.write_text(f"{frames(other_clip)[3].pdq},100\n")
    with Case(tmp_path / "case", create=True) as case:
        case.scan([src], workers=1)
        case.banking.import_file(bank_file, "known-videos")
        case.banking.import_file(image_bank, "known-stills", format="pdq")
        case.banking.match()
        by_name = {Path(m.sightings[0].path).name: m.sha256 for m in case.media()}
        hits = {
            (name, m.hash_type, m.bank)
            for name, sha in by_name.items()
            for m in case.banking.matches(media=sha)
        }
        assert ("copy.webm", "vpdq", "known-videos") in hits
        assert ("still.png", "pdq", "known-videos") in hits  # a still from known footage
        assert ("unrelated.mp4", "pdq", "known-stills") in hits  # a frame on an image list
        assert not any(n == "unrelated.mp4" and b == "known-videos" for n, _, b in hits)
        found = list(case.banking.lookup_video(frames(clip)))
        assert found[0][0] == "vpdq" and found[0][3] == 0 and found[0][1] == "100%/100%"
    shutil.rmtree(tmp_path / "case")
