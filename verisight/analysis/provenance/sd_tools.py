"""Parsers for the Stable Diffusion front-ends: AUTOMATIC1111/Forge, ComfyUI, Fooocus, SwarmUI
and Civitai's generator.

=================  =========================================================================
tool               where
=================  =========================================================================
AUTOMATIC1111      infotext in PNG ``parameters``, EXIF UserComment (JPEG/WebP), JPEG COM, or
(Forge, Civitai)   a stealth payload; Forge when ``Version`` is ``f…``, Civitai when it names
                   ``Civitai resources``
ComfyUI            PNG ``prompt`` (API graph) / ``workflow`` (UI graph); WebP EXIF
                   0x0110 ``prompt:{…}`` / 0x010F ``workflow:{…}``
Fooocus            PNG ``parameters`` JSON with ``fooocus_scheme`` = ``fooocus``; JPEG
                   UserComment JSON with MakerNote ``fooocus``
SwarmUI            ``parameters`` (or UserComment) JSON ``{"sui_image_params": {...}}``
Civitai            UserComment JSON carrying AIR URNs (a ComfyUI-style graph + ``extraMetadata``)
=================  =========================================================================
"""

from __future__ import annotations

import json
import re
from typing import Any

from verisight.analysis.provenance.a1111 import (
    air_urns,
    civitai_checkpoint,
    parse_infotext,
    parse_size,
)
from verisight.analysis.provenance.base import (
    GeneratorParser,
    Metadata,
    MetadataError,
    ParseContext,
    as_float,
    as_int,
    as_str,
)
from verisight.analysis.provenance.comfyui import ComfyResult, GraphError, api_graph, walk
from verisight.analysis.provenance.comfyui_workflow import ui_graph
from verisight.analysis.provenance.containers import TextEntry
from verisight.analysis.provenance.model import GeneratorInfo, Lora

_FORGE_VERSION = re.compile(r"^f\d")
_FOOOCUS_STEPS = {"speed": 30, "quality": 60, "extreme speed": 8, "lightning": 4, "hyper-sd": 4}
_RESOLUTION = re.compile(r"(\d{2,6})\D+(\d{2,6})")


def _is_json(entry: TextEntry) -> bool:
    return entry.value.lstrip().startswith(("{", "["))


class A1111Parser(GeneratorParser):
    """AUTOMATIC1111 infotext (and the many tools that write the same format)."""

    tool = "AUTOMATIC1111"
    keys = ("parameters", "UserComment", "comment", "ImageDescription")

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        for entry in meta.all(*self.keys):
            if _is_json(entry):
                continue
            info = parse_infotext(entry.value)
            if info is None:
                continue
            p = info.params
            width, height = parse_size(p.get("Size"))
            return ctx.info(
                _tool(p),
                entry,
                model_name=p.get("Model") or civitai_checkpoint(p),
                model_hash=p.get("Model hash"),
                loras=tuple(info.loras),
                vae=p.get("VAE"),
                seed=as_int(p.get("Seed")),
                steps=as_int(p.get("Steps")),
                sampler=p.get("Sampler"),
                cfg=as_float(p.get("CFG scale")),
                width=width,
                height=height,
                prompt=info.prompt,
                negative_prompt=info.negative_prompt,
                air=air_urns(entry.value),
                version=p.get("Version"),
            )
        return None


def _tool(params: dict[str, str]) -> str:
    version = params.get("Version", "")
    if "Civitai resources" in params or "Civitai metadata" in params:
        return "Civitai"
    if _FORGE_VERSION.match(version):
        return "Forge"
    if "fooocus" in version.lower():
        return "Fooocus"
    if "comfyui" in version.lower():
        return "ComfyUI"
    return "AUTOMATIC1111"


