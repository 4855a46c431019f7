"""Hostile and damaged metadata: always a recorded parse problem, never an exception or a hang.

Sizes are bounded by limits rather than by time: the 100 MB chunk test measures the memory the
extractor allocates (tracemalloc), which shows the chunk was stepped over, not read.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tests.media.images import TESTDATA, TESTDATA_MISSING
from tests.provenance import builders as b
from verisight.analysis import analyse_bytes
from verisight.analysis.provenance import ProvenanceLimits, ProvenanceReport, extract_provenance
from verisight.limits import Limits


def problems(report: ProvenanceReport) -> list[str]:
    return [f"{p.source}: {p.message}" for p in report.parse_errors]


def assert_no_internal_error(report: ProvenanceReport) -> None:
    assert not any("internal error" in p for p in problems(report)), problems(report)


# ----------------------------------------------------------------------- container damage


def test_png_chunk_running_past_the_end() -> None:
    data = b.png_with_chunks(b.png_chunk(b"tEXt", b"parameters\x00Steps: 1, Seed: 2"))
    cut = data[: 8 + 25 + 20]  # inside the text chunk
    report = extract_provenance(cut, "image/png")
    assert any("runs past the end" in p for p in problems(report))
    assert report.generator is None


def test_png_text_chunk_without_keyword_separator() -> None:
    data = b.png_with_chunks(b.png_chunk(b"tEXt", b"parameters-without-nul"))
    report = extract_provenance(data, "image/png")
    assert any("no keyword separator" in p for p in problems(report))


def test_ztxt_with_corrupt_stream_and_itxt_truncated() -> None:
    data = b.png_with_chunks(
        b.png_chunk(b"zTXt", b"parameters\x00\x00not-zlib-data"),
        b.png_chunk(b"iTXt", b"parameters\x00\x01"),
    )
    report = extract_provenance(data, "image/png")
    msgs = problems(report)
    assert any(m.startswith("PNG zTXt parameters") for m in msgs)
    assert any(m.startswith("PNG iTXt parameters") and "truncated" in m for m in msgs)


def test_ztxt_decompression_bomb_is_refused() -> None:
    bomb = b"parameters\x00\x00" + __import__("zlib").compress(b"a" * (20 << 20), 9)
    data = b.png_with_chunks(b.png_chunk(b"zTXt", bomb))
    report = extract_provenance(data, "image/png")
    assert any("decompresses to more than" in p for p in problems(report))


def test_hundred_megabyte_text_chunk_is_stepped_over() -> None:
    body = b"parameters\x00" + b"a red bicycle " * ((100 << 20) // 14)
    data = b.png_with_chunks(b.png_chunk(b"tEXt", body))
    tracemalloc.start()
    try:
        report = extract_provenance(data, "image/png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"extractor allocated {peak:,} bytes: the chunk was read"
    assert any("exceeds the 8,388,608-byte limit; not read" in p for p in problems(report))
    # The whole item still gets a record (Pillow refuses the text; provenance is kept).
    record = analyse_bytes(data, Limits())
    assert record.provenance is not None
    assert record.provenance.parse_errors == report.parse_errors


def test_total_text_budget() -> None:
    limits = ProvenanceLimits(max_text_bytes=1000, max_total_text_bytes=1500)
    chunks = [b.png_chunk(b"tEXt", f"k{i}\x00".encode() + b"x" * 900) for i in range(3)]
    report = extract_provenance(b.png_with_chunks(*chunks), "image/png", limits=limits)
    assert any("total metadata exceeds 1,500 bytes" in p for p in problems(report))


def test_truncated_jpeg_segment_and_garbage_exif() -> None:
    good = b.jpeg(b.exif_bytes(user_comment=b"ASCII\x00\x00\x00Steps: 1, Seed: 1"))
    report = extract_provenance(good[:40], "image/jpeg")
    assert any("runs past the end" in p for p in problems(report))
    garbage = (
        b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", 2 + 6 + 8) + b"Exif\x00\x00" + b"\x00" * 8
    )
    report = extract_provenance(garbage + b"\xff\xd9", "image/jpeg")
    assert any(p.startswith("EXIF:") for p in problems(report))


def test_webp_chunk_running_past_the_end() -> None:
    data = b.webp(b.exif_bytes(user_comment=b"ASCII\x00\x00\x00Steps: 1, Seed: 1"))
    pos = data.index(b"EXIF")
    report = extract_provenance(data[: pos + 12], "image/webp")
    assert any("runs past the end" in p for p in problems(report))


def test_every_container_survives_random_damage() -> None:
    rng = random.Random(1234)
    samples = [
        (b.png_text({"parameters": "a red bicycle\nSteps: 3, Seed: 4"}), "image/png"),
        (b.comfy_png(b.flux_graph()), "image/png"),
        (b.save(b.stealth(b.shapes(40, 40, "RGBA"), "Steps: 1, Seed: 2"), "PNG"), "image/png"),
        (
            b.jpeg(b.exif_bytes(user_comment=b.user_comment_unicode("Steps: 1, Seed: 2"))),
            "image/jpeg",
        ),
        (
            b.webp(b.exif_bytes(ifd0={0x0110: "prompt:{}"}), xmp=b.xmp_source_type("x")),
            "image/webp",
        ),
        (b.save(b.shapes(), "TIFF"), "image/tiff"),
    ]
    for data, mime in samples:
        for _ in range(60):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            cut = len(mutated) if rng.random() < 0.7 else rng.randrange(len(mutated))
            assert_no_internal_error(extract_provenance(bytes(mutated[:cut]), mime))


# ------------------------------------------------------------------------------- JSON/graphs


def test_invalid_json_prompt_falls_back_to_workflow() -> None:
    workflow = {
        "nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["m.ckpt"]}]
    }
    data = b.comfy_png('{"3": {"class_type": "KSampler", "inputs": {', workflow)
    report = extract_provenance(data, "image/png")
    assert any(p.startswith("PNG tEXt prompt: invalid JSON") for p in problems(report))
    assert report.generator is not None and report.generator.model_name == "m.ckpt"


def test_invalid_json_everywhere_is_recorded_not_claimed() -> None:
    data = b.png_text(
        {"prompt": "{nope", "invokeai_metadata": "{", "parameters": '{"sui_image_params": ['}
    )
    report = extract_provenance(data, "image/png")
    sources = {p.source for p in report.parse_errors}
    assert {"PNG tEXt prompt", "PNG tEXt invokeai_metadata", "PNG tEXt parameters"} <= sources
    assert report.generator is None and report.provenance == "none"


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    data = b.comfy_png("{" + '"a":[' * 200_000 + "]" * 200_000 + "}")
    report = extract_provenance(data, "image/png")
    assert any("nested too deeply" in p or "invalid JSON" in p for p in problems(report))


def test_cyclic_graph_ends() -> None:
    graph = {
        "1": {
            "class_type": "LoraLoader",
            "inputs": {"lora_name": "a.safetensors", "model": ["2", 0]},
        },
        "2": {
            "class_type": "LoraLoader",
            "inputs": {"lora_name": "b.safetensors", "model": ["1", 0]},
        },
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 7,
                "model": ["1", 0],
                "positive": ["4", 0],
                "latent_image": ["3", 0],
            },
        },
        "4": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["4", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}},
    }
    report = extract_provenance(b.comfy_png(graph), "image/png")
    gen = report.generator
    assert gen is not None and gen.seed == 7
    assert [lo.name for lo in gen.loras] == ["a.safetensors", "b.safetensors"]
    assert_no_internal_error(report)


def test_graph_over_the_node_limit_is_refused() -> None:
    graph = {str(i): {"class_type": "Note", "inputs": {}} for i in range(25_000)}
    report = extract_provenance(b.comfy_png(graph), "image/png")
    assert any("25,000 nodes; the limit is 20,000" in p for p in problems(report))
    assert report.generator is None


def test_long_chain_stops_at_the_step_budget() -> None:
    n = 19_000
    graph = {
        str(i): {
            "class_type": "LoraLoader",
            "inputs": {"lora_name": f"l{i}", "model": [str(i + 1), 0]},
        }
        for i in range(n)
    }
    graph[str(n)] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "deep.ckpt"}}
    graph["s"] = {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["0", 0]}}
    limits = ProvenanceLimits(max_graph_steps=5_000)
    gen = extract_provenance(b.comfy_png(graph), "image/png", limits=limits).generator
    assert gen is not None and gen.seed == 1
    assert len(gen.loras) == 64  # kept items are capped too
    assert "deep.ckpt" not in gen.models  # beyond the budget


# ----------------------------------------------------------------------------- EXIF text


def test_invalid_utf16_user_comment() -> None:
    lone_low_surrogate = b"\xdc\x00"
    raw = b"UNICODE\x00" + lone_low_surrogate + "Steps: 5, Seed: 6".encode("utf-16-be")
    report = extract_provenance(b.jpeg(b.exif_bytes(user_comment=raw)), "image/jpeg")
    assert any("EXIF UserComment: invalid UTF-16" in p for p in problems(report))
    gen = report.generator  # what could be decoded is still read
    assert gen is not None and gen.seed == 6


# ------------------------------------------------------------------------------------ XMP


def test_xmp_with_entities_is_refused() -> None:
    laughs = (
        "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
        + b.xmp_source_type("trainedAlgorithmicMedia").replace("trainedAlgorithmicMedia", "&b;")
    )
    report = extract_provenance(b.jpeg(xmp=laughs), "image/jpeg")
    assert any("declares a DTD; refused" in p for p in problems(report))
    assert report.provenance == "none"


def test_malformed_xmp_still_yields_its_source_type() -> None:
    broken = b.xmp_source_type("trainedAlgorithmicMedia").replace("</rdf:RDF>", "<rdf:oops>")
    report = extract_provenance(
        b.png_text({"XML:com.adobe.xmp": broken}, itxt=("XML:com.adobe.xmp",)), "image/png"
    )
    assert any("not well-formed XML" in p for p in problems(report))
    assert report.provenance == "ai-declared"
    assert report.evidence[0].source.endswith("(pattern match)")


def test_oversized_xmp_is_not_parsed() -> None:
    packet = b.xmp_packet(body="<dc:description>" + "x" * 5000 + "</dc:description>")
    limits = ProvenanceLimits(max_xmp_bytes=1000)
    report = extract_provenance(b.jpeg(xmp=packet), "image/jpeg", limits=limits)
    assert any("XMP packet exceeds 1,000" in p for p in problems(report))


# -------------------------------------------------------------------------------- stealth


def _stealth_bits(sig: bytes, nbits: int, payload: bytes) -> np.ndarray:
    return np.concatenate(
        [
            np.unpackbits(np.frombuffer(sig, np.uint8)),
            np.unpackbits(np.frombuffer(struct.pack(">I", nbits), np.uint8)),
            np.unpackbits(np.frombuffer(payload, np.uint8)),
        ]
    )


@pytest.mark.parametrize(
    ("nbits", "payload", "message"),
    [
        (8 * 10_000, b"abc", "runs past the image"),
        (8 * (2 << 20), b"abc", "exceeds 1,048,576; not read"),
        (13, b"abc", "invalid payload length 13 bits"),
    ],
)
def test_stealth_bad_length(nbits: int, payload: bytes, message: str) -> None:
    bits = _stealth_bits(b"stealth_pnginfo", nbits, payload)
    data = b.save(b.set_lsb_bits(b.shapes(40, 40, "RGBA"), bits, "alpha"), "PNG")
    report = extract_provenance(data, "image/png")
    assert any(message in p for p in problems(report)), problems(report)


def test_stealth_bad_gzip_and_gzip_bomb() -> None:
    bad = b"\x1f\x8b\x08\x00garbage!"
    data = b.save(b.stealth(b.shapes(60, 60, "RGBA"), bad, compressed=False), "PNG")
    # a "comp" signature with a payload that is not gzip
    bits = _stealth_bits(b"stealth_pngcomp", len(bad) * 8, bad)
    data = b.save(b.set_lsb_bits(b.shapes(60, 60, "RGBA"), bits, "alpha"), "PNG")
    assert any("gzip payload" in p for p in problems(extract_provenance(data, "image/png")))
    bomb = gzip.compress(b"a" * (4 << 20))
    bits = _stealth_bits(b"stealth_pngcomp", len(bomb) * 8, bomb)
    data = b.save(b.set_lsb_bits(b.shapes(400, 400, "RGBA"), bits, "alpha"), "PNG")
    report = extract_provenance(data, "image/png")
    assert any("decompresses to more than 1,048,576" in p for p in problems(report))


def test_stealth_in_an_interlaced_png_uses_the_slow_path() -> None:
    text = "mountain landscape\nSteps: 9, Seed: 10"
    im = b.stealth(b.shapes(64, 64, "RGBA"), text)
    interlaced = b.save(im, "PNG", interlace=1)
    gen = extract_provenance(interlaced, "image/png").generator
    assert gen is not None and gen.seed == 10


def test_lossless_webp_without_alpha_is_not_decoded_for_stealth() -> None:
    """No cheap check exists for WebP: only lossless WebP with alpha is decoded (documented)."""
    hidden = b.stealth(b.shapes(50, 50), "Steps: 1, Seed: 1", mode="rgb")
    report = extract_provenance(b.save(hidden, "WEBP", lossless=True), "image/webp")
    assert report.generator is None and report.parse_errors == ()


def test_opaque_rgba_and_plain_png_have_no_stealth() -> None:
    for data in (b.save(b.shapes(200, 150, "RGBA"), "PNG"), b.save(b.shapes(7, 3), "PNG")):
        report = extract_provenance(data, "image/png")
        assert report.generator is None and report.parse_errors == ()


def test_stealth_too_many_pixels_is_refused() -> None:
    data = b.save(b.stealth(b.shapes(64, 64, "RGBA"), "Steps: 1, Seed: 1"), "PNG")
    limits = ProvenanceLimits(max_stealth_pixels=1000)
    report = extract_provenance(data, "image/png", limits=limits)
    assert any("exceeds 1,000 pixels" in p for p in problems(report))


# ----------------------------------------------------------------------------------- C2PA


def _c2pa_fixture() -> bytes:
    path = TESTDATA / "c2pa" / "c2pars_C_created_algorithmicMedia.jpg"
    if not path.is_file():
        pytest.skip(TESTDATA_MISSING)
    return path.read_bytes()


@pytest.mark.parametrize("box", ["description", "manifest"])
def test_broken_jumbf_boxes_in_a_real_manifest(box: str) -> None:
    data = bytearray(_c2pa_fixture())
    app11 = data.index(b"\xff\xeb")
    if box == "description":  # the store's jumd box claims 3 bytes (less than its header)
        pos = data.index(b"jumd", app11) - 4
    else:  # the first manifest's jumb box claims 5 bytes
        pos = data.index(b"jumb", app11 + 30) - 4
    data[pos : pos + 4] = b"\x00\x00\x00\x03" if box == "description" else b"\x00\x00\x00\x05"
    report = extract_provenance(bytes(data), "image/jpeg")
    assert report.c2pa is not None and report.c2pa.state == "unreadable"
    assert report.c2pa.error
    assert [p.source for p in report.parse_errors] == ["C2PA (JPEG APP11 JUMBF)"]
    assert report.provenance == "none" and not report.conflict


def test_garbage_after_a_valid_jumbf_header() -> None:
    header = (
        b"JP\x02\x11\x00\x00\x00\x01"
        + struct.pack(">I", 8 + 40 + 64)
        + b"jumb"
        + struct.pack(">I", 8 + 16 + 1 + 5)
        + b"jumd"
        + bytes.fromhex("6332706100110010800000AA00389B71")
        + b"\x03c2pa\x00"
        + bytes(range(64))
    )
    segment = b"\xff\xeb" + struct.pack(">H", len(header) + 2) + header
    base = b.jpeg()
    data = base[:2] + segment + base[2:]
    report = extract_provenance(data, "image/jpeg")
    assert report.c2pa is not None and report.c2pa.state == "unreadable"
    assert report.c2pa.error and any(p.source.startswith("C2PA") for p in report.parse_errors)
    assert report.provenance == "none"


def test_garbage_cabx_chunk_in_png() -> None:
    data = b.png_with_chunks(b.png_chunk(b"caBX", b"\x00\x00\x00\x10jumbgarbagegarbage"))
    report = extract_provenance(data, "image/png")
    assert report.c2pa is not None and report.c2pa.state == "unreadable"
    assert_no_internal_error(report)


def test_damaged_fixture_bytes_never_raise(tmp_path: Path) -> None:
    data = _c2pa_fixture()
    rng = random.Random(7)
    for _ in range(25):
        mutated = bytearray(data)
        for _ in range(4):
            pos = rng.randrange(20, 45_000)  # inside the manifest store
            mutated[pos] = rng.randrange(256)
        report = extract_provenance(bytes(mutated), "image/jpeg")
        assert report.c2pa is not None
        assert_no_internal_error(report)


def test_json_of_damaged_reports_round_trips() -> None:
    data = b.comfy_png('{"1": ')
    report = extract_provenance(data, "image/png")
    assert ProvenanceReport.from_json(json.loads(json.dumps(report.to_json()))) == report


def test_hostile_numbers_and_nul_characters_give_storable_json() -> None:
    big_id = "9" * 5000
    graph = (
        "{"
        f'"{big_id}": {{"class_type": "KSampler", "inputs": {{"seed": Infinity, "steps": NaN, '
        f'"cfg": -Infinity, "model": ["2", 0], "positive": ["3", 0]}}}}, '
        '"2": {"class_type": "LoraLoader", "inputs": {"lora_name": "a\\u0000b", '
        '"strength_model": Infinity}}, '
        '"3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red\\u0000 bicycle"}}'
        "}"
    )
    params = "a red\x00 bicycle\nSteps: 1, Seed: 2, CFG scale: nan, Model: m\x00m"
    for data in (b.comfy_png(graph), b.png_text({"parameters": params})):
        report = extract_provenance(data, "image/png")
        assert_no_internal_error(report)
        assert report.generator is not None
        assert "\\x00" not in repr(report.generators)  # the records themselves are clean
        doc = report.to_json()
        json.dumps(doc, allow_nan=False)  # no NaN or infinity
        assert not any("\x00" in text for text in _strings(doc))  # PostgreSQL refuses NUL


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
