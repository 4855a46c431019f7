"""Typed results across the store boundary: the provenance report, the scan's match summary,
look-up hits and a media's history come back as typed objects whose ``to_json()`` gives the
JSON the CLI has always printed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import write_images
from tests.provenance.builders import png_text
from verisight.analysis.provenance.model import GeneratorInfo, ProvenanceReport
from verisight.banking import LookupHit, MatchSummary
from verisight.case import Case, media_json
from verisight.cli import app
from verisight.matching.signals import HashType

A1111 = (
    "a lighthouse at dusk\nNegative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 96x64, "
    "Model hash: 0123456789, Model: demo-model"
)


def test_provenance_report_is_typed_and_its_json_unchanged(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "gen.png").write_bytes(png_text({"parameters": A1111}))
    with Case(tmp_path / "case", create=True) as case:
        case.scan([src], workers=1)
        (m,) = list(case.media())
        report = m.provenance_report
        assert isinstance(report, ProvenanceReport)
        assert isinstance(report.generator, GeneratorInfo)
        assert (report.provenance, report.generator.seed) == ("ai-declared", 1234)
        j = media_json(m)
        assert j["generator"] == report.generator.to_json()
        assert j["evidence"] == [e.to_json() for e in report.evidence] and j["evidence"]
        assert j["c2pa"] is None
        shown = CliRunner().invoke(app, ["media", "show", m.sha256, "--case", str(case.directory)])
        assert shown.exit_code == 0, shown.output
        assert "provenance: ai-declared" in shown.output
        assert "seed=1234" in shown.output and "model_name=demo-model" in shown.output


def test_scan_match_summary_and_lookup_hits_are_typed(tmp_path: Path) -> None:
    write_images(tmp_path / "src", 2)
    with Case(tmp_path / "case", create=True) as case:
        case.scan([tmp_path / "src"], workers=1)
        media = sorted(case.media(), key=lambda m: m.sha256)
        (tmp_path / "list.csv").write_text(f"md5,label\n{media[0].md5},known\n")
        case.banking.import_file(tmp_path / "list.csv", "hotline")
        write_images(tmp_path / "more", 1, start=0)  # the same content seen again elsewhere
        summary = case.scan([tmp_path / "more"], workers=1)
        assert isinstance(summary.matching, MatchSummary)
        assert summary.to_json()["matching"] == summary.matching.to_json()
        assert summary.to_json()["matching"]["media_matched"] == 1
        (hit,) = list(case.banking.lookup({HashType.MD5: [media[0].md5]}))
        assert isinstance(hit, LookupHit) and hit.entry.row.label == "known"
        assert hit.to_json() == {
            "hash_type": "md5", "query": media[0].md5, "distance": 0, "bank": "hotline",
            "bank_kind": "match", "entry": hit.entry.id, "label": "known", "category": None,
            "source_id": None, "series": None, "victim_identified": None, "comments": None,
            "md5": media[0].md5, "sha1": None, "sha256": None, "pdq": None,
            "location": str(hit.entry.row.location),
        }  # fmt: skip
        res = CliRunner().invoke(
            app, ["lookup", "--md5", media[0].md5, "--json", "--case", str(case.directory)]
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.output) == hit.to_json()
