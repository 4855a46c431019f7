"""Fuzz targets: every parser that reads outside data, each with an oracle and benign seeds.

A target takes one input (bytes) and raises :class:`Finding` when Verisight mishandles it.
"Mishandles" is narrower than "raises": bad input is expected and must end as a clear,
recorded error, so each oracle names what would be a bug instead:

* the analysis and provenance entry points never raise; a bug shows up in what they catch
  defensively (``internal-error`` items, ``internal error`` / ``XMP unreadable`` problems);
* generator parsers may raise only :class:`MetadataError`;
* bank readers may raise only :class:`MatchingError` (an import's clear message);
* container readers turn anything into ``corrupt-archive``, so a programming error
  (``TypeError``, ``AttributeError``...) in an item's detail is a finding;
* any other exception escaping a target is a finding (atheris reports it with the input).

Hangs and memory blow-ups are caught by the fuzzer's own ``-timeout`` and ``-rss_limit_mb``.
Seeds are generated (abstract shapes, neutral text), never real material. ``fuzz/run.py``
drives these with atheris; ``tests/test_fuzz.py`` runs each on its seeds and a few hundred
deterministic mutations.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from verisight.analysis import analyse_bytes
from verisight.analysis.provenance import (
    MetadataError,
    ParseContext,
    ParseProblem,
    extract_provenance,
)
from verisight.analysis.provenance.base import Metadata
from verisight.analysis.provenance.containers import TextEntry
from verisight.analysis.provenance.limits import DEFAULT_LIMITS
from verisight.analysis.provenance.registry import PARSERS
from verisight.errors import Reason
from verisight.limits import Limits
from verisight.matching.errors import MatchingError
from verisight.matching.formats import read_bank
from verisight.sources._common import Context
from verisight.sources.base import Provenance
from verisight.sources.containers import open_container

#: Small limits, so that a fuzzer explores the limit checks instead of waiting on big inputs.
LIMITS = Limits(
    max_pixels=4_000_000,
    max_member_bytes=8 << 20,
    max_total_bytes=32 << 20,
    max_video_seconds=30,
    max_video_frames=300,
    max_video_decode_seconds=10,
)

#: Exception types that are programming errors wherever they appear in an item's detail.
BUG_TYPES = (
    "AttributeError",
    "TypeError",
    "NameError",
    "UnboundLocalError",
    "AssertionError",
    "RecursionError",
    "SystemError",
)

#: Keys generator parsers look for (PNG text keywords, EXIF and XMP fields as extracted).
GENERATOR_KEYS = (
    "parameters", "UserComment", "ImageDescription", "Description", "xmp:description",
    "Comment", "Dream", "Software", "invokeai_metadata", "redbicycle", "sd-metadata",
    "xmp:UserComment", "Source", "fooocus_scheme", "MakerNote", "xmp:CreatorTool",
    "prompt", "workflow", "generation_data", "Title",
)  # fmt: skip


#: Bank formats and container kinds with a target each.
BANK_FORMATS = ("auto", "csv", "vics", "pdq", "plain", "vpdq")
CONTAINERS = ("zip", "tar", "gz", "7z", "warc")


class Finding(AssertionError):
    """Verisight mishandled an input: the message says how."""


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]


# ------------------------------------------------------------------ oracles


def _check_problems(problems: Iterable[ParseProblem]) -> None:
    for p in problems:
        if "internal error" in p.message or p.message.startswith("XMP unreadable"):
            raise Finding(f"{p.source}: {p.message}")


def _check_record(data: bytes) -> None:
    record = analyse_bytes(data, LIMITS)
    if record.error is not None and record.error.reason == Reason.INTERNAL:
        raise Finding(f"internal-error: {record.error.detail}")
    if record.provenance is not None:
        _check_problems(record.provenance.parse_errors)


def _provenance(mime: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        _check_problems(extract_provenance(data, mime, limits=DEFAULT_LIMITS).parse_errors)

    return run


def _generators(data: bytes) -> None:
    """Split the input into keyed texts (first byte of each picks the key) for every parser."""
    entries = []
    for chunk in data.split(b"\x00\x00")[:8]:
        if not chunk:
            continue
        key = GENERATOR_KEYS[chunk[0] % len(GENERATOR_KEYS)]
        text = chunk[1:].decode("utf-8", "replace")
        entries.append(TextEntry(key, text, f"fuzz {key}"))
    meta = Metadata(entries)
    for parser in PARSERS:
        with contextlib.suppress(MetadataError):
            parser.parse(meta, ParseContext(DEFAULT_LIMITS))


def _bank(fmt: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            for _ in read_bank(io.BytesIO(data), fmt, name="fuzz"):
                pass
        except MatchingError:
            pass

    return run


def _container(kind: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        prov = Provenance(("/fuzz/input",))
        ctx = Context.for_top_level(LIMITS)
        for item in open_container(io.BytesIO(data), kind, prov, 0, ctx, data=data):
            error = item.error
            if error is None:
                continue
            if error.reason == Reason.INTERNAL or error.detail.startswith(BUG_TYPES):
                raise Finding(
                    f"{' › '.join(item.provenance.chain)}: {error.reason}: {error.detail}"
                )

    return run


# ------------------------------------------------------------------ seeds (generated, benign)


@cache
def _builders() -> tuple[Any, Any]:
    from tests.provenance import builders as pb
    from tests.sources import builders as sb

    return pb, sb


def _image_seeds() -> list[bytes]:
    pb, _ = _builders()
    params = "a red cube on a table\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: m"
    return [
        pb.png_text({"parameters": params}),
        pb.png_text(
            {"prompt": json.dumps({"1": {"class_type": "KSampler", "inputs": {}}})},
            ztxt=("prompt",),
        ),
        pb.jpeg(
            exif=pb.exif_bytes(user_comment=b"ASCII\x00\x00\x00" + params.encode()),
            xmp=pb.xmp_source_type("trainedAlgorithmicMedia"),
        ),
        pb.webp(exif=pb.exif_bytes(taken="2024:01:02 03:04:05")),
        pb.save(pb.shapes(24, 16), "GIF"),
    ]


def _xmp_seeds() -> list[bytes]:
    pb, _ = _builders()
    return [pb.jpeg(xmp=pb.xmp_packet(description="dc:description='a blue sphere'"))]


def _generator_seeds() -> list[bytes]:
    def entry(key: str, text: str) -> bytes:
        return bytes([GENERATOR_KEYS.index(key)]) + text.encode()

    graph = {
        "3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
    }
    return [
        entry(
            "parameters",
            "a grey cylinder\nNegative prompt: blur\nSteps: 30, Seed: 7, Size: 512x512",
        ),
        entry("prompt", json.dumps(graph))
        + b"\x00\x00"
        + entry("workflow", json.dumps({"nodes": []})),
        entry("invokeai_metadata", json.dumps({"positive_prompt": "a box", "seed": 3})),
        entry("sd-metadata", json.dumps({"image": {"prompt": [{"prompt": "a cone"}], "seed": 2}})),
        entry("Comment", json.dumps({"prompt": "a torus", "steps": 10, "seed": 1})),
    ]


def _bank_seeds() -> list[bytes]:
    md5, sha1, sha256, pdq = "0" * 31 + "1", "ab" * 20, "cd" * 32, "f" * 64
    vics = {"odata.metadata": "http://localhost/$metadata#Cases", "value": [{"Media": [
        {"MD5": md5, "SHA1": sha1, "Category": 1, "MediaID": 7,
         "AlternativeHashes": [{"HashName": "SHA256", "HashValue": sha256}]}]}]}  # fmt: skip
    return [
        f"# list\n{md5}\n{sha1}\n".encode(),
        f"md5,sha1,sha256,pdq,label\n{md5},{sha1},{sha256},{pdq},neutral\n".encode(),
        f"pdq {pdq}\n{pdq},100\n".encode(),
        json.dumps(vics).encode(),
        f"{sha256}\n".encode(),
    ]


def _container_seeds(kind: str) -> Callable[[], list[bytes]]:
    def seeds() -> list[bytes]:
        pb, sb = _builders()
        files = {"a/one.png": pb.png_text({"parameters": "a cube"}), "b.txt": b"hello"}
        if kind == "zip":
            return [sb.make_zip(files)]
        if kind == "tar":
            return [sb.make_tar(files)]
        if kind == "gz":
            return [sb.make_tar(files, "w:gz")]
        if kind == "7z":
            return [sb.make_7z(files)]
        from warcio.warcwriter import WARCWriter

        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=False)
        sb.http_response(writer, "https://example.invalid/a.png", files["a/one.png"], "image/png")
        sb.http_response(writer, "https://example.invalid/", b"<html></html>", "text/html")
        return [buf.getvalue()]

    return seeds


def _video_seeds() -> list[bytes]:
    from verisight.demo_video import make_video

    return [make_video(1.0, fps=4, size=(64, 48), seed=3, scene_seconds=0.5)]


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("image", _check_record, _image_seeds),
        Target("provenance-png", _provenance("image/png"), _image_seeds),
        Target("provenance-jpeg", _provenance("image/jpeg"), _image_seeds),
        Target("provenance-webp", _provenance("image/webp"), _image_seeds),
        Target("xmp", _provenance("image/jpeg"), _xmp_seeds),
        Target("generators", _generators, _generator_seeds),
        *(Target(f"bank-{fmt}", _bank(fmt), _bank_seeds) for fmt in BANK_FORMATS),
        *(Target(f"container-{k}", _container(k), _container_seeds(k)) for k in CONTAINERS),
        Target("video", _check_record, _video_seeds),
    )
}  # fmt: skip
