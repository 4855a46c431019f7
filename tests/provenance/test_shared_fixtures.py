"""Every benign shared fixture yields exactly what ``MANIFEST.tsv`` says it carries.

The MANIFEST is parsed here (its ``verified_metadata_tags`` and ``verified_details`` columns),
so a fixture added to the manifest is checked without touching this file, and a fixture added
to one of the folders without a manifest line fails.
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass

import pytest

from tests.media.images import TESTDATA, TESTDATA_MISSING
from verisight.analysis import analyse_bytes
from verisight.analysis.provenance import ProvenanceReport, extract_provenance
from verisight.limits import Limits
from verisight.media.sniff import sniff

FOLDERS = ("ai_metadata", "c2pa", "real_exif", "synthetic")
MANIFEST = TESTDATA / "MANIFEST.tsv"


@dataclass(frozen=True)
class Row:
    file: str
    tags: frozenset[str]
    details: str


def _rows() -> list[Row]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="", encoding="utf-8") as fp:
        rows = [
            Row(
                r["file"],
                frozenset(filter(None, r["verified_metadata_tags"].split("|"))),
                r["verified_details"],
            )
            for r in csv.DictReader(fp, delimiter="\t")
        ]
    return [r for r in rows if r.file.split("/")[0] in FOLDERS]


ROWS = _rows()
pytestmark = pytest.mark.skipif(not TESTDATA.is_dir(), reason=TESTDATA_MISSING)


def _report(row: Row) -> ProvenanceReport:
    data = (TESTDATA / row.file).read_bytes()
    return extract_provenance(data, sniff(data[:512]).mime)


def _fields(details: str) -> dict[str, str]:
    """``"A1111 Sampler=UniPC; Seed=1; Model=x"`` → {"Sampler": "UniPC", ...} (after the tool)."""
    body = details.split(" ", 1)[1] if " " in details else ""
    out: dict[str, str] = {}
    for part in re.split(r";\s*(?=[\w ]+=)", body):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_every_fixture_is_in_the_manifest() -> None:
    listed = {r.file for r in ROWS}
    on_disk = {
        f"{folder}/{p.name}"
        for folder in FOLDERS
        for p in (TESTDATA / folder).iterdir()
        if p.is_file()
    }
    assert on_disk and on_disk <= listed, f"fixtures without a MANIFEST line: {on_disk - listed}"


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_fixture_matches_manifest(row: Row) -> None:
    report = _report(row)
    details = row.details
    ai = False

    # ---- C2PA: present or not, validation state, generator, actions, source types
    c2pa_tag = next(t for t in row.tags if t.startswith("C2PA:"))
    if c2pa_tag == "C2PA:none":
        assert report.c2pa is None
    else:
        assert report.c2pa is not None
        assert report.c2pa.state == c2pa_tag.split(":", 1)[1].lower()
        f = _fields(details)
        assert list(report.c2pa.claim_generator_names) == ast.literal_eval(f["gen"])
        active = [a.action for a in report.c2pa.actions if a.active]
        assert active == ast.literal_eval(f["actions"])
        dst = ast.literal_eval(f["digitalSourceType"])
        assert list(report.c2pa.digital_source_types) == dst
        ai = ai or any("lgorithmicMedia" in d for d in dst)
        assert report.conflict == (c2pa_tag == "C2PA:Invalid")
        if c2pa_tag == "C2PA:Invalid":
            assert any("dataHash.mismatch" in r for r in report.conflict_reasons)

    # ---- generator metadata
    gen = report.generator
    if details.startswith("ComfyUI "):
        f = _fields(details)
        assert gen is not None and gen.tool == "ComfyUI"
        assert list(gen.models) == ast.literal_eval(f["ckpt"])
        assert gen.model_name == ast.literal_eval(f["ckpt"])[0]
        assert [lo.name for lo in gen.loras] == ast.literal_eval(f["loras"])
        assert list(gen.seeds) == ast.literal_eval(f["seeds"])
        assert gen.seed == ast.literal_eval(f["seeds"])[0]
        ai = True
    elif details.startswith("A1111 "):
        f = _fields(details)
        assert gen is not None and gen.tool == "AUTOMATIC1111"
        assert gen.sampler == f["Sampler"]
        assert gen.seed == int(f["Seed"])
        assert f"{gen.width}x{gen.height}" == f["Size"]
        assert gen.model_hash == f["Model hash"]
        assert gen.model_name == f["Model"]
        ai = True
    elif details.startswith("InvokeAI "):
        f = _fields(details)
        assert gen is not None and gen.tool == "InvokeAI"
        assert gen.model_name == ast.literal_eval(f["model"])["model_name"]
        assert gen.seed == int(f["seed"])
        ai = True
    else:
        assert gen is None, f"unexpected generator {gen}"
    assert len(report.generators) == (1 if gen else 0)

    # ---- IPTC / XMP DigitalSourceType
    iptc = [e for e in report.evidence if e.kind == "iptc-source-type"]
    m = re.search(r"DigitalSourceType=(\w+)", details)
    if m and details.startswith("XMP "):
        assert [e.value for e in iptc] == [m.group(1)]
        assert f"IPTC-{m.group(1)}" in row.tags
        ai = ai or m.group(1) in ("trainedAlgorithmicMedia", "algorithmicMedia")
    else:
        assert iptc == []

    # ---- camera EXIF
    m = re.search(r"camera=(.+?); DateTimeOriginal=(\S+ \S+)", details)
    if m:
        cam = report.camera
        assert cam is not None
        assert f"{cam.make} {cam.model}" == m.group(1)
        assert cam.taken == m.group(2).replace(":", "-", 2).replace(" ", "T")
        assert cam.gps == ("GPS" in row.tags)
    else:
        assert report.camera is None or not (report.camera.make or report.camera.model)

    # ---- the verdict those signals give
    expected = "ai-declared" if ai else ("camera-declared" if m else "none")
    assert report.provenance == expected
    assert report.parse_errors == ()


def test_negative_control_is_not_a_manifest() -> None:
    """no_manifest.jpg mentions c2pa in XMP (a dangling reference) but carries no manifest."""
    if not (TESTDATA / "c2pa/c2pars_no_manifest_negative.jpg").is_file():
        pytest.skip(TESTDATA_MISSING)
    report = _report(Row("c2pa/c2pars_no_manifest_negative.jpg", frozenset(), ""))
    assert report.c2pa is None and report.provenance == "none" and not report.conflict
    refs = [e for e in report.evidence if e.kind == "c2pa-reference"]
    assert [e.signal for e in refs] == ["info"] and refs[0].value.startswith("self#jumbf=")


@pytest.mark.parametrize("row", ROWS[:3] + ROWS[7:9], ids=lambda r: r.file)
def test_analyse_bytes_carries_the_same_report(row: Row) -> None:
    data = (TESTDATA / row.file).read_bytes()
    record = analyse_bytes(data, Limits())
    assert record.provenance == _report(row)


def test_manifest_parsed() -> None:
    """Guards against a parametrisation that silently shrinks to nothing."""
    assert len(ROWS) >= 17
