"""Parsers for the stand-alone generators: NovelAI, InvokeAI, Draw Things and Midjourney.

=============  ================================================================================
tool           where
=============  ================================================================================
NovelAI        PNG ``Software`` = ``NovelAI``, ``Source`` (model and its hash), ``Description``
               (prompt), ``Comment`` JSON (steps, sampler, seed, scale, ``uc``); also in a
               stealth payload
InvokeAI       ``invokeai_metadata`` JSON (v3+), ``sd-metadata`` JSON (v2), ``Dream`` (v1:
               ``"prompt" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms``)
Draw Things    XMP ``exif:UserComment`` JSON: ``c`` (prompt), ``uc``, ``model``, ``sampler``,
               ``seed``, ``steps``, ``scale``, ``size``, ``lora``
Midjourney     ``Description`` (PNG text or XMP ``dc:description``) ending in ``Job ID: <uuid>``;
               ``--v``/``--niji`` give the model version, ``--seed`` the seed
=============  ================================================================================
"""

from __future__ import annotations

import re
from typing import Any

from verisight.analysis.provenance.a1111 import parse_size
from verisight.analysis.provenance.base import (
    GeneratorParser,
    Metadata,
    ParseContext,
    as_float,
    as_int,
    as_str,
)
from verisight.analysis.provenance.model import GeneratorInfo, Lora

