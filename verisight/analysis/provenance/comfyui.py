"""ComfyUI graphs: find the model, LoRAs, seeds and prompts by following links from samplers.

Two graph forms exist. The **API graph** (PNG ``prompt``; WebP EXIF 0x0110 ``prompt:{…}``) maps
node ids to ``{"class_type", "inputs"}``, where an input is a value or a link
``[source_node_id, output_slot]``. The **UI workflow** (``workflow``) lists nodes with
positional ``widgets_values`` and a separate link table; it is converted to the API form for
the node types whose widget order is known (:mod:`.comfyui_workflow`), so one walker serves
both (the API graph is preferred when both are present).

The walk starts at the sampler nodes (``KSampler``, ``KSamplerAdvanced``, ``SamplerCustom``,
``SamplerCustomAdvanced`` and anything named like them), ordered by their distance from the
output nodes (the sampler nearest the saved image is primary):

* model: follow ``model`` inputs (or a guider's) up to checkpoint/UNet loaders, collecting LoRA
  loaders on the way (Flux and SD3 graphs load a UNet with ``UNETLoader``);
* seed: ``seed`` / ``noise_seed``, or the ``RandomNoise`` node behind ``noise``;
* steps, cfg, sampler: the sampler's own inputs, or its ``sigmas`` scheduler, guider and
  ``KSamplerSelect``;
* prompts: from ``positive`` / ``negative`` (or a guider's) through conditioning nodes to
  text encoders (``CLIPTextEncode``, ``CLIPTextEncodeFlux``, ``…SDXL``); at a node that has both
  ``positive`` and ``negative`` inputs only the branch being followed is taken.

Every walk keeps a visited set (cycles end) and all walks together stop after
``max_graph_steps`` visits; a graph over ``max_graph_nodes`` nodes is refused.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from verisight.analysis.provenance.model import Lora

Graph = dict[str, dict[str, Any]]

_OUTPUT_HINTS = ("Save", "Preview")
#: Most models, LoRAs and seeds kept from one graph.
MAX_ITEMS = 64
_MODEL_KEYS = ("ckpt_name", "unet_name", "base_ckpt_name", "model_path")
_TEXT_KEYS = (
    *("text", "text_g", "text_l", "clip_l", "clip_g", "t5xxl", "prompt", "positive_prompt"),
)
_NOT_PROMPT = frozenset(
    {
        *("model", "clip", "vae", "pixels", "image", "images", "mask", "control_net"),
        *("latent", "latent_image", "samples", "noise", "sampler", "sigmas", "seed"),
        *("style_model", "clip_vision", "clip_vision_output", "upscale_model"),
    }
)


class GraphError(ValueError):
    """The graph is not a ComfyUI graph, or is over a limit."""


@dataclass(slots=True)
class ComfyResult:
    models: list[str] = field(default_factory=list)
    loras: list[Lora] = field(default_factory=list)
    vae: str | None = None
    seeds: list[int] = field(default_factory=list)
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    samplers: int = 0
    _names: set[object] = field(default_factory=set)

    def add_model(self, name: str) -> None:
        if name not in self._names and len(self.models) < MAX_ITEMS:
            self._names.add(name)
            self.models.append(name)

    def add_lora(self, name: str, weight: object) -> None:
        if ("lora", name) in self._names or len(self.loras) >= MAX_ITEMS:
            return
        self._names.add(("lora", name))
        number = isinstance(weight, int | float) and not isinstance(weight, bool)
        w = float(weight) if number else None  # type: ignore[arg-type]
        w = w if w is not None and math.isfinite(w) else None
        self.loras.append(Lora(name, None, w))

    def add_seed(self, seed: int) -> None:
        if seed not in self.seeds and len(self.seeds) < MAX_ITEMS:
            self.seeds.append(seed)


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def api_graph(obj: object, max_nodes: int) -> Graph:
    """Validate an API graph: ``{id: {"class_type": str, "inputs": dict}}``."""
    if not isinstance(obj, dict):
        raise GraphError("not a JSON object")
    if len(obj) > max_nodes:
        raise GraphError(f"graph has {len(obj):,} nodes; the limit is {max_nodes:,}")
    graph: Graph = {}
    for key, node in obj.items():
        if isinstance(node, dict) and isinstance(node.get("class_type"), str):
            inputs = node.get("inputs")
            graph[str(key)] = {
                "class_type": node["class_type"],
                "inputs": inputs if isinstance(inputs, dict) else {},
            }
    if not graph:
        raise GraphError("no nodes with a class_type")
    return graph


def walk(graph: Graph, max_steps: int) -> ComfyResult:
    """Everything the samplers of ``graph`` were given (see the module docstring)."""
    budget = _Budget(max_steps)
    result = ComfyResult()
    samplers, upstream = _samplers(graph, budget)
    result.samplers = len(samplers)
    for sid in samplers:
        _sampler(graph, sid, result, budget, primary=sid == samplers[0])
    for nid in upstream:  # the VAE usually joins after the sampler (VAEDecode)
        vae = graph[nid]["inputs"].get("vae_name")
        if result.vae is None and isinstance(vae, str) and vae:
            result.vae = vae
    if not samplers:  # unknown sampler nodes: a flat scan is better than nothing
        for nid in graph:
            _collect_loader(graph[nid], result)
    return result


def _is_sampler(class_type: str) -> bool:
    if class_type.startswith("SamplerCustom"):
        return True
    return "KSampler" in class_type and class_type != "KSamplerSelect"


def _links(node: dict[str, Any], names: tuple[str, ...] | None = None) -> Iterator[tuple[str, str]]:
    for name, value in node["inputs"].items():
        if names is not None and name not in names:
            continue
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int):
            yield name, str(value[0])


def _samplers(graph: Graph, budget: _Budget) -> tuple[list[str], list[str]]:
    """Samplers, nearest the output first, and every node upstream of an output."""
    all_samplers = [nid for nid, n in graph.items() if _is_sampler(n["class_type"])]
    outputs = [nid for nid, n in graph.items() if any(h in n["class_type"] for h in _OUTPUT_HINTS)]
    ordered: list[str] = []
    seen: set[str] = set(outputs)
    queue = deque(outputs)
    upstream: list[str] = []
    while queue and budget.spend():
        nid = queue.popleft()
        upstream.append(nid)
        if _is_sampler(graph[nid]["class_type"]):
            ordered.append(nid)
        for _, src in _links(graph[nid]):
            if src in graph and src not in seen:
                seen.add(src)
                queue.append(src)
    found = set(ordered)
    ordered += sorted((s for s in all_samplers if s not in found), key=_id_key)
    return ordered, upstream


def _id_key(nid: str) -> tuple[int, str]:
    return (int(nid), nid) if nid.isdigit() and len(nid) < 18 else (1 << 62, nid)


def _linked(graph: Graph, node: dict[str, Any], name: str) -> dict[str, Any] | None:
    for _, src in _links(node, (name,)):
        return graph.get(src)
    return None


def _sampler(graph: Graph, sid: str, out: ComfyResult, budget: _Budget, *, primary: bool) -> None:
    node = graph[sid]
    guider = _linked(graph, node, "guider")
    sigmas = _linked(graph, node, "sigmas")
    noise = _linked(graph, node, "noise")
    select = _linked(graph, node, "sampler")
    seed = _number(graph, node, ("seed", "noise_seed"), budget)
    if seed is None and noise is not None:
        seed = _number(graph, noise, ("noise_seed", "seed"), budget)
    if seed is not None and float(seed).is_integer():
        out.add_seed(int(seed))
    model_roots = [n for n in (node, guider, sigmas) if n is not None]
    for root in model_roots:
        _walk_models(graph, root, out, budget)
    _walk_all_loaders(graph, node, out, budget)
    if not primary:
        return
    steps = _number(graph, node, ("steps",), budget)
    if steps is None and sigmas is not None:
        steps = _number(graph, sigmas, ("steps",), budget)
    out.steps = int(steps) if steps is not None and float(steps).is_integer() else None
    cfg = _number(graph, node, ("cfg",), budget)
    if cfg is None and guider is not None:
        cfg = _number(graph, guider, ("cfg",), budget)
    out.cfg = float(cfg) if cfg is not None else None
    name = node["inputs"].get("sampler_name")
    if not isinstance(name, str) and select is not None:
        name = select["inputs"].get("sampler_name")
    out.sampler = name if isinstance(name, str) else None
    cond = guider if guider is not None and not _has(node, "positive") else node
    positive = "positive" if _has(cond, "positive") else "conditioning"
    out.prompt = _prompt(graph, cond, positive, "positive", budget)
    out.negative_prompt = _prompt(graph, cond, "negative", "negative", budget)
    out.width, out.height = _size(graph, node, budget)


def _has(node: dict[str, Any], name: str) -> bool:
    return name in node["inputs"]


def _number(
    graph: Graph, node: dict[str, Any], names: tuple[str, ...], budget: _Budget, depth: int = 0
) -> int | float | None:
    """A numeric input, following a link to a primitive/seed node when it is one."""
    for name in names:
        value = node["inputs"].get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return value
        if isinstance(value, list) and len(value) == 2 and depth < 8 and budget.spend():
            src = graph.get(str(value[0]))
            if src is not None:
                found = _number(
                    graph, src, (*names, "value", "int", "number", "seed"), budget, depth + 1
                )
                if found is not None:
                    return found
    return None


def _walk_models(graph: Graph, start: dict[str, Any], out: ComfyResult, budget: _Budget) -> None:
    """Follow model-carrying inputs upstream to the loaders."""
    queue: deque[dict[str, Any]] = deque([start])
    seen: set[int] = {id(start)}
    while queue and budget.spend():
        node = queue.popleft()
        if node is not start:
            _collect_loader(node, out)
        for name, src in _links(node):
            if "model" in name or name in ("guider", "unet"):
                nxt = graph.get(src)
                if nxt is not None and id(nxt) not in seen:
                    seen.add(id(nxt))
                    queue.append(nxt)


def _walk_all_loaders(
    graph: Graph, start: dict[str, Any], out: ComfyResult, budget: _Budget
) -> None:
    """Every loader upstream of a sampler (LoRAs applied to CLIP only, VAEs, refiners)."""
    queue: deque[dict[str, Any]] = deque([start])
    seen: set[int] = {id(start)}
    while queue and budget.spend():
        node = queue.popleft()
        if node is not start:
            _collect_loader(node, out)
        for _, src in _links(node):
            nxt = graph.get(src)
            if nxt is not None and id(nxt) not in seen:
                seen.add(id(nxt))
                queue.append(nxt)


def _collect_loader(node: dict[str, Any], out: ComfyResult) -> None:
    inputs = node["inputs"]
    for key in _MODEL_KEYS:
        value = inputs.get(key)
        if isinstance(value, str) and value:
            out.add_model(value)
    lora = inputs.get("lora_name")
    if isinstance(lora, str) and lora:
        out.add_lora(lora, inputs.get("strength_model", inputs.get("strength")))
    for value in inputs.values():  # rgthree "Power Lora Loader": {"on", "lora", "strength"}
        if isinstance(value, dict) and isinstance(value.get("lora"), str) and value.get("on", 1):
            out.add_lora(value["lora"], value.get("strength"))
    vae = inputs.get("vae_name")
    if isinstance(vae, str) and vae and out.vae is None:
        out.vae = vae


def _prompt(
    graph: Graph, node: dict[str, Any], name: str, branch: str, budget: _Budget
) -> str | None:
    other = "negative" if branch == "positive" else "positive"
    texts: list[str] = []
    start = _linked(graph, node, name)
    if start is None:
        return None
    queue: deque[dict[str, Any]] = deque([start])
    seen: set[int] = {id(start)}
    while queue and budget.spend():
        cur = queue.popleft()
        if "TextEncode" in cur["class_type"] or "Prompt" in cur["class_type"]:
            for key in _TEXT_KEYS:
                text = _string(graph, cur["inputs"].get(key), budget)
                if text and text.strip() and text.strip() not in texts:
                    texts.append(text.strip())
            continue
        names = (branch,) if _has(cur, branch) else None
        for inp, src in _links(cur, names):
            if inp in _NOT_PROMPT or inp == other:
                continue
            nxt = graph.get(src)
            if nxt is not None and id(nxt) not in seen:
                seen.add(id(nxt))
                queue.append(nxt)
    return "\n".join(texts) if texts else ("" if start is not None else None)


def _string(graph: Graph, value: object, budget: _Budget, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 2 and depth < 8 and budget.spend():
        src = graph.get(str(value[0]))
        if src is not None:
            for key in (*_TEXT_KEYS, "string", "value", "text_a"):
                found = _string(graph, src["inputs"].get(key), budget, depth + 1)
                if found is not None:
                    return found
    return None


def _size(graph: Graph, node: dict[str, Any], budget: _Budget) -> tuple[int | None, int | None]:
    cur: dict[str, Any] | None = _linked(graph, node, "latent_image")
    for _ in range(16):
        if cur is None or not budget.spend():
            break
        w, h = cur["inputs"].get("width"), cur["inputs"].get("height")
        if isinstance(w, int) and isinstance(h, int) and not isinstance(w, bool):
            return w, h
        nxt = None
        for name in ("samples", "latent", "latent_image", "latents"):
            nxt = _linked(graph, cur, name)
            if nxt is not None:
                break
        cur = nxt
    return None, None
