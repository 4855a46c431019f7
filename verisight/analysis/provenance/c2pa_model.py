"""The C2PA part of a provenance report: :class:`C2paReport` and its actions and statuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verisight.analysis.provenance.jsonutil import opt_int, opt_str


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
            remote_url=opt_str(d.get("remote_url")),
            active_manifest=opt_str(d.get("active_manifest")),
            claim_generator=opt_str(d.get("claim_generator")),
            claim_generator_names=tuple(str(n) for n in d.get("claim_generator_names") or ()),
            signature_issuer=opt_str(d.get("signature_issuer")),
            signature_time=opt_str(d.get("signature_time")),
            actions=tuple(
                C2paAction(
                    action=str(a.get("action", "")),
                    digital_source_type=opt_str(a.get("digital_source_type")),
                    software_agent=opt_str(a.get("software_agent")),
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
            ingredients=opt_int(d.get("ingredients")) or 0,
            error=opt_str(d.get("error")),
        )