_NOVELAI_SOURCE_HASH = re.compile(r"\s([0-9A-Fa-f]{8})\s*$")
_DREAM_PROMPT = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"')
_DREAM_FLAG = re.compile(r"(?:^|\s)-([A-Za-z])\s+(\S+)")
_MJ_JOB = re.compile(
    r"Job ID:\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
_MJ_VERSION = re.compile(r"--(v|version|niji)\s+([0-9][0-9.]*)")
_MJ_SEED = re.compile(r"--seed\s+(\d+)")


class NovelAIParser(GeneratorParser):
    tool = "NovelAI"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        software = (meta.value("Software") or "").strip()
        comment = meta.get("Comment")
        c: dict[str, Any] = {}
        is_json = comment is not None and comment.value.lstrip().startswith("{")
        if comment is not None and is_json and (software == "NovelAI" or '"uc"' in comment.value):
            c = ctx.json_object(comment)
        if software != "NovelAI" and not ("uc" in c and "scale" in c):
            return None
        entry = comment if c and comment is not None else meta.get("Software")
        if entry is None:
            return None
        source = (meta.value("Source") or "").strip() or None
        m = _NOVELAI_SOURCE_HASH.search(source or "")
        prompt = c.get("prompt") if isinstance(c.get("prompt"), str) else meta.value("Description")
        return ctx.info(
            self.tool,
            entry,
            model_name=source,
            model_hash=m.group(1) if m else None,
            seed=as_int(c.get("seed")),
            steps=as_int(c.get("steps")),
            sampler=as_str(c.get("sampler")),
            cfg=as_float(c.get("scale")),
            width=as_int(c.get("width")),
            height=as_int(c.get("height")),
            prompt=prompt,
            negative_prompt=c.get("uc"),
            version=as_str(c.get("version")),
        )


class InvokeAIParser(GeneratorParser):
    tool = "InvokeAI"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        if (entry := meta.get("invokeai_metadata")) is not None:
            d = ctx.json_object(entry)
            model = _obj(d.get("model"))
            vae = d.get("vae")
            return ctx.info(
                self.tool,
                entry,
                model_name=_model_name(model) or as_str(d.get("model")),
                model_hash=as_str(model.get("hash")),
                loras=tuple(_invoke_loras(d.get("loras"))),
                vae=_model_name(vae) if isinstance(vae, dict) else as_str(vae),
                seed=as_int(d.get("seed")),
                steps=as_int(d.get("steps")),
                sampler=as_str(d.get("scheduler")),
                cfg=as_float(d.get("cfg_scale")),
                width=as_int(d.get("width")),
                height=as_int(d.get("height")),
                prompt=d.get("positive_prompt"),
                negative_prompt=d.get("negative_prompt"),
                version=as_str(d.get("app_version")),
            )
        if (entry := meta.get("sd-metadata")) is not None:
            d = ctx.json_object(entry)
            image = _obj(d.get("image"))
            prompt = image.get("prompt")
            if isinstance(prompt, list):
                prompt = " ".join(str(p.get("prompt", "")) for p in prompt if isinstance(p, dict))
            return ctx.info(
                self.tool,
                entry,
                model_name=as_str(d.get("model_weights")),
                model_hash=as_str(d.get("model_hash")),
                seed=as_int(image.get("seed")),
                steps=as_int(image.get("steps")),
                sampler=as_str(image.get("sampler")),
                cfg=as_float(image.get("cfg_scale")),
                width=as_int(image.get("width")),
                height=as_int(image.get("height")),
                prompt=prompt if isinstance(prompt, str) else None,
                version=as_str(d.get("app_version")),
            )
        if (entry := meta.get("Dream")) is not None:
            m = _DREAM_PROMPT.match(entry.value)
            flags = dict(_DREAM_FLAG.findall(entry.value[m.end() if m else 0 :]))
            return ctx.info(
                self.tool,
                entry,
                seed=as_int(flags.get("S")),
                steps=as_int(flags.get("s")),
                sampler=flags.get("A"),
                cfg=as_float(flags.get("C")),
                width=as_int(flags.get("W")),
                height=as_int(flags.get("H")),
                prompt=m.group(1) if m else None,
                version="1.x",
            )
        return None


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model_name(model: dict[str, Any]) -> str | None:
    return as_str(model.get("model_name")) or as_str(model.get("name"))


def _invoke_loras(items: object) -> list[Lora]:
    out: list[Lora] = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        model = item.get("model") or item.get("lora")
        if isinstance(model, dict) and (name := _model_name(model)):
            out.append(Lora(name, as_str(model.get("hash")), as_float(item.get("weight"))))
    return out


class DrawThingsParser(GeneratorParser):
    tool = "Draw Things"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        entry = meta.get("xmp:UserComment")
        if entry is None or not entry.value.lstrip().startswith("{"):
            return None
        d = ctx.json_object(entry)
        if "c" not in d and (meta.value("xmp:CreatorTool") or "") != "Draw Things":
            return None
        width, height = parse_size(as_str(d.get("size")))
        loras = [
            Lora(str(x.get("file")), None, as_float(x.get("weight")))
            for x in d.get("lora") or (d.get("v2") or {}).get("loras") or ()
            if isinstance(x, dict) and x.get("file")
        ]
        return ctx.info(
            self.tool,
            entry,
            model_name=as_str(d.get("model")),
            loras=tuple(loras),
            seed=as_int(d.get("seed")),
            steps=as_int(d.get("steps")),
            sampler=as_str(d.get("sampler")),
            cfg=as_float(d.get("scale")),
            width=width,
            height=height,
            prompt=d.get("c"),
            negative_prompt=d.get("uc"),
        )


class MidjourneyParser(GeneratorParser):
    tool = "Midjourney"

    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        if (meta.value("Software") or "").strip() == "NovelAI":
            return None
        for entry in meta.all("Description", "xmp:description"):
            job = _MJ_JOB.search(entry.value)
            if job is None:
                continue
            prompt = entry.value[: job.start()].strip()
            version = _MJ_VERSION.search(prompt)
            seed = _MJ_SEED.search(prompt)
            model = None
            if version:
                model = (
                    f"niji {version.group(2)}"
                    if version.group(1) == "niji"
                    else f"v{version.group(2)}"
                )
            return ctx.info(
                self.tool,
                entry,
                model_name=model,
                seed=int(seed.group(1)) if seed else None,
                prompt=prompt,
                version=version.group(2) if version else None,
            )
        return None
