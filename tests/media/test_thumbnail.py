"""Thumbnails: small, valid JPEGs, shown upright."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media.images import scene
from verisight.media.thumbnail import THUMBNAIL_SIDE, make_thumbnail


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize("size", [(1600, 900), (300, 1000), (256, 256), (40, 30), (1, 1)])
def test_longest_side_at_most_256_and_decodes(size: tuple[int, int]) -> None:
    thumb = _open(make_thumbnail(scene(*size)))
    assert thumb.format == "JPEG" and thumb.mode == "RGB"
    assert max(thumb.size) == min(THUMBNAIL_SIDE, max(size))


def test_orientation_is_applied_for_display() -> None:
    assert _open(make_thumbnail(scene(400, 200), 6)).size == (128, 256)
    assert _open(make_thumbnail(scene(400, 200), 3)).size == (256, 128)
    assert _open(make_thumbnail(scene(400, 200), 99)).size == (256, 128)  # invalid: ignored


def test_greyscale_input_gives_rgb_jpeg() -> None:
    assert _open(make_thumbnail(scene(100, 80).convert("L"))).mode == "RGB"
