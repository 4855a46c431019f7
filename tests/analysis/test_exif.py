"""EXIF facts: orientation and camera, tolerant of damaged values."""

from __future__ import annotations

import pytest
from PIL import Image

from verisight.analysis.exif import camera_from_exif, exif_orientation, normalise_exif_datetime
from verisight.analysis.record import Camera


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2011:07:30 15:41:25", "2011-07-30T15:41:25"),
        ("2011:07:30 15:41:25\x00", "2011-07-30T15:41:25"),
        (b"2003:12:14 12:01:44", "2003-12-14T12:01:44"),
        ("2019-01-02T03:04:05", "2019-01-02T03:04:05"),
        ("0000:00:00 00:00:00", None),
        ("2011:13:40 25:00:00", None),
        ("    :  :     :  :  ", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_normalise_exif_datetime(raw: object, iso: str | None) -> None:
    assert normalise_exif_datetime(raw) == iso


def test_orientation_only_1_to_8() -> None:
    assert exif_orientation({0x0112: 6}) == 6
    assert exif_orientation({0x0112: 0}) is None
    assert exif_orientation({0x0112: 9}) is None
    assert exif_orientation({0x0112: "6"}) is None
    assert exif_orientation({}) is None
    assert exif_orientation(None) is None


def test_camera_fields() -> None:
    exif = Image.Exif()
    assert camera_from_exif(exif) is None
    exif[0x010F] = "  Maker\x00\x00"
    assert camera_from_exif(exif) == Camera("Maker", None, None)
    exif.get_ifd(0x8769)[0x9003] = "2001:04:06 11:51:40"
    exif[0x0110] = "M1"
    assert camera_from_exif(exif) == Camera("Maker", "M1", "2001-04-06T11:51:40")
    assert camera_from_exif(None) is None


def test_datetime_in_ifd0_is_accepted() -> None:
    exif = Image.Exif()
    exif[0x9003] = "2001:04:06 11:51:40"
    camera = camera_from_exif(exif)
    assert camera is not None and camera.taken == "2001-04-06T11:51:40"
