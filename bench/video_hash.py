"""Video hashing speed (multiple of real time) on one core, and agreement with Meta's ``vpdq``.

Generates a 720p 30 fps H.264 clip with :func:`verisight.demo_video.make_video` (libx264
defaults: up to 3 B-frames, b-pyramid, keyframe at each scene cut; benign scenes with a
moving disc, a new scene every ``--scene-seconds``), pins the process to one CPU, and hashes
the clip at 1 frame/second with one decoding thread:

* ``verisight``: :func:`verisight.analysis.video.hash_video` (decodes only what sampling needs, PDQ
  of each whole frame as vPDQ does with the numba kernel
  :func:`verisight.analysis._pdq_full.pdq_full`, contact sheet included): the speed figure, and
  the frame hashes Verisight stores;
* ``verisight, every frame decoded``: the same hashing on a full decode (the reference the
  planned decode must equal, hash for hash);
* ``verisight, 512-px image path``: the planned decode, each frame hashed as a still image is
  (:func:`verisight.analysis.pdq.pdq_input`, reduced to 512 px first): what video frames used
  to get, for comparison of speed and agreement;
* ``vpdq.computeHash`` with ``thread_count=1``, when the ``vpdq`` package is installed (it
  builds against FFmpeg's development libraries: ``apt-get install -y libavcodec-dev
  libavformat-dev libswscale-dev libavdevice-dev pkg-config`` then ``pip install vpdq``).

Each is run ``--repeat`` times, best time kept; CPU seconds are shown beside wall-clock ones
(all the work runs on this process's one core, so on a shared machine CPU time is the
steadier figure). Prints multiples of real time, Verisight's speed over ``vpdq``'s, per-frame
agreement with ``vpdq`` (same frame numbers) of the hashes Verisight stores and of the image
path's, and where Verisight's time goes per second of video (``--no-profile`` to skip), with
``pdqhash`` (the reference the kernel must equal, bit for bit: checked on every frame) for
comparison. The numba kernel is loaded (or compiled, the first time) before any timing; that
one-off cost is printed. The clip is encoded before pinning (x264's output depends on its
thread count), as ``make_video`` makes it on this machine.

    .venv/bin/python bench/video_hash.py [--seconds 30] [--scene-seconds 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from verisight.analysis._pdq_full import pdq_full
from verisight.analysis.pdq import hamming, pdq_from_pixels, pdq_input
from verisight.analysis.video import SHEET_CELL, _SheetCollector, frame_feature, hash_video
from verisight.demo_video import make_video
from verisight.limits import Limits
from verisight.media.video import SampledFrame, open_video

_VERISIGHT = "verisight"
_FULL_DECODE = "verisight, every frame decoded"
_IMAGE_PATH = "verisight, 512-px image path"
_VPDQ = "vpdq.computeHash"
_PDQ_STAGE = "PDQ, full size (numba: luma, Jarosz, DCT)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--scene-seconds", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-profile", action="store_true", help="skip the time breakdown")
    args = ap.parse_args()
    t0 = time.perf_counter()
    clip = make_video(
        args.seconds, fps=30, size=(1280, 720), seed=7, scene_seconds=args.scene_seconds
    )
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # after encoding: x264's output depends on its threads
    made = time.perf_counter() - t0
    print(f"clip: {args.seconds:g} s 1280x720 30 fps H.264 (libx264 defaults), scene every "
          f"{args.scene_seconds:g} s, {len(clip):,} bytes (made in {made:.1f} s); "
          f"pinned to CPU {cpu}, one decoding thread")  # fmt: skip

    t0 = time.perf_counter()
    pdq_full(np.zeros((720, 1280, 3), np.uint8))
    print(f"numba PDQ kernel ready in {time.perf_counter() - t0:.2f} s (cache load, or "
          f"compile on first use)")  # fmt: skip

    def best(run: Callable[[], dict[int, str]]) -> tuple[float, float, dict[int, str]]:
        """Best wall-clock and best CPU seconds of ``--repeat`` runs, and the hashes."""
        walls, cpus, out = [], [], {}
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            out = run()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        return min(walls), min(cpus), out

    rows: dict[str, tuple[float, float, dict[int, str]]] = {}
    rows[_VERISIGHT] = best(lambda: _verisight(clip))
    rows[_FULL_DECODE] = best(lambda: _verisight_full_decode(clip))
    rows[_IMAGE_PATH] = best(lambda: _image_path(clip))
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"vpdq not installed: {exc}")
    else:
        with tempfile.TemporaryDirectory() as tmp:  # vpdq reads files only: bench data
            path = Path(tmp) / "clip.mp4"
            path.write_bytes(clip)

            def theirs() -> dict[int, str]:
                feats = vpdq.computeHash(str(path), seconds_per_hash=1, thread_count=1)
                return {f.frame_number: f.hex for f in feats}

            rows[_VPDQ] = best(theirs)

    print(f"\n{'hasher (1 core)':30} {'wall s':>7} {'x real time':>12} {'CPU s':>7} "
          f"{'x (CPU)':>8}")  # fmt: skip
    for name, (wall, cpu_s, _) in rows.items():
        print(f"{name:30} {wall:7.3f} {args.seconds / wall:12.1f} {cpu_s:7.3f} "
              f"{args.seconds / cpu_s:8.1f}")  # fmt: skip
    ours, full = rows[_VERISIGHT][2], rows[_FULL_DECODE][2]
    same = ours == full
    print(f"\nverisight vs every frame decoded: {'identical' if same else 'DIFFERENT'} "
          f"({len(ours)} frames)")  # fmt: skip
    if _VPDQ in rows:
        wall, cpu_s, theirs_ = rows[_VPDQ]
        print(f"verisight speed / vpdq speed: {wall / rows[_VERISIGHT][0]:.2f} (wall), "
              f"{cpu_s / rows[_VERISIGHT][1]:.2f} (CPU)")  # fmt: skip
        for label, mine in (
            ("verisight, stored hashes", ours),
            (_IMAGE_PATH, rows[_IMAGE_PATH][2]),
        ):
            common = sorted(set(mine) & set(theirs_))
            d = np.array([hamming(mine[n], theirs_[n]) for n in common])
            print(f"agreement with vpdq ({label}): {len(common)} common frames of "
                  f"{len(theirs_)} (vpdq) / {len(mine)} (verisight); "
                  f"identical {int((d == 0).sum())}, "
                  f"mean distance {d.mean():.2f}, max {d.max()}")  # fmt: skip
    if not args.no_profile:
        _profile(clip, args.seconds, args.repeat)


def _verisight(clip: bytes) -> dict[int, str]:
    """The hashes Verisight stores: :func:`hash_video`'s frames."""
    return {f.number: f.pdq for f in hash_video(clip, Limits(), threads=1).info.frames}


