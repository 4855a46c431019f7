"""EXIF facts: orientation and camera (make, model, DateTimeOriginal).

Camera EXIF is evidence, not proof, of a real capture (it is easily copied or forged); it is
recorded as found. Damaged EXIF never fails an item: unreadable values are simply absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from PIL import Image

from verisight.analysis.record import Camera

ORIENTATION = 0x0112
MAKE = 0x010F
MODEL = 0x0110
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003

_DATETIME = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_MAX_TEXT = 200


def exif_orientation(exif: Mapping[int, Any] | None) -> int | None:
    """The Orientation tag (1–8) as recorded, or None when absent or invalid."""
    if exif is None:
        return None
    try:
        value = exif.get(ORIENTATION)
    except Exception:
        return None
    if isinstance(value, tuple | list) and value:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return None


def camera_from_exif(exif: Image.Exif | None) -> Camera | None:
    """Make, model and DateTimeOriginal (ISO 8601), or None when none of them is present."""
    if exif is None:
        return None
    try:
        make = _camera_text(exif.get(MAKE))
        model = _camera_text(exif.get(MODEL))
        taken_raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL)
        if taken_raw is None:  # some writers put it in IFD0
            taken_raw = exif.get(DATETIME_ORIGINAL)
        taken = normalise_exif_datetime(taken_raw)
    except Exception:
        return None
    if make is None and model is None and taken is None:
        return None
    return Camera(make=make, model=model, taken=taken)


def _camera_text(value: object) -> str | None:
    """A Make/Model string, or None when the tag holds something else: ComfyUI writes its
    ``workflow:{…}`` / ``prompt:{…}`` graphs into these tags of WebP files."""
    text = _text(value)
    if text is None or len(text) > 200 or text.startswith(("workflow:", "prompt:", "{")):
        return None
    return text


def normalise_exif_datetime(value: object) -> str | None:
    """``"2011:07:30 15:41:25"`` → ``"2011-07-30T15:41:25"``; None if not a real date-time."""
    text = _text(value)
    if text is None:
        return None
    m = _DATETIME.match(text)
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        parsed = datetime(year, month, day, hour, minute, second)  # EXIF has no time zone
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: object) -> str | None:
    """An EXIF ASCII value as clean text (NULs and padding removed), or None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", " ").strip()
    return text[:_MAX_TEXT] or None
