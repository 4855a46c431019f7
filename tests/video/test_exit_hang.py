"""Regression (fuzzing, issue 18): a mutated MP4 deadlocked PyAV. FFmpeg's frame-decoding
threads log the broken stream's errors; with a PyAV log level set, every message goes
through a Python callback that needs the GIL, while the main thread holds the GIL in
``container.close()`` waiting for those threads to finish. The scan hung on the item (and a
process exit hung the same way). Verisight now keeps PyAV's default, a callback that drops
FFmpeg's messages without entering Python. The input is generated: a synthetic clip, mutated
deterministically as the fuzz smoke does, hashed under the limits that reached the
re-opening path."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from tests.test_fuzz import mutations
from verisight.demo_video import make_video

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from verisight.analysis import analyse_bytes
from verisight.limits import Limits
data = open(sys.argv[1], "rb").read()
for limits in (Limits(max_video_frames=3), Limits(max_video_seconds=1),
               Limits(max_video_decode_seconds=0.01), Limits()):
    analyse_bytes(data, limits)
print("finished")
"""


def test_ffmpeg_messages_never_enter_python() -> None:
    import av.logging

    import verisight.media.video  # noqa: F401  (sets the log level on import)

    assert av.logging.get_level() is None


def test_mutated_mp4_neither_deadlocks_nor_hangs_exit(tmp_path: Path) -> None:
    seed = make_video(3.0, fps=8, size=(128, 96), seed=3, scene_seconds=0.5)
    *_, data = mutations([seed], random.Random("h2-video-small"), 75)
    src = tmp_path / "mutated.mp4"
    src.write_bytes(data)
    for _ in range(3):  # the deadlock was a race: not every run hit it
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(src)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert res.returncode == 0 and "finished" in res.stdout, res.stderr[-2000:]