def _verisight_full_decode(clip: bytes) -> dict[int, str]:
    with open_video(clip, Limits(), threads=1) as reader:
        return {f.number: frame_feature(f).pdq for f in reader.sampled_frames(plan=False)}


def _image_path(clip: bytes) -> dict[int, str]:
    with open_video(clip, Limits(), threads=1) as reader:
        return {
            f.number: pdq_from_pixels(np.asarray(pdq_input(f.image)))[0]
            for f in reader.sampled_frames()
        }


def _profile(clip: bytes, seconds: float, repeat: int) -> None:
    """Where :func:`hash_video`'s time goes, per second of video (best of ``repeat``)."""
    stages: dict[str, float] = {}
    reference = math.inf
    checked = ""

    def keep(name: str, value: float) -> None:
        stages[name] = min(stages.get(name, value), value)

    for _ in range(repeat):
        t = time.process_time()
        with open_video(clip, Limits(), threads=1) as reader:
            frames: list[SampledFrame] = list(reader.sampled_frames())
        decode = time.process_time() - t
        t = time.process_time()
        for f in frames:
            f._decoded.to_ndarray(format="rgb24")
        rgb = time.process_time() - t
        keep("demux, plan, decode (planned)", decode - rgb)
        keep("RGB conversion (FFmpeg, full size)", rgb)
        t = time.process_time()
        for f in frames:
            pdq_full(f.pixels)
        keep(_PDQ_STAGE, time.process_time() - t)
        t = time.process_time()
        for f in frames:
            pdq_from_pixels(f.pixels)
        reference = min(reference, time.process_time() - t)
        if not checked:
            same = sum(pdq_full(f.pixels) == pdq_from_pixels(f.pixels) for f in frames)
            checked = f"{same}/{len(frames)}"
        t = time.process_time()
        sheet = _SheetCollector()
        for f in frames:
            sheet.add(f)
        sheet.render()
        keep(f"contact sheet ({SHEET_CELL}-px previews, JPEG)", time.process_time() - t)
        del frames
    total = sum(stages.values())
    print(f"\nwhere verisight's time goes (CPU ms per second of video; 50x real time = "
          f"{1000 / 50:.0f} ms):")  # fmt: skip
    for name, value in stages.items():
        print(f"  {name:42} {1000 * value / seconds:7.2f}")
    print(f"  {'total':42} {1000 * total / seconds:7.2f}  ({seconds / total:.1f}x real time)")
    print(f"  (for comparison, pdqhash.compute of the same frames: {1000 * reference / seconds:.2f}"
          f"; pdq_full == pdqhash on {checked} frames)")  # fmt: skip


if __name__ == "__main__":
    main()
