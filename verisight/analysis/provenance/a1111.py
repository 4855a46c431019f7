"""The AUTOMATIC1111 "infotext" format, shared by Forge, SD.Next, Civitai and many others.

::

    <prompt, possibly several lines>
    Negative prompt: <negative prompt, possibly several lines>
    Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: 6ce0161689,
    Model: v1-5-pruned-emaonly, Lora hashes: "red_bike: 0123456789ab, sky: ba9876543210",
    Version: v1.10.1

The last line holds ``key: value`` pairs separated by commas; a value containing a comma is
JSON-quoted. The parameters line is recognised only when it has a ``Steps`` key (as A1111's
own reader requires several keys). LoRA weights come from ``<lora:name:weight>`` tags in the
prompt, LoRA hashes from ``Lora hashes`` (or the ``Hashes`` JSON Civitai writes), Civitai's
``Civitai resources`` JSON adds models and LoRAs, and AIR URNs are collected wherever they occur.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from verisight.analysis.provenance.model import Lora

_KEY = re.compile(r"\s*(\w[\w \-/+.()]{0,80}?):\s*")
_QUOTED = re.compile(r'"(?:\\.|[^\\"])*"')
_DECODER = json.JSONDecoder()
_LORA_TAG = re.compile(r"<(?:lora|lyco):([^:>]+):([0-9.+\-eE]+)(?::[^>]*)?>")
_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$")
#: ``urn:air:<ecosystem>:<type>:<source>:<id>[@<version>]`` (optional layer/format cut off).
AIR_URN = re.compile(
    r"urn:air:[a-z0-9_.\-]+:[a-z0-9_.\-]+:[a-z0-9_.\-]+:[A-Za-z0-9_.\-/]+(?:@\w+)?"
)
_MAX_PAIRS = 500


@dataclass(slots=True)
class Infotext:
    """An infotext split into prompt, negative prompt and its key/value pairs."""

    prompt: str
    negative_prompt: str
    params: dict[str, str]
    loras: list[Lora] = field(default_factory=list)


def parse_infotext(text: str) -> Infotext | None:
    """Split an A1111 infotext; None when there is no parameters line with ``Steps``."""
    lines = text.strip().split("\n")
    # The parameters line is the last line with "Steps:"; some writers append lines after it.
    index = next(
        (i for i in range(len(lines) - 1, -1, -1) if "Steps:" in lines[i][:2000]),
        None,
    )
    if index is None:
        return None
    params = parse_params(lines[index])
    if "Steps" not in params:
        return None
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines[:index]:
        stripped = line.strip()
        if stripped.startswith("Negative prompt:"):
            in_negative = True
            stripped = stripped[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(stripped)
    for extra in lines[index + 1 :]:  # e.g. "Template: ..." lines some versions add
        params.update(parse_params(extra))
    info = Infotext("\n".join(prompt_lines).strip(), "\n".join(negative_lines).strip(), params)
    info.loras = _loras(info)
    return info


def parse_params(line: str) -> dict[str, str]:
    """``"Steps: 20, Sampler: Euler a, Lora hashes: \\"a: 1, b: 2\\""`` → dict.

    Values are plain (up to the next comma), JSON-quoted strings, or JSON arrays/objects
    (Civitai writes ``Civitai resources: [...]`` and ``Hashes: {...}`` unquoted).
    """
    out: dict[str, str] = {}
    pos, n = 0, len(line)
    while pos < n and len(out) < _MAX_PAIRS:
        m = _KEY.search(line, pos)  # skips junk before a key, as A1111's findall does
        if m is None:
            break
        key, pos = m.group(1).strip(), m.end()
        value, pos = _value(line, pos)
        out.setdefault(key, value)
    return out


def _value(line: str, pos: int) -> tuple[str, int]:
    """The value starting at ``pos`` and the position after its trailing comma."""
    head = line[pos : pos + 1]
    if head == '"':
        m = _QUOTED.match(line, pos)
        if m is not None:
            try:
                decoded = json.loads(m.group(0))
                text = decoded if isinstance(decoded, str) else m.group(0)[1:-1]
            except ValueError:
                text = m.group(0)[1:-1]
            return text, _after_comma(line, m.end())
    elif head in ("[", "{"):
        try:
            _, end = _DECODER.raw_decode(line, pos)
            return line[pos:end], _after_comma(line, end)
        except (ValueError, RecursionError):
            pass
    comma = line.find(",", pos)
    end = len(line) if comma < 0 else comma
    return line[pos:end].strip(), end + 1


def _after_comma(line: str, pos: int) -> int:
    comma = line.find(",", pos)
    return len(line) if comma < 0 else comma + 1


def _loras(info: Infotext) -> list[Lora]:
    weights: dict[str, float] = {}
    for name, weight in _LORA_TAG.findall(info.prompt):
        try:
            weights.setdefault(name.strip(), float(weight))
        except ValueError:
            continue
    hashes: dict[str, str] = {}
    for part in info.params.get("Lora hashes", "").split(","):
        name, sep, digest = part.rpartition(":")
        if sep and name.strip() and digest.strip():
            hashes[name.strip()] = digest.strip()
    civitai_hashes = _json_obj(info.params.get("Hashes"))
    if civitai_hashes:
        for key, digest in civitai_hashes.items():
            if key.startswith("lora:") and isinstance(digest, str):
                hashes.setdefault(key[5:], digest)
    names = list(dict.fromkeys([*weights, *hashes]))
    loras = [Lora(n, hashes.get(n), weights.get(n)) for n in names]
    for res in _json_list(info.params.get("Civitai resources")):
        if str(res.get("type", "")).lower() in ("lora", "lycoris", "locon", "dora"):
            name = res.get("modelName") or res.get("air") or res.get("modelVersionId")
            if name is not None and str(name) not in names:
                loras.append(Lora(str(name), None, _float(res.get("weight"))))
    return loras


def civitai_checkpoint(params: dict[str, str]) -> str | None:
    """The checkpoint named in a ``Civitai resources`` list, if any."""
    for res in _json_list(params.get("Civitai resources")):
        if str(res.get("type", "")).lower() == "checkpoint":
            name = res.get("modelName") or res.get("air") or res.get("modelVersionId")
            if name is not None:
                version = res.get("modelVersionName")
                return f"{name} ({version})" if version else str(name)
    return None


def air_urns(text: str, limit: int = 200) -> tuple[str, ...]:
    """Distinct Civitai AIR URNs in ``text``, in order of appearance."""
    found: dict[str, None] = {}
    for m in AIR_URN.finditer(text):
        found.setdefault(m.group(0), None)
        if len(found) >= limit:
            break
    return tuple(found)


def parse_size(value: str | None) -> tuple[int | None, int | None]:
    m = _SIZE.match(value or "")
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _json_obj(value: str | None) -> dict[str, Any] | None:
    if not value or not value.lstrip().startswith("{"):
        return None
    try:
        obj = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _json_list(value: str | None) -> list[dict[str, Any]]:
    if not value or not value.lstrip().startswith("["):
        return []
    try:
        obj = json.loads(value)
    except (ValueError, RecursionError):
        return []
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
