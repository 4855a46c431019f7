"""Regression tests for what coverage-guided fuzzing found (``make fuzz``; docs/security.md).

Each input is generated here, benign: a one-colour GIF and a tar of a small PNG, cut or
patched the way the fuzzer's finding was.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

from PIL import Image

from verisight.analysis import analyse_bytes
from verisight.errors import Reason
from verisight.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def _gif_ending_in_a_frame_descriptor() -> bytes:
    """A valid GIF whose trailer is replaced by a second frame's descriptor and nothing else:
    Pillow's ``n_frames`` raised IndexError on it (fuzz target ``image``)."""
    buf = io.BytesIO()
    Image.new("P", (24, 16), 3).save(buf, "GIF")
    still = buf.getvalue()
    assert still.endswith(b";")
    return still[:-1] + b"," + struct.pack("<HHHHB", 0, 0, 24, 16, 0)


def test_a_gif_cut_after_a_frame_descriptor_is_still_hashed() -> None:
    record = analyse_bytes(_gif_ending_in_a_frame_descriptor(), Limits())
    assert record.error is None or record.error.reason != Reason.INTERNAL, record.error
    assert record.pdq is not None  # the still picture is hashed; only the animation is lost


def _tar_with_an_absurd_member_size() -> bytes:
    """A tar of one small PNG whose header declares a base-256 size near 2**90 bytes: tarfile's
    stream seek looped once per 10 KiB block to skip it (fuzz target ``container-tar``)."""
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(png, "PNG")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("a/one.png")
        info.size = len(png.getvalue())
        tar.addfile(info, io.BytesIO(png.getvalue()))
    data = bytearray(buf.getvalue())
    data[124:136] = b"\x80\x00\x00\x000000567\x00"  # the size field, base-256
    data[148:156] = b" " * 8
    data[148:155] = f"{sum(data[:512]):06o}\x00".encode()  # a checksum that still holds
    return bytes(data)


def test_a_tar_member_declaring_an_absurd_size_ends_the_tar_at_once() -> None:
    data = _tar_with_an_absurd_member_size()
    script = textwrap.dedent(
        """
        import io, sys
        from verisight.sources._common import Context
        from verisight.sources.base import Provenance
        from verisight.sources.containers import open_container
        from verisight.limits import Limits
        data = sys.stdin.buffer.read()
        ctx = Context.for_top_level(Limits())
        items = open_container(io.BytesIO(data), "tar", Provenance(("/t.tar",)), 0, ctx, data=data)
        for item in items:
            error = item.error
            print(f"{error.reason} {error.detail}" if error else "ok")
        """
    )
    done = subprocess.run(  # a regression spins for ever: bound it from outside
        [sys.executable, "-c", script], input=data, capture_output=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert any("too-large" in line or "declared size" in line for line in lines), lines
    assert any("truncated" in line for line in lines), lines
