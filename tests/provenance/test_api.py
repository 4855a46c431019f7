"""The public API of :mod:`verisight.analysis.provenance`, and how analysis wires it in."""

from __future__ import annotations

import io

import pytest

import verisight.analysis.provenance as provenance
from tests.provenance import builders as b
from verisight.analysis import analyse_bytes
from verisight.analysis.provenance import extract_provenance
from verisight.limits import Limits


def test_public_api_is_pinned() -> None:
    assert sorted(provenance.__all__) == sorted(
        [
            "DEFAULT_LIMITS",
            "PARSERS",
            "C2paAction",
            "C2paReport",
            "C2paStatus",
            "CameraEvidence",
            "Evidence",
            "GeneratorInfo",
            "GeneratorParser",
            "Lora",
            "Metadata",
            "MetadataError",
            "ParseContext",
            "ParseProblem",
            "ProvenanceLimits",
            "ProvenanceReport",
            "Signal",
            "Verdict",
            "extract_provenance",
        ]
    )
    for name in provenance.__all__:
        assert getattr(provenance, name) is not None


def test_parser_tools_are_distinct() -> None:
    tools = [p.tool for p in provenance.PARSERS]
    assert len(tools) == len(set(tools))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_camera_exif_comes_from_the_decoder(fmt: str) -> None:
    """The container walk does not open HEIF items; the decoder's EXIF is used instead."""
    exif = b.exif_bytes(ifd0={0x010F: "Acme", 0x0110: "Phone 3"})
    try:
        data = b.save(b.shapes(64, 64), fmt, exif=exif, quality=80)
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"no {fmt} encoder in this installation: {exc}")
    record = analyse_bytes(data, Limits())
    assert record.provenance is not None
    assert record.provenance.provenance == "camera-declared"
    assert record.provenance.camera is not None and record.provenance.camera.model == "Phone 3"


def test_c2pa_reader_runs_offline() -> None:
    """With the reader's settings a remote manifest is never fetched (the SDK says it would
    have to); Verisight does not even call the reader for a remote-only reference."""
    c2pa = pytest.importorskip("c2pa", reason="c2pa-python validates manifests")
    from verisight.analysis.provenance.c2pa_reader import _offline_context, _sdk

    data = b.jpeg(xmp=b.xmp_packet(description="dcterms:provenance='http://127.0.0.1:9/m.c2pa'"))
    with pytest.raises(c2pa.C2paError, match="must fetch remote manifests"):
        c2pa.Reader.try_create("image/jpeg", io.BytesIO(data), None, _offline_context(_sdk()))
    report = extract_provenance(data, "image/jpeg")
    assert report.c2pa is not None and report.c2pa.state == "remote"


def test_reports_cross_process_boundaries() -> None:
    """Scans run analysis in process pools and on Dask: reports must pickle."""
    import pickle

    data = b.comfy_png(b.flux_graph())
    report = extract_provenance(data, "image/png")
    assert pickle.loads(pickle.dumps(report)) == report
    record = analyse_bytes(data, Limits())
    assert pickle.loads(pickle.dumps(record)).provenance == report
