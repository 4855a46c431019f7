"""C2PA manifests, read and validated by ``c2pa-python`` (the Content Authenticity SDK).

The reader runs only when the container walk found a manifest store box (JPEG APP11 JUMBF,
PNG ``caBX``, WebP ``C2PA``, TIFF tag 52545, ISOBMFF C2PA ``uuid``); validity is the reader's
call. It runs **offline**: ``verify.remote_manifest_fetch`` and ``verify.ocsp_fetch`` are off,
and a file that only references a remote manifest (XMP ``dcterms:provenance`` with a URL and
no embedded store) is recorded as ``state="remote"`` without calling the reader at all.

No trust list is configured, so a correctly signed manifest reads as ``valid`` with the
``signingCredential.untrusted`` code listed among its problems; ``trusted`` needs trust anchors.
A store the reader cannot parse (broken JUMBF boxes) becomes ``state="unreadable"`` plus a
parse problem.
"""

from __future__ import annotations

import importlib
import io
import json
import os
from types import ModuleType
from typing import Any, BinaryIO

from verisight.analysis.provenance.c2pa_model import C2paAction, C2paReport, C2paStatus
from verisight.analysis.provenance.model import ParseProblem

#: Reader settings: never touch the network.
OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
_ACTION_LABELS = ("c2pa.actions", "c2pa.actions.v2")
_context: tuple[int, Any] | None = None


def _sdk() -> ModuleType:
    return importlib.import_module("c2pa")


def _offline_context(sdk: ModuleType) -> Any:
    """One reader context per process (contexts must not cross a fork)."""
    global _context
    if _context is None or _context[0] != os.getpid():
        _context = (os.getpid(), sdk.Context.from_dict(OFFLINE_SETTINGS))
    return _context[1]


def read_c2pa(
    data: bytes | BinaryIO, mime: str, where: str
) -> tuple[C2paReport | None, list[ParseProblem]]:
    """Read and validate the manifest store of ``data``; never raises.

    ``data`` is the file's bytes or a seekable binary stream positioned anywhere (a video is
    passed as its open file, so the SDK streams it instead of it being read into memory).
    """
    source = f"C2PA ({where})"
    try:
        sdk = _sdk()
    except ImportError:
        msg = "c2pa-python is not installed; the manifest was not read"
        return C2paReport(state="unreadable", error=msg), [ParseProblem(source, msg)]
    try:
        stream = io.BytesIO(data) if isinstance(data, bytes) else data
        stream.seek(0)
        reader = sdk.Reader.try_create(mime, stream, None, _offline_context(sdk))
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"[:300]
        return C2paReport(state="unreadable", error=msg), [ParseProblem(source, msg)]
    if reader is None:  # the box was there but the SDK found no manifest in it
        msg = "manifest store box present but the reader found no manifest"
        return C2paReport(state="unreadable", error=msg), [ParseProblem(source, msg)]
    try:
        with reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
            remote = reader.get_remote_url() if not reader.is_embedded() else None
            embedded = bool(reader.is_embedded())
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"[:300]
        return C2paReport(state="unreadable", error=msg), [ParseProblem(source, msg)]
    if not isinstance(store, dict):
        msg = "manifest store JSON is not an object"
        return C2paReport(state="unreadable", error=msg), [ParseProblem(source, msg)]
    return report_from_store(store, state, embedded=embedded, remote_url=remote), []


def report_from_store(
    store: dict[str, Any],
    state: str | None,
    *,
    embedded: bool = True,
    remote_url: str | None = None,
) -> C2paReport:
    """Normalise the SDK's manifest-store JSON (``Reader.json()``) into a :class:`C2paReport`."""
    manifests = store.get("manifests")
    manifests = manifests if isinstance(manifests, dict) else {}
    active_label = store.get("active_manifest")
    active = manifests.get(active_label) if isinstance(active_label, str) else None
    active = active if isinstance(active, dict) else {}
    actions: list[C2paAction] = []
    ordered = [(active_label, active)] + [
        (k, m) for k, m in manifests.items() if k != active_label and isinstance(m, dict)
    ]
    for label, manifest in ordered:
        actions += _actions(manifest, str(label or ""), active=label == active_label)
    names = tuple(
        str(info["name"])
        for info in active.get("claim_generator_info") or ()
        if isinstance(info, dict) and info.get("name")
    )
    generator = active.get("claim_generator")
    if not isinstance(generator, str) or not generator:
        generator = " ".join(names) or None
    if not names and generator:
        names = tuple(part.split("/")[0] for part in generator.split())
    sig = active.get("signature_info")
    sig = sig if isinstance(sig, dict) else {}
    ingredients = active.get("ingredients")
    return C2paReport(
        state=(state or _derive_state(store)).lower(),
        embedded=embedded,
        remote_url=remote_url,
        active_manifest=active_label if isinstance(active_label, str) else None,
        claim_generator=generator,
        claim_generator_names=names,
        signature_issuer=_opt(sig.get("issuer")),
        signature_time=_opt(sig.get("time")),
        actions=tuple(actions),
        problems=tuple(_problems(store)),
        ingredients=len(ingredients) if isinstance(ingredients, list) else 0,
    )


def _actions(manifest: dict[str, Any], label: str, *, active: bool) -> list[C2paAction]:
    out: list[C2paAction] = []
    for assertion in manifest.get("assertions") or ():
        if not isinstance(assertion, dict):
            continue
        name = str(assertion.get("label", "")).split("__")[0]
        data = assertion.get("data")
        if name not in _ACTION_LABELS or not isinstance(data, dict):
            continue
        for action in data.get("actions") or ():
            if not isinstance(action, dict) or not isinstance(action.get("action"), str):
                continue
            dst = action.get("digitalSourceType")
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = agent.get("name")
            out.append(
                C2paAction(
                    action=action["action"],
                    digital_source_type=short_source_type(dst) if isinstance(dst, str) else None,
                    software_agent=_opt(agent),
                    manifest=label,
                    active=active,
                )
            )
    return out


def short_source_type(value: str) -> str:
    """``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`` → the code."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def _problems(store: dict[str, Any]) -> list[C2paStatus]:
    """Failure codes: from ``validation_results`` when present, else ``validation_status``."""
    out: list[C2paStatus] = []
    results = store.get("validation_results")
    entries: list[Any] = []
    if isinstance(results, dict):
        active = results.get("activeManifest")
        if isinstance(active, dict):
            entries += active.get("failure") or []
        for delta in results.get("ingredientDeltas") or ():
            if isinstance(delta, dict) and isinstance(delta.get("validationDeltas"), dict):
                entries += delta["validationDeltas"].get("failure") or []
    else:
        entries = list(store.get("validation_status") or ())
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            key = (entry["code"], str(entry.get("url", "")))
            if key not in seen:
                seen.add(key)
                out.append(C2paStatus(entry["code"], str(entry.get("explanation", "")), key[1]))
    return out


def _derive_state(store: dict[str, Any]) -> str:
    codes = {p.code for p in _problems(store)}
    return "invalid" if codes - {"signingCredential.untrusted"} else "valid"


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
