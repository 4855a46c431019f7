"""The records provenance extraction returns: :class:`ProvenanceReport` and its parts.

Every record is a frozen dataclass (picklable, so it crosses process and Dask boundaries) with
a ``to_json()`` giving plain JSON types; :meth:`ProvenanceReport.from_json` reads that JSON
back (tolerantly: unknown keys are ignored, missing ones take their defaults), so the store can
keep the JSON and the CLI and web app can rebuild the record.

A declared signal is a fact about the *file*, not proof about the *pixels*: metadata can be
stripped, copied from another file or written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from verisight.analysis.provenance.c2pa_model import C2paAction, C2paReport, C2paStatus
from verisight.analysis.provenance.jsonutil import json_safe, opt_float, opt_int, opt_str
from verisight.vocab import Verdict

__all__ = [
    "SIGNALS",
    "VERDICTS",
    "C2paAction",
    "C2paReport",
    "C2paStatus",
    "CameraEvidence",
    "Evidence",
    "GeneratorInfo",
    "Lora",
    "ParseProblem",
    "ProvenanceReport",
    "Signal",
    "Verdict",
]

#: The verdict (:class:`verisight.vocab.Verdict`). See
#: :mod:`verisight.analysis.provenance.verdict` for the precedence rules.
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)

#: What one piece of evidence says: the file declares itself AI-generated, AI-edited, a
#: capture (camera, scan, film), or it is context that points neither way ("info").
Signal = Literal["ai-generated", "ai-edited", "capture", "info"]
SIGNALS: tuple[Signal, ...] = ("ai-generated", "ai-edited", "capture", "info")


@dataclass(frozen=True, slots=True)
class Lora:
    """A LoRA (or LyCORIS/LoCon) applied during generation."""

    name: str
    hash: str | None = None
    weight: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "hash": self.hash, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class GeneratorInfo:
    """Generation parameters written by one AI tool, normalised across tools.

    Fields a tool does not record are ``None`` (or empty). ``model_name`` is the main model
    (checkpoint, UNet or service model) of the final sampler; ``models`` lists every main model
    seen (refiners, second passes), ``seeds`` every seed, primary first. ``raw`` is the text
    the fields were parsed from, cut at the report's raw limit (``raw_truncated`` says so).
    """

    #: "AUTOMATIC1111", "Forge", "ComfyUI", "NovelAI", "InvokeAI", "Fooocus", "SwarmUI",
    #: "Draw Things", "Midjourney", "Civitai".
    tool: str
    #: Where it was found, e.g. "PNG tEXt parameters", "EXIF UserComment".
    source: str
    model_name: str | None = None
    model_hash: str | None = None
    models: tuple[str, ...] = ()
    loras: tuple[Lora, ...] = ()
    vae: str | None = None
    seed: int | None = None
    seeds: tuple[int, ...] = ()
    steps: int | None = None
    sampler: str | None = None
    cfg: float | None = None
    width: int | None = None
    height: int | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    #: Civitai AIR URNs found (``urn:air:<ecosystem>:<type>:civitai:<model>@<version>``).
    air: tuple[str, ...] = ()
    #: The tool's version string when it records one.
    version: str | None = None
    raw: str = ""
    raw_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "source": self.source,
            "model_name": self.model_name,
            "model_hash": self.model_hash,
            "models": list(self.models),
            "loras": [lora.to_json() for lora in self.loras],
            "vae": self.vae,
            "seed": self.seed,
            "seeds": list(self.seeds),
            "steps": self.steps,
            "sampler": self.sampler,
            "cfg": self.cfg,
            "width": self.width,
            "height": self.height,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "air": list(self.air),
            "version": self.version,
            "raw": self.raw,
            "raw_truncated": self.raw_truncated,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GeneratorInfo:
        loras = tuple(
            Lora(str(x.get("name", "")), opt_str(x.get("hash")), opt_float(x.get("weight")))
            for x in d.get("loras") or ()
            if isinstance(x, dict)
        )
        return cls(
            tool=str(d.get("tool", "")),
            source=str(d.get("source", "")),
            model_name=opt_str(d.get("model_name")),
            model_hash=opt_str(d.get("model_hash")),
            models=tuple(str(m) for m in d.get("models") or ()),
            loras=loras,
            vae=opt_str(d.get("vae")),
            seed=opt_int(d.get("seed")),
            seeds=tuple(int(s) for s in d.get("seeds") or () if opt_int(s) is not None),
            steps=opt_int(d.get("steps")),
            sampler=opt_str(d.get("sampler")),
            cfg=opt_float(d.get("cfg")),
            width=opt_int(d.get("width")),
            height=opt_int(d.get("height")),
            prompt=opt_str(d.get("prompt")),
            negative_prompt=opt_str(d.get("negative_prompt")),
            air=tuple(str(a) for a in d.get("air") or ()),
            version=opt_str(d.get("version")),
            raw=str(d.get("raw") or ""),
            raw_truncated=bool(d.get("raw_truncated", False)),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """One provenance signal found in the file."""

    #: "generator-metadata" | "c2pa-action" | "c2pa-manifest" | "c2pa-reference" |
    #: "iptc-source-type" | "camera-exif"
    kind: str
    #: Where exactly, e.g. "PNG tEXt parameters", "C2PA action c2pa.created".
    source: str
    #: The normalised value, e.g. "ComfyUI: flux1-dev.safetensors", "trainedAlgorithmicMedia".
    value: str
    #: What it says (drives the verdict).
    signal: Signal
    #: A short excerpt of the raw bytes/text it came from.
    excerpt: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "value": self.value,
            "signal": self.signal,
            "excerpt": self.excerpt,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Evidence:
        signal = d.get("signal")
        return cls(
            kind=str(d.get("kind", "")),
            source=str(d.get("source", "")),
            value=str(d.get("value", "")),
            signal=signal if signal in SIGNALS else "info",
            excerpt=str(d.get("excerpt") or ""),
        )


@dataclass(frozen=True, slots=True)
class CameraEvidence:
    """Camera EXIF as evidence of a capture (not proof: EXIF is easily copied)."""

    make: str | None
    model: str | None
    #: DateTimeOriginal as ISO 8601 ("2011-07-30T15:41:25"), None when absent or invalid.
    taken: str | None
    #: True when the GPS IFD holds a latitude and a longitude.
    gps: bool
    software: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "make": self.make,
            "model": self.model,
            "taken": self.taken,
            "gps": self.gps,
            "software": self.software,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CameraEvidence:
        return cls(
            make=opt_str(d.get("make")),
            model=opt_str(d.get("model")),
            taken=opt_str(d.get("taken")),
            gps=bool(d.get("gps", False)),
            software=opt_str(d.get("software")),
        )


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """Something in the file could not be read; recorded, never raised."""

    #: Where, e.g. "PNG tEXt parameters", "EXIF UserComment", "C2PA".
    source: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "message": self.message}


@dataclass(frozen=True, slots=True)
class ProvenanceReport:
    """Every provenance signal of one image, the verdict drawn from them, and what failed."""

    provenance: Verdict = Verdict.NONE
    evidence: tuple[Evidence, ...] = ()
    #: True when signals disagree; ``conflict_reasons`` says how.
    conflict: bool = False
    conflict_reasons: tuple[str, ...] = ()
    #: Every generator record found, the primary one first.
    generators: tuple[GeneratorInfo, ...] = ()
    c2pa: C2paReport | None = None
    camera: CameraEvidence | None = None
    parse_errors: tuple[ParseProblem, ...] = field(default=())

    @property
    def generator(self) -> GeneratorInfo | None:
        """The primary generator record, or None."""
        return self.generators[0] if self.generators else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only: no NUL characters, no NaN or infinite numbers."""
        gen = self.generator
        report = {
            "provenance": self.provenance,
            "evidence": [e.to_json() for e in self.evidence],
            "conflict": self.conflict,
            "conflict_reasons": list(self.conflict_reasons),
            "generator": gen.to_json() if gen else None,
            "generators": [g.to_json() for g in self.generators],
            "c2pa": self.c2pa.to_json() if self.c2pa else None,
            "camera": self.camera.to_json() if self.camera else None,
            "parse_errors": [p.to_json() for p in self.parse_errors],
        }
        return dict(json_safe(report))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProvenanceReport:
        """Rebuild a report from :meth:`to_json` output."""
        verdict = d.get("provenance")
        gens = [g for g in d.get("generators") or () if isinstance(g, dict)]
        if not gens and isinstance(d.get("generator"), dict):
            gens = [d["generator"]]
        c2pa = d.get("c2pa")
        camera = d.get("camera")
        return cls(
            provenance=Verdict(verdict) if verdict in VERDICTS else Verdict.NONE,
            evidence=tuple(
                Evidence.from_json(e) for e in d.get("evidence") or () if isinstance(e, dict)
            ),
            conflict=bool(d.get("conflict", False)),
            conflict_reasons=tuple(str(r) for r in d.get("conflict_reasons") or ()),
            generators=tuple(GeneratorInfo.from_json(g) for g in gens),
            c2pa=C2paReport.from_json(c2pa) if isinstance(c2pa, dict) else None,
            camera=CameraEvidence.from_json(camera) if isinstance(camera, dict) else None,
            parse_errors=tuple(
                ParseProblem(str(p.get("source", "")), str(p.get("message", "")))
                for p in d.get("parse_errors") or ()
                if isinstance(p, dict)
            ),
        )
