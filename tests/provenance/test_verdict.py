"""The verdict's precedence rules and conflicts, on generated files and on normalised reports."""

from __future__ import annotations

import json

import pytest

from tests.provenance import builders as b
from verisight.analysis import analyse_bytes
from verisight.analysis.provenance import (
    C2paReport,
    Evidence,
    ProvenanceReport,
    extract_provenance,
)
from verisight.analysis.provenance.c2pa_reader import OFFLINE_SETTINGS, report_from_store
from verisight.analysis.provenance.verdict import decide
from verisight.limits import Limits

CAMERA_EXIF = {0x010F: "Acme", 0x0110: "Field Camera 7"}
PARAMS = "a red bicycle\nSteps: 20, Sampler: Euler, Seed: 12, Model: m"


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("trainedAlgorithmicMedia", "ai-declared"),
        ("algorithmicMedia", "ai-declared"),
        ("compositeWithTrainedAlgorithmicMedia", "ai-edited"),
        ("compositeSynthetic", "ai-edited"),
        ("digitalCapture", "camera-declared"),
        ("computationalCapture", "camera-declared"),
        ("negativeFilm", "camera-declared"),
        ("digitalArt", "none"),
        ("algorithmicallyEnhanced", "none"),
        ("screenCapture", "none"),
    ],
)
@pytest.mark.parametrize("container", ["jpeg", "webp", "png"])
def test_iptc_digital_source_type(code: str, verdict: str, container: str) -> None:
    packet = b.xmp_source_type(code)
    if container == "png":
        data = b.png_text({"XML:com.adobe.xmp": packet}, itxt=("XML:com.adobe.xmp",))
    else:
        data = b.jpeg(xmp=packet) if container == "jpeg" else b.webp(xmp=packet)
    report = extract_provenance(data, f"image/{container}")
    assert report.provenance == verdict
    assert [(e.kind, e.value) for e in report.evidence] == [("iptc-source-type", code)]
    assert report.parse_errors == ()


def test_source_type_as_attribute_and_resource() -> None:
    for desc, body in (
        (f"Iptc4xmpExt:DigitalSourceType='{b.IPTC}trainedAlgorithmicMedia'", ""),
        ("", f"<Iptc4xmpExt:DigitalSourceType rdf:resource='{b.IPTC}digitalCapture'/>"),
    ):
        report = extract_provenance(
            b.jpeg(xmp=b.xmp_packet(description=desc, body=body)), "image/jpeg"
        )
        assert len(report.evidence) == 1 and report.parse_errors == ()


def test_camera_exif_alone_is_camera_declared() -> None:
    data = b.jpeg(b.exif_bytes(ifd0=CAMERA_EXIF, gps=True, taken="2021:05:06 07:08:09"))
    report = extract_provenance(data, "image/jpeg")
    assert report.provenance == "camera-declared" and not report.conflict
    assert report.camera is not None and report.camera.gps
    assert report.camera.taken == "2021-05-06T07:08:09"
    (ev,) = report.evidence
    assert (ev.kind, ev.value, ev.signal) == ("camera-exif", "Acme Field Camera 7", "capture")


def test_date_without_make_or_model_is_not_a_camera() -> None:
    report = extract_provenance(b.jpeg(b.exif_bytes(taken="2021:05:06 07:08:09")), "image/jpeg")
    assert report.provenance == "none"
    assert [e.signal for e in report.evidence] == ["info"]


def test_camera_exif_and_generation_parameters_conflict() -> None:
    exif = b.exif_bytes(ifd0=CAMERA_EXIF, user_comment=b.user_comment_unicode(PARAMS))
    report = extract_provenance(b.jpeg(exif), "image/jpeg")
    assert report.provenance == "ai-declared"
    assert report.conflict
    (reason,) = report.conflict_reasons
    assert "EXIF Make/Model" in reason and "EXIF UserComment" in reason


def test_ai_edit_on_a_camera_photo_is_not_a_conflict() -> None:
    data = b.jpeg(
        b.exif_bytes(ifd0=CAMERA_EXIF),
        xmp=b.xmp_source_type("compositeWithTrainedAlgorithmicMedia"),
    )
    report = extract_provenance(data, "image/jpeg")
    assert report.provenance == "ai-edited" and not report.conflict


def test_capture_source_type_with_generated_source_type_conflicts() -> None:
    packet = b.xmp_packet(
        description=f"Iptc4xmpExt:DigitalSourceType='{b.IPTC}digitalCapture'",
        body=f"<Iptc4xmpExt:DigitalSourceType>{b.IPTC}trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>",
    )
    report = extract_provenance(b.jpeg(xmp=packet), "image/jpeg")
    assert report.provenance == "ai-declared" and report.conflict


def test_remote_manifest_is_recorded_not_fetched() -> None:
    url = "https://manifests.example.invalid/abc.c2pa"
    data = b.jpeg(xmp=b.xmp_packet(description=f"dcterms:provenance='{url}'"))
    report = extract_provenance(data, "image/jpeg")
    assert report.c2pa == C2paReport(state="remote", embedded=False, remote_url=url)
    assert [(e.kind, e.value) for e in report.evidence] == [("c2pa-reference", url)]
    assert report.provenance == "none" and report.parse_errors == ()
    assert OFFLINE_SETTINGS["verify"] == {"remote_manifest_fetch": False, "ocsp_fetch": False}


