"""Video hashing speed (multiple of real time) and agreement with Meta's ``vpdq`` package.

Generates a 720p H.264 clip (benign scenes, moving shapes), hashes it with Vigil at 1
frame/second on one decoding thread, and, in the same run, with ``vpdq.computeHash`` when
the ``vpdq`` package is installed (it builds against FFmpeg's development libraries:
``apt-get install -y libavcodec-dev libavformat-dev libswscale-dev libavdevice-dev
pkg-config`` then ``pip install vpdq``). Prints speed and the per-frame PDQ distance between
the two for the same frame numbers, plus Vigil's full-resolution variant (PDQ of the whole
decoded frame, no reduction to 512 px) which is what vpdq hashes.

    .venv/bin/python bench/video_hash.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vigil.analysis.pdq import hamming, pdq_from_pixels
from vigil.analysis.video import hash_video
from vigil.demo_video import make_video
from vigil.limits import Limits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    clip = make_video(args.seconds, fps=30, size=(1280, 720), seed=7, scene_seconds=3.0)
    print(f"clip: {args.seconds:g} s 1280x720 30 fps H.264, {len(clip):,} bytes "
          f"(generated in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    rows: list[tuple[str, float]] = []

    t0 = time.perf_counter()
    ours = hash_video(clip, Limits()).info.frames
    rows.append(("vigil (PDQ at 512 px, as images)", time.perf_counter() - t0))

    t0 = time.perf_counter()
    full = _full_resolution(clip)
    rows.append(("vigil decode + full-resolution PDQ", time.perf_counter() - t0))

    theirs: dict[int, str] | None = None
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"vpdq not installed: {exc}")
    else:
        with tempfile.TemporaryDirectory() as tmp:  # vpdq reads files only: bench data
            path = Path(tmp) / "clip.mp4"
            path.write_bytes(clip)
            t0 = time.perf_counter()
            feats = vpdq.computeHash(str(path), seconds_per_hash=1)
            rows.append(("vpdq.computeHash (its threads)", time.perf_counter() - t0))
        theirs = {f.frame_number: f.hex for f in feats}

    print(f"\n{'hasher':40} {'seconds':>8} {'x real time':>12}")
    for name, secs in rows:
        print(f"{name:40} {secs:8.2f} {args.seconds / secs:12.1f}")
    if theirs is not None:
        for label, mine in (("512 px", {f.number: f.pdq for f in ours}), ("full res", full)):
            common = sorted(set(mine) & set(theirs))
            d = np.array([hamming(mine[n], theirs[n]) for n in common])
            print(f"\nagreement with vpdq ({label}): {len(common)} common frames of "
                  f"{len(theirs)} (vpdq) / {len(mine)} (vigil); identical {int((d == 0).sum())}, "
                  f"mean distance {d.mean():.2f}, max {d.max()}")  # fmt: skip


def _full_resolution(clip: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    with av.open(io.BytesIO(clip)) as box:
        stream = box.streams.video[0]
        step = max(1, int(float(stream.average_rate or 30)))
        for n, frame in enumerate(box.decode(stream)):
            if n % step == 0:
                out[n] = pdq_from_pixels(frame.to_ndarray(format="rgb24"))[0]
    return out


if __name__ == "__main__":
    main()
