"""A benign demo collection: generated scenes, their variants, archives, a web capture and a
few deliberately broken files. Nothing is downloaded; no image depicts a person."""

from __future__ import annotations

import io
import random
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic abstract scene: a gradient sky, hills and coloured shapes."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    top = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    bottom = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    grad = Image.linear_gradient("L").resize(size)
    img = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), grad)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(6, 14)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(20, w // 2), y0 + rng.randint(20, h // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            pts = [(rng.randrange(w), rng.randrange(h)) for _ in range(rng.randint(3, 6))]
            draw.polygon(pts, fill=colour)
    return img


def _jpeg(img: Image.Image, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return buf.getvalue()


def _png(img: Image.Image, text: dict[str, str] | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


#: Generator metadata of the demo's "AI-declared" abstract images (a fictional model name,
#: written the way a popular web UI writes it), so that the demo shows provenance verdicts.
_GENERATED = (
    "abstract coloured shapes on a plain background\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 640x480, "
    "Model hash: 0d3a1f2e, Model: demo-abstract-v1"
)


def demo_bank_csv(root: Path) -> str:
    """A demo hash list (CSV) holding some of the demo's own pictures: scene 6's PDQ (so its
    re-encoded copy inside the nested archive matches too) and scene 4's SHA-256 (an exact
    duplicate); neutral labels."""
    import hashlib

    from verisight.analysis.pdq import pdq_from_image

    with Image.open(root / "photos" / "scene-06.jpg") as img:
        pdq, quality = pdq_from_image(img.convert("RGB"))
    sha = hashlib.sha256((root / "photos" / "scene-04.jpg").read_bytes()).hexdigest()
    return (
        "sha256,pdq,pdq_quality,label\n"
        f",{pdq},{quality},demo list entry (scene 6)\n"
        f"{sha},,,demo list entry (scene 4)\n"
    )


def _warc(records: list[tuple[str, bytes, str]]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for url, payload, ctype in records:
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        rec = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(payload),
            http_headers=http,
            warc_headers_dict={
                "WARC-Date": datetime(2026, 6, 14, 12, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            },
        )
        writer.write_record(rec)
    return buf.getvalue()


def build_demo_collection(root: Path) -> int:
    """Write the demo collection under ``root`` (idempotent: files already there are kept, so a
    second scan adds nothing); return the number of files."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    bases = [scene(seed) for seed in range(8)]
    for i, img in enumerate(bases):
        files[f"photos/scene-{i:02d}.jpg"] = _jpeg(img)
    # variants of the first three scenes: re-encodes, resizes, crops, a PNG copy
    for i, img in enumerate(bases[:3]):
        files[f"reposts/scene-{i:02d}-q60.jpg"] = _jpeg(img, 60)
        files[f"reposts/scene-{i:02d}-small.jpg"] = _jpeg(img.resize((320, 240)), 85)
        w, h = img.size
        files[f"reposts/scene-{i:02d}-crop.jpg"] = _jpeg(img.crop((16, 12, w - 16, h - 12)))
        files[f"reposts/scene-{i:02d}.png"] = _png(img)
    # generated abstract images that declare a (fictional) generator in their metadata
    for n, seed in enumerate((60, 61)):
        files[f"generated/abstract-{n}.png"] = _png(
            scene(seed), {"parameters": _GENERATED.format(seed=1000 + n)}
        )
    # an exact duplicate under another name
    files["reposts/copy-of-scene-04.jpg"] = files["photos/scene-04.jpg"]
    # a camera-tagged image (benign scene, fictional camera fields)
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"
    exif[0x0110] = "Model 1"
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:06:01 10:30:00"
    files["photos/camera-tagged.jpg"] = _jpeg(scene(40), exif=exif)
    # an archive, and an archive nested inside an archive
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for i in (5, 6):
            data = _jpeg(bases[i], 75)
            info = tarfile.TarInfo(f"album/scene-{i:02d}-q75.jpg")
            info.size = len(data)
            info.mtime = 1_750_000_000
            tar.addfile(info, io.BytesIO(data))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            zipfile.ZipInfo("scene-07.jpg", (2026, 6, 1, 0, 0, 0)), files["photos/scene-07.jpg"]
        )
        zf.writestr(zipfile.ZipInfo("nested/inner.tar.gz", (2026, 6, 1, 0, 0, 0)), inner.getvalue())
    files["archives/collection.zip"] = outer.getvalue()
    # a web capture with two images and a page
    files["captures/forum-2026-06.warc.gz"] = _warc(
        [
            ("https://forum.example/t/1/img-a.jpg", _jpeg(bases[1], 70), "image/jpeg"),
            ("https://forum.example/t/2/img-b.png", _png(scene(50)), "image/png"),
            ("https://forum.example/t/1", b"<html><body>thread</body></html>", "text/html"),
        ]
    )
    # deliberately broken files
    good = files["photos/scene-00.jpg"]
    files["broken/truncated.jpg"] = good[: len(good) // 2]
    files["broken/garbage.png"] = b"\x89PNG\r\n\x1a\n" + bytes(random.Random(1).randbytes(2000))
    files["broken/empty.jpg"] = b""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # archives and captures embed times: never rewritten
            path.write_bytes(data)
    return len(files)