def _store(
    dst: str, action: str = "c2pa.created", ingredient_dst: str | None = None
) -> dict[str, object]:
    manifests: dict[str, object] = {
        "urn:active": {
            "claim_generator_info": [{"name": "Example Generator", "version": "3"}],
            "signature_info": {"issuer": "Example CA", "time": "2025-01-01T00:00:00+00:00"},
            "ingredients": [{"title": "parent.jpg"}] if ingredient_dst else [],
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": action,
                                "digitalSourceType": f"{b.IPTC}{dst}",
                                "softwareAgent": {"name": "Example Generator"},
                            },
                            {"action": "c2pa.resized"},
                        ]
                    },
                }
            ],
        }
    }
    if ingredient_dst:
        manifests["urn:parent"] = {
            "claim_generator": "Camera/1.0",
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": f"{b.IPTC}{ingredient_dst}",
                            }
                        ]
                    },
                }
            ],
        }
    return {
        "active_manifest": "urn:active",
        "manifests": manifests,
        "validation_results": {
            "activeManifest": {"failure": [{"code": "signingCredential.untrusted", "url": "u"}]}
        },
    }


def _verdict(store: dict[str, object], state: str = "Valid") -> ProvenanceReport:
    from verisight.analysis.provenance.verdict import build_report

    c2pa = report_from_store(store, state)
    return build_report(
        generators=[],
        c2pa=c2pa,
        c2pa_where="JPEG APP11 JUMBF",
        source_types=[],
        dangling_refs=[],
        camera=None,
        problems=[],
    )


def test_c2pa_trained_algorithmic_media_created() -> None:
    report = _verdict(_store("trainedAlgorithmicMedia"))
    assert report.provenance == "ai-declared" and not report.conflict
    c2pa = report.c2pa
    assert c2pa is not None
    assert c2pa.claim_generator == "Example Generator" and c2pa.signature_issuer == "Example CA"
    assert [(a.action, a.digital_source_type, a.software_agent) for a in c2pa.actions] == [
        ("c2pa.created", "trainedAlgorithmicMedia", "Example Generator"),
        ("c2pa.resized", None, None),
    ]
    assert [p.code for p in c2pa.problems] == ["signingCredential.untrusted"]
    ev = [e for e in report.evidence if e.kind == "c2pa-action"]
    assert [(e.source, e.value, e.signal) for e in ev] == [
        ("C2PA action c2pa.created", "trainedAlgorithmicMedia", "ai-generated")
    ]


def test_c2pa_generative_edit_of_a_capture() -> None:
    store = _store(
        "compositeWithTrainedAlgorithmicMedia", "c2pa.edited", ingredient_dst="digitalCapture"
    )
    report = _verdict(store)
    assert report.provenance == "ai-edited" and not report.conflict
    sources = [e.source for e in report.evidence if e.kind == "c2pa-action"]
    assert sources == ["C2PA action c2pa.edited", "C2PA action c2pa.created (ingredient manifest)"]
    assert report.c2pa is not None and report.c2pa.ingredients == 1


def test_c2pa_invalid_declaration_counts_and_conflicts() -> None:
    store = _store("digitalCapture")
    store["validation_results"] = {
        "activeManifest": {
            "failure": [
                {"code": "signingCredential.untrusted"},
                {"code": "claimSignature.mismatch", "explanation": "claim signature is not valid"},
            ]
        }
    }
    report = _verdict(store, "Invalid")
    assert report.provenance == "camera-declared"
    assert report.conflict_reasons == ("C2PA manifest fails validation: claimSignature.mismatch",)


def test_decide_precedence() -> None:
    def ev(signal: str) -> Evidence:
        return Evidence("k", f"s-{signal}", "v", signal)  # type: ignore[arg-type]

    assert decide([ev("capture"), ev("ai-edited"), ev("ai-generated")], None)[0] == "ai-declared"
    assert decide([ev("capture"), ev("ai-edited")], None) == ("ai-edited", [])
    assert decide([ev("info"), ev("capture")], None) == ("camera-declared", [])
    assert decide([ev("info")], None) == ("none", [])
    assert decide([], C2paReport(state="invalid")) == (
        "none",
        ["C2PA manifest fails validation: no failure code given"],
    )


def test_plain_images_say_none_and_json_shape() -> None:
    for data, mime in (
        (b.jpeg(), "image/jpeg"),
        (b.save(b.shapes(), "PNG"), "image/png"),
        (b.webp(), "image/webp"),
    ):
        report = extract_provenance(data, mime)
        assert report == ProvenanceReport()
        assert report.to_json() == {
            "provenance": "none",
            "evidence": [],
            "conflict": False,
            "conflict_reasons": [],
            "generator": None,
            "generators": [],
            "c2pa": None,
            "camera": None,
            "parse_errors": [],
        }


def test_json_round_trip_of_a_full_report() -> None:
    exif = b.exif_bytes(ifd0=CAMERA_EXIF, user_comment=b.user_comment_unicode(PARAMS), gps=True)
    report = extract_provenance(b.jpeg(exif, xmp=b.xmp_source_type("digitalCapture")), "image/jpeg")
    text = json.dumps(report.to_json())
    assert ProvenanceReport.from_json(json.loads(text)) == report
    c2pa_report = _verdict(_store("trainedAlgorithmicMedia"))
    assert ProvenanceReport.from_json(json.loads(json.dumps(c2pa_report.to_json()))) == c2pa_report


def test_analyse_bytes_fills_provenance_for_images_only() -> None:
    data = b.png_text({"parameters": PARAMS})
    record = analyse_bytes(data, Limits())
    assert record.provenance is not None and record.provenance.provenance == "ai-declared"
    assert analyse_bytes(b"not an image at all", Limits()).provenance is None


def test_analyse_bytes_keeps_provenance_when_pixels_fail() -> None:
    data = b.png_text({"parameters": PARAMS})
    idat = data.index(b"IDAT")
    broken = data[: idat + 10] + b"\x00" * 40 + data[idat + 50 :]
    record = analyse_bytes(broken, Limits())
    assert record.error is not None
    assert record.provenance is not None and record.provenance.provenance == "ai-declared"
