"""From signals to evidence, and from evidence to one verdict with a conflict flag.

Each piece of :class:`~verisight.analysis.provenance.model.Evidence` carries a ``signal``:

==================  ==========================================================================
signal              evidence
==================  ==========================================================================
``ai-generated``    generator metadata of a known tool (A1111, ComfyUI, NovelAI, ...); a
                    DigitalSourceType (C2PA action or IPTC/XMP) of ``trainedAlgorithmicMedia``
                    or ``algorithmicMedia`` (made by an algorithm: not a photograph)
``ai-edited``       DigitalSourceType ``compositeWithTrainedAlgorithmicMedia`` or
                    ``compositeSynthetic`` (a capture or artwork with generated parts)
``capture``         camera EXIF with a Make or Model; DigitalSourceType ``digitalCapture``,
                    ``computationalCapture``, ``negativeFilm``, ``positiveFilm``, ``print``,
                    ``compositeCapture``
``info``            everything else: the C2PA manifest itself (state, claim generator),
                    other source types (``digitalArt``, ``humanEdits``,
                    ``algorithmicallyEnhanced``, ``screenCapture``, ...), manifest references
==================  ==========================================================================

**Precedence** (the first rule that applies gives ``provenance``):

1. ``ai-declared``: any ``ai-generated`` evidence. A generated image stays generated whatever
   else the file says (edits, a copied camera block).
2. ``ai-edited``: any ``ai-edited`` evidence (and no ``ai-generated``): a real capture may be
   underneath, which matters for victim identification.
3. ``camera-declared``: any ``capture`` evidence.
4. ``none``: nothing declared. Absence of metadata says nothing about the pixels.

Declarations in a C2PA manifest that fails validation still count (they are what the file
says), and raise a conflict.

**Conflicts** (``conflict`` is True when any applies; each gives a reason):

* ``ai-generated`` and ``capture`` evidence in one file (e.g. camera EXIF and generation
  parameters, or C2PA ``digitalCapture`` with an IPTC ``trainedAlgorithmicMedia``);
* a C2PA manifest whose validation state is ``invalid`` (hash or signature problems, named).

A declared signal is a fact about the file, not proof about the pixels.
"""

from __future__ import annotations

from verisight.analysis.provenance.c2pa_reader import short_source_type
from verisight.analysis.provenance.model import (
    C2paReport,
    CameraEvidence,
    Evidence,
    GeneratorInfo,
    ParseProblem,
    ProvenanceReport,
    Signal,
    Verdict,
)

AI_GENERATED_TYPES = frozenset({"trainedAlgorithmicMedia", "algorithmicMedia"})
AI_EDITED_TYPES = frozenset({"compositeWithTrainedAlgorithmicMedia", "compositeSynthetic"})
CAPTURE_TYPES = frozenset(
    {
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "compositeCapture",
    }
)
_BENIGN_C2PA_CODES = frozenset({"signingCredential.untrusted"})


def source_type_signal(code: str) -> Signal:
    """What an IPTC DigitalSourceType code declares."""
    if code in AI_GENERATED_TYPES:
        return "ai-generated"
    if code in AI_EDITED_TYPES:
        return "ai-edited"
    if code in CAPTURE_TYPES:
        return "capture"
    return "info"


def excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def generator_evidence(info: GeneratorInfo, limit: int = 200) -> Evidence:
    value = info.tool if not info.model_name else f"{info.tool}: {info.model_name}"
    return Evidence(
        "generator-metadata", info.source, value, "ai-generated", excerpt(info.raw, limit)
    )


