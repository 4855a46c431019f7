"""analyse_bytes / analyse_path: every field filled, every bad input a reason, never a raise."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media.images import TESTDATA, TESTDATA_MISSING, encode, png_claiming, scene
from verisight.analysis import Camera, ItemRecord, analyse_bytes, analyse_path
from verisight.analysis.hashes import CHUNK_BYTES, hash_stream
from verisight.analysis.pdq import pdq_from_image
from verisight.errors import Reason
from verisight.limits import Limits

LIMITS = Limits()


def assert_hashes(record: ItemRecord, data: bytes) -> None:
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.sha1 == hashlib.sha1(data).hexdigest()
    assert record.md5 == hashlib.md5(data).hexdigest()
    assert record.size == len(data)


def reason(record: ItemRecord) -> Reason | None:
    return record.error.reason if record.error else None


# ---------------------------------------------------------------- a good image


def test_jpeg_record_is_complete() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Acme"
    exif[0x0110] = "Model 7"
    exif[0x0112] = 3
    exif.get_ifd(0x8769)[0x9003] = "2020:02:29 23:59:58"
    data = encode(scene(900, 600, seed=2), "JPEG", quality=88, exif=exif.tobytes())
    record = analyse_bytes(data, LIMITS)
    assert_hashes(record, data)
    assert (record.mime, record.kind, record.format) == ("image/jpeg", "image", "JPEG")
    assert (record.width, record.height) == (900, 600)
    assert record.pdq is not None and len(record.pdq) == 64 and record.pdq == record.pdq.lower()
    assert record.pdq_quality is not None and 50 <= record.pdq_quality <= 100
    assert record.exif_orientation == 3
    assert record.camera == Camera("Acme", "Model 7", "2020-02-29T23:59:58")
    assert record.error is None
    assert record.thumbnail is not None
    with Image.open(io.BytesIO(record.thumbnail)) as thumb:
        thumb.load()
        # longest side ≤ 256, orientation 3 (180°) applied for display only
        assert (thumb.format, thumb.mode, thumb.width) == ("JPEG", "RGB", 256)
        assert abs(thumb.height - 171) <= 1
    assert analyse_bytes(data, LIMITS) == record  # deterministic


@pytest.mark.parametrize("size", [(512, 469), (469, 512), (512, 384), (512, 1), (768, 767)])
def test_thumbnail_of_reduced_pixels_matches_the_bilinear_one(size: tuple[int, int]) -> None:
    """The box shortcut for whole-factor reductions gives make_thumbnail's size, and pixels
    within a few levels of its bilinear resize."""
    from verisight.analysis.analyse import _thumbnail
    from verisight.media.thumbnail import make_thumbnail

    image = scene(*size, seed=5)
    for orientation in (None, 6):
        with (
            Image.open(io.BytesIO(_thumbnail(image, orientation))) as ours,
            Image.open(io.BytesIO(make_thumbnail(image, orientation))) as bilinear,
        ):
            assert ours.size == bilinear.size
            diff = np.abs(np.asarray(ours, np.int16) - np.asarray(bilinear, np.int16))
            assert diff.mean() < 4  # measured 1.2–1.7


# ---------------------------------------------------------------- formats


def _animated_gif() -> tuple[bytes, Image.Image]:
    frames = [scene(120, 90, seed=s).convert("P") for s in (30, 31, 32)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue(), frames[0]


def _heic() -> bytes:
    try:
        return encode(scene(128, 96, seed=9), "HEIF", quality=80)
    except (KeyError, OSError, ValueError, RuntimeError) as exc:
        pytest.skip(f"no HEIC encoder available: {exc}")


def _avif() -> bytes:
    try:
        return encode(scene(128, 96, seed=9), "AVIF", quality=80, speed=10)
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"no AVIF encoder available: {exc}")


FORMATS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    "jpeg": ("image/jpeg", "JPEG", lambda: encode(scene(128, 96), "JPEG")),
    "png-rgba": ("image/png", "PNG", lambda: encode(scene(128, 96).convert("RGBA"), "PNG")),
    "png-l": ("image/png", "PNG", lambda: encode(scene(128, 96).convert("L"), "PNG")),
    "png-p": ("image/png", "PNG", lambda: encode(scene(128, 96).convert("P"), "PNG")),
    "png-i16": (
        "image/png",
        "PNG",
        lambda: encode(
            Image.fromarray(np.asarray(scene(128, 96).convert("L")).astype(np.uint16) * 257),
            "PNG",
        ),
    ),
    "gif-animated": ("image/gif", "GIF", lambda: _animated_gif()[0]),
    "webp": ("image/webp", "WEBP", lambda: encode(scene(128, 96), "WEBP", quality=80)),
    "bmp": ("image/bmp", "BMP", lambda: encode(scene(128, 96), "BMP")),
    "tiff": ("image/tiff", "TIFF", lambda: encode(scene(128, 96), "TIFF")),
    "avif": ("image/avif", "AVIF", _avif),
    "heic": ("image/heic", "HEIF", _heic),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_formats_give_size_and_pdq(name: str) -> None:
    mime, fmt, make = FORMATS[name]
    data = make()
    record = analyse_bytes(data, LIMITS)
    assert record.error is None, record.error
    assert (record.mime, record.kind, record.format) == (mime, "image", fmt)
    expected_size = (120, 90) if name == "gif-animated" else (128, 96)
    assert (record.width, record.height) == expected_size
    assert record.pdq is not None and record.pdq_quality is not None and record.pdq_quality > 0
    assert record.thumbnail is not None


def test_animated_gif_hashes_the_first_frame() -> None:
    data, first = _animated_gif()
    assert analyse_bytes(data, LIMITS).pdq == pdq_from_image(first.convert("RGB"))[0]


def test_16bit_png_hashes_like_its_8bit_version() -> None:
    grey = np.asarray(scene(128, 96, seed=6).convert("L"))
    sixteen = encode(Image.fromarray(grey.astype(np.uint16) * 257), "PNG")
    eight = encode(Image.fromarray(grey), "PNG")
    assert analyse_bytes(sixteen, LIMITS).pdq == analyse_bytes(eight, LIMITS).pdq


# ---------------------------------------------------------------- bad input


def test_zero_bytes() -> None:
    record = analyse_bytes(b"", LIMITS)
    assert reason(record) is Reason.EMPTY_FILE
    assert record.sha256 == hashlib.sha256(b"").hexdigest() and record.size == 0


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_cut_in_half(fmt: str) -> None:
    data = encode(scene(300, 200, seed=8), fmt)[:-1]
    half = data[: len(data) // 2]
    record = analyse_bytes(half, LIMITS)
    assert reason(record) is Reason.TRUNCATED
    assert_hashes(record, half)
    assert (record.format, record.width, record.height) == (fmt, 300, 200)  # from the header
    assert record.pdq is None and record.thumbnail is None


def test_random_garbage_with_jpeg_magic() -> None:
    rng = np.random.default_rng(3)
    data = b"\xff\xd8\xff" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    record = analyse_bytes(data, LIMITS)
    assert (record.mime, reason(record)) == ("image/jpeg", Reason.CORRUPT_IMAGE)
    assert_hashes(record, data)


def test_png_header_claiming_100000_square() -> None:
    data = png_claiming(100_000, 100_000)
    record = analyse_bytes(data, LIMITS)
    assert reason(record) is Reason.ABSURD_DIMENSIONS
    assert (record.width, record.height) == (100_000, 100_000)
    bomb = analyse_bytes(data, Limits(max_dimension=100_000))
    assert reason(bomb) is Reason.DECOMPRESSION_BOMB
    assert_hashes(bomb, data)


def test_tiny_pixel_limit() -> None:
    record = analyse_bytes(encode(scene(20, 20), "PNG"), Limits(max_pixels=100))
    assert reason(record) is Reason.DECOMPRESSION_BOMB
    assert record.pdq is None


def test_internal_errors_are_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import verisight.analysis.analyse as analyse_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(analyse_module, "pdq_input", broken)
    record = analyse_bytes(encode(scene(32, 32), "PNG"), LIMITS)
    assert reason(record) is Reason.INTERNAL and "boom" in str(record.error)


# ---------------------------------------------------------------- not images


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "archive"),
        (b"hello, world\n", "other"),
    ],
)
def test_other_kinds_are_hashed_only(data: bytes, kind: str) -> None:
    record = analyse_bytes(data, LIMITS)
    assert record.kind == kind and record.error is None
    assert_hashes(record, data)
    assert record.format is None and record.pdq is None and record.thumbnail is None


def test_a_video_header_without_a_video_is_a_corrupt_video() -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
    record = analyse_bytes(data, LIMITS)
    assert record.kind == "video" and reason(record) is Reason.CORRUPT_VIDEO
    assert_hashes(record, data)


# ---------------------------------------------------------------- analyse_path


def test_analyse_path_matches_analyse_bytes(tmp_path: Path) -> None:
    data = encode(scene(200, 100), "PNG")
    path = tmp_path / "picture.dat"  # the name says nothing: content decides
    path.write_bytes(data)
    assert analyse_path(path, LIMITS) == analyse_bytes(data, LIMITS)


def test_large_files_are_streamed_and_not_decoded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    jpeg = encode(scene(200, 100), "JPEG")
    data = jpeg + rng.integers(0, 256, (5 << 20) // 2, dtype=np.uint8).tobytes()  # 2.5 MiB
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    limits = Limits(max_decode_bytes=1000)
    record = analyse_path(path, limits)
    assert_hashes(record, data)
    assert (record.mime, record.kind) == ("image/jpeg", "image")
    assert record.pdq is None and record.width is None and record.thumbnail is None
    assert reason(record) is Reason.TOO_LARGE
    # the same through analyse_bytes
    assert analyse_bytes(data, limits) == record
    # a big non-image is hashed without any error
    other = tmp_path / "big.bin"
    other.write_bytes(b"\x00" * 5000)
    plain = analyse_path(other, limits)
    assert plain.error is None and plain.kind == "other" and plain.size == 5000


def test_streamed_hashing_reads_1_mib_chunks() -> None:
    reads: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            reads.append(-1 if size is None else size)
            return super().read(size)

    data = bytes(range(256)) * 10_000  # 2.5 MB
    hashes, size = hash_stream(Recording(data[100:]), data[:100])
    assert size == len(data) and hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert set(reads) == {CHUNK_BYTES} and len(reads) == 4  # 3 chunks, then end of file


def test_unreadable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        analyse_path(tmp_path / "missing.jpg", LIMITS)


# ---------------------------------------------------------------- real camera EXIF


def manifest_cameras() -> list[tuple[str, str, str]]:
    manifest = TESTDATA / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    rows = []
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if not row["file"].startswith("real_exif/"):
                continue
            details = dict(
                part.strip().split("=", 1) for part in row["verified_details"].split(";")
            )
            rows.append((row["file"], details["camera"], details["DateTimeOriginal"]))
    return rows


@pytest.mark.skipif(not (TESTDATA / "MANIFEST.tsv").is_file(), reason=TESTDATA_MISSING)
@pytest.mark.parametrize(("name", "camera", "taken"), manifest_cameras() or [("-", "", "")])
def test_real_camera_exif_matches_manifest(name: str, camera: str, taken: str) -> None:
    record = analyse_path(TESTDATA / name, LIMITS)
    assert record.error is None and record.camera is not None
    assert f"{record.camera.make} {record.camera.model}" == camera
    assert record.camera.taken == taken.replace(":", "-", 2).replace(" ", "T")


def test_manifest_lists_the_real_exif_files() -> None:
    if not (TESTDATA / "MANIFEST.tsv").is_file():
        pytest.skip(TESTDATA_MISSING)
    assert len(manifest_cameras()) == 5
