"""Safe decoding: limits checked on the header, every failure a reason, never a crash."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from PIL import Image

from tests.media.images import encode, png_claiming, scene
from verisight.errors import ItemFailure, Reason
from verisight.limits import Limits
from verisight.media.decode import DecodeFailure, decode_image, read_header

LIMITS = Limits()


def reason_of(data: bytes, limits: Limits = LIMITS) -> Reason:
    with pytest.raises(DecodeFailure) as info:
        decode_image(data, limits)
    assert isinstance(info.value, ItemFailure)
    return info.value.error.reason


def test_header_refusals_happen_before_decoding() -> None:
    bomb = png_claiming(100_000, 100_000)
    started = time.perf_counter()
    assert reason_of(bomb) is Reason.ABSURD_DIMENSIONS  # 100000 > max_dimension 50000
    wide = Limits(max_dimension=200_000)
    assert reason_of(bomb, wide) is Reason.DECOMPRESSION_BOMB  # 10^10 > max_pixels
    assert time.perf_counter() - started < 1.0
    with pytest.raises(DecodeFailure) as info:
        read_header(bomb, LIMITS)
    header = info.value.header
    assert header is not None and (header.width, header.height) == (100_000, 100_000)


def test_tiny_pixel_limit_is_a_bomb() -> None:
    data = encode(scene(20, 20), "PNG")
    assert reason_of(data, Limits(max_pixels=100)) is Reason.DECOMPRESSION_BOMB
    assert decode_image(data, Limits(max_pixels=400)).image.size == (20, 20)


def test_our_limits_replace_pillows_bomb_check() -> None:
    # 15000×13000 = 195 M pixels: above twice Pillow's default MAX_IMAGE_PIXELS, which would
    # raise DecompressionBombError; our own limit (here 10^9) is the one that applies.
    header = read_header(png_claiming(15_000, 13_000), Limits(max_pixels=10**9))
    assert (header.format, header.width, header.height) == ("PNG", 15_000, 13_000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_cut_in_half_is_truncated(fmt: str) -> None:
    data = encode(scene(200, 150, seed=3), fmt)
    assert reason_of(data[: len(data) // 2]) is Reason.TRUNCATED


def test_cut_inside_the_header_is_truncated() -> None:
    assert reason_of(encode(scene(64, 64), "JPEG")[:40]) is Reason.TRUNCATED
    assert reason_of(encode(scene(64, 64), "PNG")[:40]) is Reason.TRUNCATED


def test_garbage_after_a_magic_number_is_corrupt() -> None:
    rng = np.random.default_rng(7)
    garbage = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert reason_of(b"\xff\xd8\xff" + garbage) is Reason.CORRUPT_IMAGE
    assert reason_of(b"\x89PNG\r\n\x1a\n" + garbage) is Reason.CORRUPT_IMAGE
    assert reason_of(b"GIF89a" + garbage) in (Reason.CORRUPT_IMAGE, Reason.TRUNCATED)


def test_not_an_image_is_unsupported() -> None:
    assert reason_of(b"%PDF-1.7 not an image") is Reason.UNSUPPORTED_IMAGE


def test_random_damage_never_escapes() -> None:
    rng = np.random.default_rng(11)
    im = scene(96, 64, seed=5)
    originals = [encode(im, f) for f in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")]
    allowed = {Reason.TRUNCATED, Reason.CORRUPT_IMAGE, Reason.UNSUPPORTED_IMAGE}
    allowed |= {Reason.DECOMPRESSION_BOMB, Reason.ABSURD_DIMENSIONS}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # damaged files must not spray warnings either
        for data in originals:
            for _ in range(25):
                damaged = bytearray(data)
                for pos in rng.integers(8, len(data), 6):
                    damaged[pos] = int(rng.integers(0, 256))
                if rng.random() < 0.3:
                    damaged = damaged[: int(rng.integers(16, len(damaged)))]
                try:
                    decoded = decode_image(bytes(damaged), LIMITS, draft_side=64)
                except DecodeFailure as failure:
                    assert failure.error.reason in allowed
                else:
                    assert decoded.image.mode in ("RGB", "L")


def test_jpeg_is_decoded_reduced_but_never_below_the_asked_side() -> None:
    data = encode(scene(2100, 1300, seed=1), "JPEG", quality=90)
    decoded = decode_image(data, LIMITS, draft_side=512)
    assert (decoded.header.width, decoded.header.height) == (2100, 1300)  # as stored
    assert decoded.image.size == (525, 325)  # DCT-scaled by 1/4
    assert decoded.extent == (525.0, 325.0)
    full = decode_image(data, LIMITS)
    assert full.image.size == (2100, 1300)
    # 1024×683: box (512, 341) lets libjpeg halve it (683 // 341 == 2): 512×342
    odd = decode_image(encode(scene(1024, 683), "JPEG"), LIMITS, draft_side=512)
    assert odd.image.size == (512, 342) and odd.extent == (512.0, 341.5)
    portrait = decode_image(encode(scene(700, 1900), "JPEG"), LIMITS, draft_side=512)
    assert max(portrait.image.size) >= 512


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("RGBA", "RGB"), ("LA", "L"), ("P", "RGB"), ("1", "L"), ("CMYK", "RGB"), ("L", "L")],
)
def test_pixel_modes_become_8bit(mode: str, expected: str) -> None:
    im = scene(40, 30).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "1" else "PNG"
    decoded = decode_image(encode(im, fmt), LIMITS)
    assert decoded.image.mode == expected
    assert decoded.image.size == (40, 30)


def test_16bit_greyscale_is_scaled_not_clipped() -> None:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    decoded = decode_image(encode(Image.fromarray(ramp), "PNG"), LIMITS)
    arr = np.asarray(decoded.image)
    assert decoded.image.mode == "L"
    assert np.array_equal(arr, (ramp >> 8).astype(np.uint8))
    assert arr.max() == 255 and len(np.unique(arr)) == 256


def test_exif_is_read_but_never_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(scene(80, 40), "JPEG", exif=exif.tobytes())
    decoded = decode_image(data, LIMITS)
    assert decoded.exif is not None and decoded.exif.get(0x0112) == 6
    assert decoded.image.size == (80, 40)  # stored orientation
