"""Provenance through a scan: verdicts, evidence and generator records in `verisight media list
--json`, generator intelligence (`verisight intel`), and the optional ONNX detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import write_images
from verisight.case import Case, media_json
from verisight.cli import app
from verisight.intel import import_models, match_terms, models, read_terms
from verisight.store.intel import IntelStore

runner = CliRunner()
EXPECTED = {
    "comfy_flux_depth_lora.png": ("ai-declared", "flux1-dev.safetensors"),
    "sdparsers_a1111_cropped.png": ("ai-declared", "realistic_realisticVisionV20_v20"),
    "sdparsers_invokeai_metadata.png": ("ai-declared", "juggernautXL"),
    "c2pars_C_created_algorithmicMedia.jpg": ("ai-declared", None),
    "c2pars_no_manifest_negative.jpg": ("none", None),
    "c2pars_canon_rebel_t3_no_c2pa.jpg": ("camera-declared", None),
    "synthetic_iptc_dst_trainedAlgorithmicMedia.png": ("ai-declared", None),
}


@pytest.fixture
def scanned(shared_testdata: Path, tmp_path: Path, database_url: str) -> Case:
    case = Case(tmp_path / "case", database_url, create=True)
    for sub in ("ai_metadata", "c2pa", "real_exif", "synthetic"):
        case.scan([shared_testdata / sub], workers=1)
    return case


def test_media_json_carries_provenance(scanned: Case) -> None:
    by_name = {Path(m.sightings[0].path).name: media_json(m) for m in scanned.media()}
    for name, (verdict, model) in EXPECTED.items():
        j = by_name[name]
        assert j["provenance"] == verdict, name
        assert {"evidence", "generator", "c2pa"} <= j.keys()
        assert (j["generator"] or {}).get("model_name") == model, name
        if verdict != "none":
            assert j["evidence"], name
    bad = by_name["c2pars_XCA_datahash_mismatch.jpg"]
    assert bad["c2pa"]["state"] == "invalid" and bad["provenance_conflict"] is True
    scanned.close()


def test_intel_models_terms_and_aliases(scanned: Case, tmp_path: Path) -> None:
    store = IntelStore(scanned.store.engine)
    uses = models(store)
    top = uses[0]
    assert (top.name, top.hash, top.media) == ("realistic_realisticVisionV20_v20", "c0d1994c73", 2)
    assert any(u.kind == "lora" and u.name == "flux1-depth-dev-lora.safetensors" for u in uses)
    assert all(u.first_seen is not None and u.places for u in uses)
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("hash,name,url\nc0d1994c73ffee,Known checkpoint,https://example.org\n")
    assert import_models(store, csv_file) == 1
    assert models(store)[0].to_json()["alias"] == {
        "name": "Known checkpoint",
        "url": "https://example.org",
    }
    terms = tmp_path / "terms.txt"
    terms.write_text("# neutral test terms\nSHARK\nthe se\nＳｅａ\n")  # fullwidth "Sea"
    assert read_terms(terms) == ["sea", "shark", "the se"]
    hits = list(match_terms(store, read_terms(terms)))
    assert len(hits) == 1 and hits[0][2] == ["sea", "shark"]  # "the se" is not a whole word
    scanned.close()


def test_detector_scores_every_image(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="the onnx package builds the test model")
    from tests.provenance.test_detector import linear_model

    model = linear_model(tmp_path / "tiny.onnx")
    write_images(tmp_path / "src", 3)
    res = runner.invoke(
        app, ["scan", str(tmp_path / "src"), "--case", str(tmp_path / "case"), "-w", "2",
              "--detector", str(model)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["media", "list", "--case", str(tmp_path / "case"), "--json"])
    scores = [json.loads(x)["detector_score"] for x in listed.stdout.splitlines()]
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    bad = runner.invoke(
        app, ["scan", str(tmp_path / "src"), "--case", str(tmp_path / "c2"), "--detector",
              str(tmp_path / "junk.onnx")],
    )  # fmt: skip
    assert bad.exit_code == 1 and "junk.onnx" in bad.output


def test_report_names_models_by_imported_alias(scanned: Case, tmp_path: Path) -> None:
    from verisight.reports.statistics import build_report, period_spec
    from verisight.store.reporting import ReportingStore

    store = IntelStore(scanned.store.engine)
    # a model recorded by hash only gets its alias name in reports
    with scanned.store.engine.begin() as conn:
        import sqlalchemy as sa

        conn.execute(
            sa.text("UPDATE media SET generator_model = 'c0d1994c73' WHERE generator_model = "
                    "'realistic_realisticVisionV20_v20'")
        )  # fmt: skip
    (tmp_path / "m.csv").write_text("c0d1994c73ffee,Known checkpoint\n")
    import_models(store, tmp_path / "m.csv")
    report = build_report(ReportingStore(scanned.store.engine), period_spec(None, None))
    top = report.to_json()["figures"]["top_generator_models"]["value"]
    assert top["Known checkpoint (c0d1994c73)"] == 2
    scanned.close()
