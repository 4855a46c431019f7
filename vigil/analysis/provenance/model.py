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

#: The verdict. See :mod:`vigil.analysis.provenance.verdict` for the precedence rules.
Verdict = Literal["ai-declared", "ai-edited", "camera-declared", "none"]
VERDICTS: tuple[Verdict, ...] = ("ai-declared", "ai-edited", "camera-declared", "none")

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
            Lora(str(x.get("name", "")), _opt_str(x.get("hash")), _opt_float(x.get("weight")))
            for x in d.get("loras") or ()
            if isinstance(x, dict)
        )
        return cls(
            tool=str(d.get("tool", "")),
            source=str(d.get("source", "")),
            model_name=_opt_str(d.get("model_name")),
            model_hash=_opt_str(d.get("model_hash")),
            models=tuple(str(m) for m in d.get("models") or ()),
            loras=loras,
            vae=_opt_str(d.get("vae")),
            seed=_opt_int(d.get("seed")),
            seeds=tuple(int(s) for s in d.get("seeds") or () if _opt_int(s) is not None),
            steps=_opt_int(d.get("steps")),
            sampler=_opt_str(d.get("sampler")),
            cfg=_opt_float(d.get("cfg")),
            width=_opt_int(d.get("width")),
            height=_opt_int(d.get("height")),
            prompt=_opt_str(d.get("prompt")),
            negative_prompt=_opt_str(d.get("negative_prompt")),
            air=tuple(str(a) for a in d.get("air") or ()),
            version=_opt_str(d.get("version")),
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
class C2paAction:
    """One action of a C2PA actions assertion."""

    action: str
    #: Short IPTC code, e.g. "trainedAlgorithmicMedia" (None when the action has none).
    digital_source_type: str | None = None
    software_agent: str | None = None
    #: Label of the manifest holding the action; ``active`` when it is the active manifest.
    manifest: str = ""
    active: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "digital_source_type": self.digital_source_type,
            "software_agent": self.software_agent,
            "manifest": self.manifest,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class C2paStatus:
    """A validation status code reported by the C2PA reader (a failure or problem)."""

    code: str
    explanation: str = ""
    url: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "explanation": self.explanation, "url": self.url}


@dataclass(frozen=True, slots=True)
class C2paReport:
    """What the C2PA reader said about the file's manifest store."""

    #: "valid" | "invalid" | "trusted" (the reader's validation state, lower-cased);
    #: "unreadable" when the manifest boxes could not be read; "remote" when the file only
    #: points at a remote manifest (recorded, never fetched).
    state: str
    embedded: bool = True
    remote_url: str | None = None
    active_manifest: str | None = None
    #: The active manifest's claim generator, e.g. "make_test_images/0.33.1 c2pa-rs/0.33.1".
    claim_generator: str | None = None
    #: Names from ``claim_generator_info`` (or parsed from ``claim_generator``).
    claim_generator_names: tuple[str, ...] = ()
    signature_issuer: str | None = None
    signature_time: str | None = None
    actions: tuple[C2paAction, ...] = ()
    #: Failure codes (signature, hash and trust problems), named as the reader names them.
    problems: tuple[C2paStatus, ...] = ()
    ingredients: int = 0
    #: Why the store could not be read (state "unreadable").
    error: str | None = None

    @property
    def digital_source_types(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for a in self.actions:
            if a.digital_source_type:
                seen.setdefault(a.digital_source_type, None)
        return tuple(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "present": True,
            "state": self.state,
            "embedded": self.embedded,
            "remote_url": self.remote_url,
            "active_manifest": self.active_manifest,
            "claim_generator": self.claim_generator,
            "claim_generator_names": list(self.claim_generator_names),
            "signature_issuer": self.signature_issuer,
            "signature_time": self.signature_time,
            "actions": [a.to_json() for a in self.actions],
            "digital_source_types": list(self.digital_source_types),
            "problems": [p.to_json() for p in self.problems],
            "ingredients": self.ingredients,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> C2paReport:
        return cls(
            state=str(d.get("state", "")),
            embedded=bool(d.get("embedded", True)),
            remote_url=_opt_str(d.get("remote_url")),
            active_manifest=_opt_str(d.get("active_manifest")),
            claim_generator=_opt_str(d.get("claim_generator")),
            claim_generator_names=tuple(str(n) for n in d.get("claim_generator_names") or ()),
            signature_issuer=_opt_str(d.get("signature_issuer")),
            signature_time=_opt_str(d.get("signature_time")),
            actions=tuple(
                C2paAction(
                    action=str(a.get("action", "")),
                    digital_source_type=_opt_str(a.get("digital_source_type")),
                    software_agent=_opt_str(a.get("software_agent")),
                    manifest=str(a.get("manifest") or ""),
                    active=bool(a.get("active", True)),
                )
                for a in d.get("actions") or ()
                if isinstance(a, dict)
            ),
            problems=tuple(
                C2paStatus(
                    str(p.get("code", "")), str(p.get("explanation") or ""), str(p.get("url") or "")
                )
                for p in d.get("problems") or ()
                if isinstance(p, dict)
            ),
            ingredients=_opt_int(d.get("ingredients")) or 0,
            error=_opt_str(d.get("error")),
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
            make=_opt_str(d.get("make")),
            model=_opt_str(d.get("model")),
            taken=_opt_str(d.get("taken")),
            gps=bool(d.get("gps", False)),
            software=_opt_str(d.get("software")),
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

    provenance: Verdict = "none"
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
        gen = self.generator
        return {
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
            provenance=verdict if verdict in VERDICTS else "none",
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


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


def _opt_int(v: object) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v))
    except ValueError:
        return None


def _opt_float(v: object) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None
