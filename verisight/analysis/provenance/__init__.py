"""AI provenance: what an image file declares about how it was made, with the evidence.

Public API::

    from verisight.analysis.provenance import extract_provenance, ProvenanceReport

    report = extract_provenance(data, "image/png")
    report.provenance        # "ai-declared" | "ai-edited" | "camera-declared" | "none"
    report.evidence          # (Evidence(kind, source, value, signal, excerpt), ...)
    report.conflict, report.conflict_reasons
    report.generator         # GeneratorInfo(tool, model_name, loras, seed, prompt, ...) | None
    report.c2pa              # C2paReport(state, claim_generator, actions, problems) | None
    report.to_json()         # plain JSON; ProvenanceReport.from_json() reads it back

Signals: generator metadata of AUTOMATIC1111/Forge, stealth LSB payloads, ComfyUI, NovelAI,
InvokeAI, Fooocus, SwarmUI, Draw Things, Midjourney and Civitai (one parser class each, in
:data:`~verisight.analysis.provenance.registry.PARSERS`); C2PA manifests (validated offline by
``c2pa-python``); IPTC/XMP ``DigitalSourceType``; camera EXIF. The verdict's precedence rules
and conflicts are in :mod:`verisight.analysis.provenance.verdict`.

A declared signal is a fact about the file, not proof about the pixels: metadata is easily
stripped, copied or forged, and its absence means nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verisight._lazy import lazy_exports

if TYPE_CHECKING:
    from verisight.analysis.provenance.base import (
        GeneratorParser,
        Metadata,
        MetadataError,
        ParseContext,
    )
    from verisight.analysis.provenance.extract import extract_provenance
    from verisight.analysis.provenance.limits import DEFAULT_LIMITS, ProvenanceLimits
    from verisight.analysis.provenance.model import (
        C2paAction,
        C2paReport,
        C2paStatus,
        CameraEvidence,
        Evidence,
        GeneratorInfo,
        Lora,
        ParseProblem,
        ProvenanceReport,
        Signal,
        Verdict,
    )
    from verisight.analysis.provenance.registry import PARSERS

__all__ = [
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "C2paAction": "verisight.analysis.provenance.model",
        "C2paReport": "verisight.analysis.provenance.model",
        "C2paStatus": "verisight.analysis.provenance.model",
        "CameraEvidence": "verisight.analysis.provenance.model",
        "DEFAULT_LIMITS": "verisight.analysis.provenance.limits",
        "Evidence": "verisight.analysis.provenance.model",
        "GeneratorInfo": "verisight.analysis.provenance.model",
        "GeneratorParser": "verisight.analysis.provenance.base",
        "Lora": "verisight.analysis.provenance.model",
        "Metadata": "verisight.analysis.provenance.base",
        "MetadataError": "verisight.analysis.provenance.base",
        "PARSERS": "verisight.analysis.provenance.registry",
        "ParseContext": "verisight.analysis.provenance.base",
        "ParseProblem": "verisight.analysis.provenance.model",
        "ProvenanceLimits": "verisight.analysis.provenance.limits",
        "ProvenanceReport": "verisight.analysis.provenance.model",
        "Signal": "verisight.analysis.provenance.model",
        "Verdict": "verisight.analysis.provenance.model",
        "extract_provenance": "verisight.analysis.provenance.extract",
    },
)
