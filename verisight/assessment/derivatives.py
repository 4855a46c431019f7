"""Welfare-safe image derivatives, made on the server from the case's thumbnails.

The browser never receives a clear image unless the analyst asked for it: :func:`shielded`
is what every page shows (greyscale and blurred per the analyst's settings) and
:func:`revealed` is served only after an audited reveal.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from verisight.assessment.welfare import WelfareSettings


def _load(path: Path, max_px: int) -> Image.Image:
    with Image.open(path) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    img.thumbnail((max_px, max_px))
    return img


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def shielded(path: Path, settings: WelfareSettings) -> bytes:
    return shield_image(_load(path, settings.max_image_px), settings)


def revealed(path: Path, settings: WelfareSettings) -> bytes:
    return _jpeg(_load(path, settings.max_image_px))


def shield_image(img: Image.Image, settings: WelfareSettings) -> bytes:
    """The shielded JPEG of an image already in memory (e.g. a contact-sheet tile)."""
    img = img.convert("RGB")
    img.thumbnail((settings.max_image_px, settings.max_image_px))
    if settings.greyscale:
        img = img.convert("L")
    if settings.blur:
        radius = max(2, settings.blur_radius * max(img.size) // 256)
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return _jpeg(img)


def reveal_image(img: Image.Image, settings: WelfareSettings) -> bytes:
    """The clear JPEG of an image already in memory, size-capped like :func:`revealed`."""
    img = img.convert("RGB")
    img.thumbnail((settings.max_image_px, settings.max_image_px))
    return _jpeg(img)
