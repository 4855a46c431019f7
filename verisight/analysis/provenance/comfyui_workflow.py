"""ComfyUI's UI workflow (``workflow`` chunk) converted to the API-graph form the walker reads.

A UI workflow lists nodes with positional ``widgets_values`` and a separate link table
(``[link_id, origin_id, origin_slot, target_id, target_slot, type]``, or objects with those
names in newer files). Widget values are named for the node types in :data:`WIDGETS` (others
keep only their links, or their named ``widgets_values`` when the file stores a dict). Muted
(mode 2) and bypassed (mode 4) nodes keep their links, so a walk passes through them, but not
their settings: a bypassed LoRA loader applies no LoRA. Subgraphs and group nodes are not
expanded.
"""

from __future__ import annotations

from typing import Any

from verisight.analysis.provenance.comfyui import Graph, GraphError

#: Widget order of common node types (UI workflow → named inputs).
WIDGETS: dict[str, tuple[str, ...]] = {
    "KSampler": ("seed", "", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": ("add_noise", "noise_seed", "", "steps", "cfg", "sampler_name"),
    "SamplerCustom": ("add_noise", "noise_seed", "", "cfg"),
    "RandomNoise": ("noise_seed",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CheckpointLoader": ("config_name", "ckpt_name"),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "UnetLoaderGGUF": ("unet_name",),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "VAELoader": ("vae_name",),
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeFlux": ("clip_l", "t5xxl", "guidance"),
    "CLIPTextEncodeSDXL": ("width", "height", "", "", "", "", "text_g", "text_l"),
    "EmptyLatentImage": ("width", "height"),
    "EmptySD3LatentImage": ("width", "height"),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "SDTurboScheduler": ("steps", "denoise"),
    "CFGGuider": ("cfg",),
}


def ui_graph(obj: object, max_nodes: int) -> Graph:
    """Convert a UI workflow (``nodes`` + ``links``) to the API form."""
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise GraphError("not a ComfyUI workflow (no nodes list)")
    nodes: list[Any] = obj["nodes"]
    if len(nodes) > max_nodes:
        raise GraphError(f"workflow has {len(nodes):,} nodes; the limit is {max_nodes:,}")
    origin: dict[Any, list[Any]] = {}
    for link in obj.get("links") or ():
        if isinstance(link, list) and len(link) >= 3:
            origin[link[0]] = [str(link[1]), link[2]]
        elif isinstance(link, dict) and "id" in link:
            origin[link["id"]] = [str(link.get("origin_id")), link.get("origin_slot", 0)]
    graph: Graph = {}
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        inputs: dict[str, Any] = {}
        muted = node.get("mode") in (2, 4)  # never / bypass: its own settings do not apply
        values = node.get("widgets_values")
        if not muted and isinstance(values, dict):
            inputs.update({str(k): v for k, v in values.items()})
        elif not muted and isinstance(values, list):
            for name, value in zip(WIDGETS.get(node["type"], ()), values, strict=False):
                if name:
                    inputs[name] = value
        for inp in node.get("inputs") or ():
            if isinstance(inp, dict) and inp.get("link") in origin and inp.get("name"):
                inputs[str(inp["name"])] = origin[inp["link"]]
        graph[str(node.get("id"))] = {"class_type": node["type"], "inputs": inputs}
    if not graph:
        raise GraphError("no nodes with a type")
    return graph