class ComfyUIParser(GeneratorParser):
    """ComfyUI's API graph (preferred) or UI workflow, walked from the samplers."""

    tool = "ComfyUI"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        limits = ctx.limits
        for key, build in (("prompt", api_graph), ("workflow", ui_graph)):
            entry = meta.get(key)
            if entry is None or not entry.value.lstrip().startswith("{"):
                continue
            try:
                graph = build(ctx.json_value(entry), limits.max_graph_nodes)
            except MetadataError as exc:
                ctx.problem(exc.source, exc.message)
                continue
            except GraphError as exc:
                ctx.problem(entry.source, str(exc))
                continue
            return comfy_info(ctx, self.tool, entry, walk(graph, limits.max_graph_steps))
        return None


def comfy_info(ctx: ParseContext, tool: str, entry: TextEntry, r: ComfyResult) -> GeneratorInfo:
    return ctx.info(
        tool,
        entry,
        model_name=r.models[0] if r.models else None,
        models=tuple(r.models),
        loras=tuple(r.loras),
        vae=r.vae,
        seed=r.seeds[0] if r.seeds else None,
        seeds=tuple(r.seeds),
        steps=r.steps,
        sampler=r.sampler,
        cfg=r.cfg,
        width=r.width,
        height=r.height,
        prompt=r.prompt,
        negative_prompt=r.negative_prompt,
        air=air_urns(entry.value),
    )


class FooocusParser(GeneratorParser):
    """Fooocus' JSON scheme (its ``a1111`` scheme is read by :class:`A1111Parser`)."""

    tool = "Fooocus"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        scheme = (meta.value("fooocus_scheme", "MakerNote") or "").strip().lower()
        for entry in meta.all("parameters", "UserComment"):
            if not entry.value.lstrip().startswith("{"):
                continue
            if scheme != "fooocus" and "fooocus" not in entry.value[:65536].lower():
                continue
            raw = ctx.json_object(entry)
            d = {str(k).strip().lower().replace(" ", "_"): v for k, v in raw.items()}
            if scheme != "fooocus" and not (
                "base_model" in d or "fooocus" in str(d.get("version", "")).lower()
            ):
                continue
            steps = as_int(d.get("steps"))
            if steps is None:
                steps = _FOOOCUS_STEPS.get(str(d.get("performance", "")).lower())
            m = _RESOLUTION.search(str(d.get("resolution", "")))
            return ctx.info(
                self.tool,
                entry,
                model_name=as_str(d.get("base_model")),
                model_hash=as_str(d.get("base_model_hash")),
                loras=tuple(_fooocus_loras(d)),
                vae=as_str(d.get("vae")),
                seed=as_int(d.get("seed")),
                steps=steps,
                sampler=as_str(d.get("sampler")),
                cfg=as_float(d.get("guidance_scale")),
                width=int(m.group(1)) if m else None,
                height=int(m.group(2)) if m else None,
                prompt=d.get("full_prompt")
                if isinstance(d.get("full_prompt"), str)
                else d.get("prompt"),
                negative_prompt=d.get("negative_prompt"),
                version=as_str(d.get("version")),
            )
        return None


def _fooocus_loras(d: dict[str, Any]) -> list[Lora]:
    out: list[Lora] = []
    for item in d.get("loras") or ():  # [name, weight, hash?]
        if isinstance(item, list) and item and isinstance(item[0], str):
            weight = as_float(item[1]) if len(item) > 1 else None
            digest = as_str(item[2]) if len(item) > 2 else None
            out.append(Lora(item[0], digest, weight))
    if out:
        return out
    for key, value in d.items():  # "LoRA 1" / "lora_combined_1": "name : weight"
        if key.startswith(("lora_", "lora")) and isinstance(value, str) and ":" in value:
            name, _, strength = value.rpartition(":")
            if name.strip() and name.strip().lower() != "none":
                out.append(Lora(name.strip(), None, as_float(strength)))
    return out


