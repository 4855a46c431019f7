"""Small JPEG thumbnails for display.

Thumbnails are made from an already decoded (and usually already reduced) RGB image, so they
cost a resize and a small JPEG encode. Unlike fingerprints, a thumbnail is for people: the
EXIF orientation is applied so that it displays upright. (Blurring and greyscale for analyst
welfare are applied when shown, not here.)
"""

from __future__ import annotations

import io

from PIL import Image

#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIDE = 256
#: JPEG quality of thumbnails.
THUMBNAIL_QUALITY = 80

_T = Image.Transpose
#: EXIF orientation → the transpose that displays the image upright (as ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_270,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_90,
}


def make_thumbnail(
    image: Image.Image,
    orientation: int | None = None,
    *,
    max_side: int = THUMBNAIL_SIDE,
    quality: int = THUMBNAIL_QUALITY,
) -> bytes:
    """Return JPEG bytes of ``image`` with its longest side ≤ ``max_side``, shown upright.

    ``orientation`` is the EXIF Orientation tag (1–8); other values are ignored.
    """
    thumb = image if image.mode == "RGB" else image.convert("RGB")
    w, h = thumb.size
    if max(w, h) > max_side:
        if w >= h:
            size = (max_side, max(1, round(h * max_side / w)))
        else:
            size = (max(1, round(w * max_side / h)), max_side)
        thumb = thumb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation or 1)
    if transpose is not None:
        thumb = thumb.transpose(transpose)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=quality)
    return out.getvalue()
