"""The numba PDQ (:mod:`verisight.analysis._pdq_full`) is bit for bit the ``pdqhash`` reference,
for the hash and for its 8 rotations/flips (``compute_dihedral``).

Every comparison is exact: the hash and quality against :func:`pdq_from_pixels`
(``pdqhash.compute``), and where shown the 256 float DCT outputs against
``pdqhash.compute_float``.
"""

from __future__ import annotations

import io

import av
import numpy as np
import pdqhash
import pytest
from PIL import Image

from tests.media.images import TESTDATA, TESTDATA_MISSING, scene
from verisight.analysis._pdq_full import _hash, _luma, pdq_dihedral_full, pdq_full
from verisight.analysis.pdq import pdq_from_pixels
from verisight.demo_video import make_video

PDQ_DIR = TESTDATA / "pdq"


def _readonly(a: np.ndarray) -> np.ndarray:
    view = np.ascontiguousarray(a).view()
    view.flags.writeable = False  # the kernels' own specialisation (see pdq_full)
    return view


def reference_dihedral(rgb: np.ndarray) -> list[tuple[str, int]]:
    """``pdqhash.compute_dihedral``: Meta's C++ for the 8 rotations/flips."""
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [(np.packbits(np.asarray(v, np.uint8)).tobytes().hex(), int(quality)) for v in vectors]


def assert_identical(rgb: np.ndarray, *, floats: bool = True) -> None:
    assert pdq_full(rgb) == pdq_from_pixels(rgb)
    if min(rgb.shape[:2]) >= 5:
        assert pdq_dihedral_full(rgb) == reference_dihedral(rgb)
    if floats and min(rgb.shape[:2]) >= 5:
        reference, quality = pdqhash.compute_float(np.ascontiguousarray(rgb))
        _, our_quality, ours = _hash(rgb)
        # compute_float returns the 16x16 buffer flattened and reversed.
        want = np.asarray(reference, np.float32)[::-1].reshape(16, 16)
        assert np.array_equal(ours.view(np.uint32), want.view(np.uint32))
        assert our_quality == quality


def test_luminance_matches_pdqhash_for_every_colour() -> None:
    # pdqhash: float32(R*0.299 + G*0.587 + B*0.114) in float64; the kernel: float32 only.
    colours = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8)
    ours = np.empty(1 << 24, np.float32)
    _luma(_readonly(rgb.reshape(-1)), ours)
    for start in range(0, 1 << 24, 1 << 22):
        part = rgb[start : start + (1 << 22)]
        want = (part[:, 0] * 0.299 + part[:, 1] * 0.587 + part[:, 2] * 0.114).astype("float32")
        assert np.array_equal(ours[start : start + (1 << 22)].view(np.uint32), want.view(np.uint32))


SIZES = [
    (5, 5),
    (6, 5),
    (5, 9),
    (8, 8),
    (9, 13),
    (31, 33),
    (63, 64),
    (64, 64),  # the reference skips the filter at exactly 64x64
    (65, 64),
    (64, 65),
    (127, 129),
    (128, 128),
    (129, 127),
    (257, 255),
    (333, 201),
    (640, 360),
    (1023, 769),
    (1280, 720),
    (1920, 1080),
    (4000, 7),
    (7, 4000),
    (2500, 40),
]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_generated_scenes_of_many_sizes(width: int, height: int) -> None:
    assert_identical(np.asarray(scene(width, height, seed=width * 31 + height)))


@pytest.mark.parametrize(("width", "height"), [(5, 5), (64, 64), (97, 211), (1280, 720)])
def test_noise(width: int, height: int) -> None:
    rng = np.random.default_rng(width + height)
    assert_identical(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("value", [0, 1, 127, 255])
def test_flat_images(value: int) -> None:
    for shape in ((5, 5, 3), (64, 64, 3), (90, 160, 3), (720, 1280, 3)):
        assert_identical(np.full(shape, value, np.uint8))


def test_gradients_and_stripes() -> None:
    yy, xx = np.mgrid[0:300, 0:500]
    assert_identical(np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8))
    stripes = np.zeros((200, 301, 3), np.uint8)
    stripes[:, ::2] = 255
    assert_identical(stripes)


@pytest.mark.parametrize("shape", [(1, 1, 3), (4, 4, 3), (4, 900, 3), (900, 4, 3), (0, 0, 3)])
def test_below_minimum_size_is_the_zero_hash(shape: tuple[int, int, int]) -> None:
    rgb = np.full(shape, 200, np.uint8)
    assert pdq_full(rgb) == ("0" * 64, 0)
    assert pdq_dihedral_full(rgb) == [("0" * 64, 0)] * 8
    if shape[0]:
        assert pdq_full(rgb) == pdq_from_pixels(rgb)


def test_any_layout_and_read_only_input() -> None:
    base = np.asarray(scene(403, 301, seed=9))  # Pillow's arrays are read-only
    assert not base.flags.writeable
    assert_identical(base)
    for view in (base[10:250, 3:390], base[::2, ::3], base.transpose(1, 0, 2)):
        assert pdq_full(view) == pdq_from_pixels(np.ascontiguousarray(view))
    bgr = np.ascontiguousarray(base[:, :, ::-1])
    assert pdq_full(bgr[:, :, ::-1]) == pdq_from_pixels(base)


def test_rejects_other_arrays() -> None:
    for bad in (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8)):
        with pytest.raises(ValueError):
            pdq_full(bad)
    with pytest.raises(ValueError):
        pdq_full(np.zeros((8, 8, 3), np.float32))


def test_decoded_video_frames() -> None:
    clip = make_video(2.0, fps=10, size=(640, 360), seed=5, scene_seconds=0.5)
    with av.open(io.BytesIO(clip)) as box:
        frames = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    assert len(frames) == 20
    for rgb in frames[::2]:
        assert_identical(rgb, floats=False)
    assert_identical(frames[7])


@pytest.mark.skipif(not (PDQ_DIR / "expected.tsv").is_file(), reason=TESTDATA_MISSING)
def test_meta_test_images() -> None:
    files = sorted(p for p in PDQ_DIR.rglob("*") if p.suffix in {".jpg", ".png"})
    assert len(files) >= 30
    for path in files:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        assert_identical(rgb)