class SwarmUIParser(GeneratorParser):
    """SwarmUI: ``{"sui_image_params": {...}, "sui_models": [...]}``."""

    tool = "SwarmUI"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        for entry in meta.all("parameters", "UserComment", "ImageDescription"):
            if not entry.value.lstrip().startswith("{") or "sui_image_params" not in entry.value:
                continue
            d = ctx.json_object(entry)
            p = d.get("sui_image_params")
            if not isinstance(p, dict):
                raise MetadataError(entry.source, "sui_image_params is not an object")
            hashes = {
                (m.get("param"), m.get("name")): as_str(m.get("hash"))
                for m in d.get("sui_models") or ()
                if isinstance(m, dict)
            }
            model = as_str(p.get("model"))
            names = [n for n in p.get("loras") or () if isinstance(n, str)]
            weights = list(p.get("loraweights") or ())
            loras = tuple(
                Lora(
                    n,
                    _swarm_hash(hashes, "loras", n),
                    as_float(weights[i]) if i < len(weights) else None,
                )
                for i, n in enumerate(names)
            )
            return ctx.info(
                self.tool,
                entry,
                model_name=model,
                model_hash=_swarm_hash(hashes, "model", model) if model else None,
                loras=loras,
                vae=as_str(p.get("vae")),
                seed=as_int(p.get("seed")),
                steps=as_int(p.get("steps")),
                sampler=as_str(p.get("sampler")),
                cfg=as_float(p.get("cfgscale")),
                width=as_int(p.get("width")),
                height=as_int(p.get("height")),
                prompt=p.get("prompt"),
                negative_prompt=p.get("negativeprompt"),
                version=as_str(p.get("swarm_version")),
            )
        return None


def _swarm_hash(hashes: dict[tuple[Any, Any], str | None], param: str, name: str) -> str | None:
    for (p, n), digest in hashes.items():
        if p == param and isinstance(n, str) and (n == name or n.rsplit(".", 1)[0] == name):
            return digest
    return None


class CivitaiParser(GeneratorParser):
    """Civitai's generator: UserComment JSON with AIR URNs (a graph and ``extraMetadata``)."""

    tool = "Civitai"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        for entry in meta.all("UserComment", "parameters"):
            if not entry.value.lstrip().startswith("{") or "urn:air:" not in entry.value:
                continue
            d = ctx.json_object(entry)
            nodes = {k: v for k, v in d.items() if isinstance(v, dict) and "class_type" in v}
            result = ComfyResult()
            if nodes:
                try:
                    graph = api_graph(nodes, ctx.limits.max_graph_nodes)
                    result = walk(graph, ctx.limits.max_graph_steps)
                except GraphError as exc:
                    ctx.problem(entry.source, str(exc))
            extra: Any = d.get("extraMetadata")
            if isinstance(extra, str):
                try:
                    extra = json.loads(extra)
                except (ValueError, RecursionError):
                    ctx.problem(entry.source, "extraMetadata is not valid JSON")
                    extra = None
            x: dict[str, Any] = extra if isinstance(extra, dict) else {}
            air = air_urns(entry.value)
            seed = as_int(x.get("seed"))
            if seed is None:
                seed = _first(result.seeds)
            checkpoints = [a for a in air if ":checkpoint:" in a]
            loras = list(result.loras) or [Lora(a) for a in air if ":lora:" in a]
            return ctx.info(
                self.tool,
                entry,
                model_name=(result.models[0] if result.models else None)
                or (checkpoints[0] if checkpoints else None),
                models=tuple(result.models) or tuple(checkpoints),
                loras=tuple(loras),
                vae=result.vae,
                seed=seed,
                seeds=tuple(dict.fromkeys([*([seed] if seed is not None else []), *result.seeds])),
                steps=as_int(x.get("steps")) or result.steps,
                sampler=as_str(x.get("sampler")) or result.sampler,
                cfg=as_float(x.get("cfgScale")) or result.cfg,
                width=result.width,
                height=result.height,
                prompt=x.get("prompt") if isinstance(x.get("prompt"), str) else result.prompt,
                negative_prompt=x.get("negativePrompt")
                if isinstance(x.get("negativePrompt"), str)
                else result.negative_prompt,
                air=air,
            )
        return None


def _first(values: list[int]) -> int | None:
    return values[0] if values else None
