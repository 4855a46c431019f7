"""An animation holds each frame once however long it stays on screen (fuzzing found a
541-byte GIF whose two frames, shown for minutes each, took over 2 GB: one RGB copy per
sampled second)."""

from __future__ import annotations

import io
import subprocess
import sys

from PIL import Image

from verisight.analysis.video import hash_animation
from verisight.limits import Limits
from verisight.media.video import sample_animation


def long_gif(width: int, height: int) -> bytes:
    """Two generated frames, each shown for 655.35 s (GIF's longest frame delay)."""
    frames = [Image.new("L", (width, height), v) for v in (40, 200)]
    for i, f in enumerate(frames):
        f.paste(255 - 40 * (i + 1), (0, 0, width // 3, height // 2))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=655_350, loop=0)
    return buf.getvalue()


def test_a_frame_shown_for_many_samples_is_converted_once() -> None:
    sampled = sample_animation(long_gif(64, 32), Limits())
    assert sampled is not None
    probe, frames = sampled
    assert round(probe.duration) == 1311
    picked = list(frames)
    assert len(picked) == 1311  # one sample a second
    assert len({id(f.image) for f in picked}) == 2
    assert [f.number for f in picked[654:657]] == [0, 0, 1]  # frame 1 from 655.35 s


def test_hashes_are_those_of_each_frame() -> None:
    result = hash_animation(long_gif(64, 32), Limits())
    assert result is not None
    hashes = {f.number: f.pdq for f in result.info.frames}
    assert len(result.info.frames) == 1311 and len(hashes) == 2
    with Image.open(io.BytesIO(long_gif(64, 32))) as im:
        import numpy as np

        from verisight.analysis.pdq import pdq_from_pixels

        for n in (0, 1):
            im.seek(n)
            assert hashes[n] == pdq_from_pixels(np.asarray(im.convert("RGB")))[0]


def test_peak_memory_stays_flat() -> None:
    data = long_gif(2000, 500)  # 3 MB of RGB a frame: 1,311 copies would be ~3.9 GB
    code = (
        "import resource, sys\n"
        "from verisight.analysis import analyse_bytes\n"
        "from verisight.limits import Limits\n"
        "r = analyse_bytes(sys.stdin.buffer.read(), Limits())\n"
        "assert r.error is None and len(r.video.frames) == 1311, r.error\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=300, check=True
    )
    # ~1 GiB is the interpreter with numba compiling its kernels from a cold cache (a fresh
    # clone); one RGB copy per sampled second would be 3.9 GiB more.
    assert int(out.stdout) < 2048, f"peak RSS {int(out.stdout)} MiB"


def _move_second_frame(gif: bytes, left: int, top: int) -> bytes:
    """The GIF with its second image descriptor placed at (left, top)."""
    data = bytearray(gif)
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    frames = 0
    while data[pos] != 0x3B:
        if data[pos] == 0x21:  # an extension: label, then sub-blocks
            pos += 2
        else:  # 0x2C, an image descriptor
            frames += 1
            if frames == 2:
                data[pos + 1 : pos + 5] = left.to_bytes(2, "little") + top.to_bytes(2, "little")
                return bytes(data)
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    raise AssertionError("no second frame")


def test_a_frame_far_outside_the_screen_is_a_bomb_not_an_allocation() -> None:
    """Found by fuzzing: a 663-byte GIF whose second frame sat at (8144, 43778) grew the
    canvas to 356 million pixels when reached (MemoryError, or the worker killed)."""
    data = _move_second_frame(long_gif(24, 16), 8144, 43778)
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from verisight.analysis import analyse_bytes\n"
        "from verisight.limits import Limits\n"
        "r = analyse_bytes(sys.stdin.buffer.read(), Limits())\n"
        "print(r.error, r.pdq is not None, r.video is None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=120, check=True
    )
    # The still (first frame) is hashed; the animation is refused within the pixel limit.
    assert out.stdout.decode().split() == ["None", "True", "True"]