def c2pa_evidence(report: C2paReport, where: str | None) -> list[Evidence]:
    out: list[Evidence] = []
    if report.state == "remote":
        out.append(
            Evidence(
                "c2pa-reference",
                "XMP dcterms:provenance",
                report.remote_url or "",
                "info",
                "remote C2PA manifest: recorded, not fetched",
            )
        )
        return out
    codes = ", ".join(p.code for p in report.problems)
    value = report.state
    if report.claim_generator:
        value += f"; claim generator {report.claim_generator}"
    out.append(
        Evidence(
            "c2pa-manifest",
            f"C2PA manifest ({where})" if where else "C2PA manifest",
            value,
            "info",
            excerpt(report.error or (f"problems: {codes}" if codes else "no validation problems")),
        )
    )
    for action in report.actions:
        if not action.digital_source_type:
            continue
        source = f"C2PA action {action.action}"
        if not action.active:
            source += " (ingredient manifest)"
        out.append(
            Evidence(
                "c2pa-action",
                source,
                action.digital_source_type,
                source_type_signal(action.digital_source_type),
                excerpt(
                    f"{action.action} digitalSourceType={action.digital_source_type}"
                    + (f" softwareAgent={action.software_agent}" if action.software_agent else "")
                ),
            )
        )
    return out


def source_type_evidence(value: str, source: str) -> Evidence:
    code = short_source_type(value)
    return Evidence("iptc-source-type", source, code, source_type_signal(code), excerpt(value))


def camera_evidence(camera: CameraEvidence) -> Evidence:
    name = " ".join(x for x in (camera.make, camera.model) if x)
    parts = [
        f"Make={camera.make}" if camera.make else "",
        f"Model={camera.model}" if camera.model else "",
        f"DateTimeOriginal={camera.taken}" if camera.taken else "",
        "GPS present" if camera.gps else "no GPS",
    ]
    signal: Signal = "capture" if (camera.make or camera.model) else "info"
    return Evidence(
        "camera-exif",
        "EXIF Make/Model" if name else "EXIF",
        name or (camera.taken or "GPS"),
        signal,
        "; ".join(p for p in parts if p),
    )


def decide(evidence: list[Evidence], c2pa: C2paReport | None) -> tuple[Verdict, list[str]]:
    """The verdict and the conflict reasons (see the module docstring)."""
    signals = {e.signal for e in evidence}
    verdict = Verdict.NONE
    if "ai-generated" in signals:
        verdict = Verdict.AI_DECLARED
    elif "ai-edited" in signals:
        verdict = Verdict.AI_EDITED
    elif "capture" in signals:
        verdict = Verdict.CAMERA_DECLARED
    reasons: list[str] = []
    if "ai-generated" in signals and "capture" in signals:
        ai = sorted({e.source for e in evidence if e.signal == "ai-generated"})
        cap = sorted({e.source for e in evidence if e.signal == "capture"})
        reasons.append(
            f"capture evidence ({'; '.join(cap)}) and AI-generation evidence "
            f"({'; '.join(ai)}) in one file"
        )
    if c2pa is not None and c2pa.state == "invalid":
        codes = [p.code for p in c2pa.problems if p.code not in _BENIGN_C2PA_CODES]
        named = ", ".join(dict.fromkeys(codes)) or "no failure code given"
        reasons.append(f"C2PA manifest fails validation: {named}")
    return verdict, reasons


def build_report(
    *,
    generators: list[GeneratorInfo],
    c2pa: C2paReport | None,
    c2pa_where: str | None,
    source_types: list[tuple[str, str]],
    dangling_refs: list[str],
    camera: CameraEvidence | None,
    problems: list[ParseProblem],
    excerpt_chars: int = 200,
) -> ProvenanceReport:
    evidence: list[Evidence] = [generator_evidence(g, excerpt_chars) for g in generators]
    if c2pa is not None:
        evidence += c2pa_evidence(c2pa, c2pa_where)
    evidence += [source_type_evidence(value, source) for value, source in source_types]
    evidence += [
        Evidence(
            "c2pa-reference",
            "XMP dcterms:provenance",
            ref,
            "info",
            "references an embedded C2PA manifest that is not in the file",
        )
        for ref in dangling_refs
    ]
    if camera is not None:
        evidence.append(camera_evidence(camera))
    unique = list(dict.fromkeys(evidence))
    verdict, reasons = decide(unique, c2pa)
    return ProvenanceReport(
        provenance=verdict,
        evidence=tuple(unique),
        conflict=bool(reasons),
        conflict_reasons=tuple(reasons),
        generators=tuple(generators),
        c2pa=c2pa,
        camera=camera,
        parse_errors=tuple(dict.fromkeys(problems)),
    )
