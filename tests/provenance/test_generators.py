"""One parametrised suite for every generator parser in the registry.

Each :class:`Case` is a generated file written the way the tool writes it, and the fields its
primary :class:`GeneratorInfo` must have. ``test_every_parser_has_examples`` fails when a parser
is registered without an example, as python-threatexchange's signal-type test helper does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.provenance import builders as b
from verisight.analysis.provenance import PARSERS, Lora, extract_provenance

PROMPT = "a red bicycle, <lora:bike_detail:0.8>, mountain landscape <lora:sky-v2:0.35>"
A1111_TEXT = (
    PROMPT + "\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, "
    "Size: 832x1216, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    "VAE: vae-ft-mse.safetensors, "
    'Denoising strength: 0.4, Hires upscaler: "4x, UltraSharp", '
    'Lora hashes: "bike_detail: 0123456789ab, sky-v2: ba9876543210", Version: v1.10.1'
)
FORGE_TEXT = (
    "mountain landscape\nSteps: 20, Sampler: Euler, CFG scale: 1, Seed: 5, Size: 896x1152, "
    "Model hash: abcdef0123, Model: flux1-dev-bnb-nf4, Version: f2.0.1v1.10.1-previous-313"
)
CIVITAI_TEXT = (
    "a red bicycle\nNegative prompt: text\n"
    "Steps: 25, Sampler: Euler a, CFG scale: 5, Seed: 77, Size: 832x1216, Clip skip: 2, "
    'Civitai resources: [{"type":"checkpoint","modelVersionId":128713,"modelName":"Dream Model",'
    '"modelVersionName":"v8"},{"type":"lora","weight":0.6,"modelVersionId":55,'
    '"modelName":"Bike Style"}], '
    'Civitai metadata: {"remixOfId":1}'
)
SWARM = {
    "sui_image_params": {
        "prompt": "a red bicycle",
        "negativeprompt": "blurry",
        "model": "sd_xl_base_1.0",
        "seed": 1234,
        "steps": 30,
        "cfgscale": 7.5,
        "width": 1024,
        "height": 1024,
        "sampler": "dpmpp_2m",
        "loras": ["bike_detail"],
        "loraweights": ["0.7"],
        "swarm_version": "0.9.2.1",
    },
    "sui_models": [
        {"name": "sd_xl_base_1.0.safetensors", "param": "model", "hash": "0x31e35c80fc"},
        {"name": "bike_detail.safetensors", "param": "loras", "hash": "0xabc"},
    ],
}
FOOOCUS = {
    "prompt": "mountain landscape",
    "negative_prompt": "",
    "styles": "['Fooocus V2']",
    "performance": "Speed",
    "resolution": "(1152, 896)",
    "guidance_scale": 4,
    "sharpness": 2,
    "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "base_model_hash": "aeb7e9e689",
    "refiner_model": "None",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "8675309",
    "loras": [["sd_xl_offset_example-lora_1.0.safetensors", 0.1, "4852686128"]],
    "metadata_scheme": "fooocus",
    "version": "Fooocus v2.5.5",
}
NOVELAI_COMMENT = {
    "prompt": "a red bicycle, mountain landscape",
    "steps": 28,
    "height": 1216,
    "width": 832,
    "scale": 5.0,
    "uncond_scale": 1.0,
    "seed": 2718281828,
    "n_samples": 1,
    "sampler": "k_euler_ancestral",
    "uc": "lowres, blurry",
}
INVOKE_V2 = {
    "model": "stable diffusion",
    "model_weights": "stable-diffusion-1.5",
    "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516",
    "app_id": "invoke-ai/InvokeAI",
    "app_version": "2.3.0",
    "image": {
        "prompt": [{"prompt": "a red bicycle [blurry]", "weight": 1.0}],
        "steps": 50,
        "cfg_scale": 7.5,
        "height": 512,
        "width": 512,
        "seed": 3000,
        "type": "txt2img",
        "sampler": "k_lms",
    },
}
DRAW_THINGS = {
    "c": "mountain landscape",
    "uc": "people",
    "model": "sd_xl_base_1.0_f16.ckpt",
    "sampler": "DPM++ 2M Karras",
    "seed": 99,
    "steps": 30,
    "scale": 7,
    "size": "1024x768",
    "strength": 1,
    "lora": [{"file": "bike_detail_lora_f16.ckpt", "weight": 0.5}],
}
CIVITAI_GRAPH = {
    "resource-stack": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:101055@128078"},
    },
    "resource-stack-1": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "urn:air:sdxl:lora:civitai:55@66",
            "strength_model": 0.6,
            "model": ["resource-stack", 0],
            "clip": ["resource-stack", 1],
        },
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a red bicycle", "clip": ["resource-stack-1", 1]},
    },
    "11": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 909,
            "steps": 20,
            "cfg": 4.0,
            "sampler_name": "euler",
            "model": ["resource-stack-1", 0],
            "positive": ["6", 0],
            "negative": ["6", 0],
        },
    },
    "extraMetadata": json.dumps(
        {
            "prompt": "a red bicycle",
            "negativePrompt": "text",
            "steps": 20,
            "cfgScale": 4,
            "sampler": "Euler",
            "seed": 909,
        }
    ),
}


def _ui_workflow() -> dict[str, Any]:
    """A UI-only workflow (no API graph): KSampler → CheckpointLoaderSimple, LoraLoader."""
    return {
        "nodes": [
            {
                "id": 4,
                "type": "CheckpointLoaderSimple",
                "mode": 0,
                "widgets_values": ["dreamshaper_8.safetensors"],
            },
            {
                "id": 10,
                "type": "LoraLoader",
                "mode": 0,
                "widgets_values": ["bike_detail.safetensors", 0.9, 1.0],
                "inputs": [{"name": "model", "link": 1}, {"name": "clip", "link": 2}],
            },
            {
                "id": 11,
                "type": "LoraLoader",
                "mode": 4,
                "widgets_values": ["bypassed.safetensors", 1.0, 1.0],
                "inputs": [{"name": "model", "link": 3}, {"name": "clip", "link": 4}],
            },
            {
                "id": 6,
                "type": "CLIPTextEncode",
                "mode": 0,
                "widgets_values": ["a red bicycle"],
                "inputs": [{"name": "clip", "link": 5}],
            },
            {
                "id": 7,
                "type": "CLIPTextEncode",
                "mode": 0,
                "widgets_values": ["blurry"],
                "inputs": [{"name": "clip", "link": 5}],
            },
            {
                "id": 3,
                "type": "KSampler",
                "mode": 0,
                "widgets_values": [123456789, "randomize", 25, 7.0, "euler", "normal", 1.0],
                "inputs": [
                    {"name": "model", "link": 6},
                    {"name": "positive", "link": 7},
                    {"name": "negative", "link": 8},
                ],
            },
            {"id": 9, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "link": 9}]},
            {"id": 8, "type": "VAEDecode", "mode": 0, "inputs": [{"name": "samples", "link": 10}]},
        ],
        "links": [
            [1, 4, 0, 10, 0, "MODEL"],
            [2, 4, 1, 10, 1, "CLIP"],
            [3, 10, 0, 11, 0, "MODEL"],
            [4, 10, 1, 11, 1, "CLIP"],
            [5, 11, 1, 6, 0, "CLIP"],
            [6, 11, 0, 3, 0, "MODEL"],
            [7, 6, 0, 3, 1, "CONDITIONING"],
            [8, 7, 0, 3, 2, "CONDITIONING"],
            [9, 8, 0, 9, 0, "IMAGE"],
            [10, 3, 0, 8, 0, "LATENT"],
        ],
    }


@dataclass(frozen=True)
class Case:
    id: str
    parser: str
    build: Callable[[], bytes]
    mime: str
    expect: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "a1111-png",
        "A1111Parser",
        lambda: b.png_text({"parameters": A1111_TEXT}),
        "image/png",
        {
            "tool": "AUTOMATIC1111",
            "source": "PNG tEXt parameters",
            "model_name": "v1-5-pruned-emaonly",
            "model_hash": "6ce0161689",
            "seed": 3141592653,
            "steps": 28,
            "sampler": "DPM++ 2M",
            "cfg": 6.5,
            "width": 832,
            "height": 1216,
            "vae": "vae-ft-mse.safetensors",
            "prompt": PROMPT,
            "negative_prompt": "blurry, lowres",
            "version": "v1.10.1",
            "loras": (
                Lora("bike_detail", "0123456789ab", 0.8),
                Lora("sky-v2", "ba9876543210", 0.35),
            ),
        },
    ),
    Case(
        "a1111-png-itxt-nonlatin",
        "A1111Parser",
        lambda: b.png_text(
            {"parameters": "山の風景\nSteps: 4, Seed: 1, Model: m"}, itxt=("parameters",)
        ),
        "image/png",
        {"tool": "AUTOMATIC1111", "source": "PNG iTXt parameters", "prompt": "山の風景"},
    ),
    Case(
        "a1111-png-ztxt",
        "A1111Parser",
        lambda: b.png_text({"parameters": FORGE_TEXT}, ztxt=("parameters",)),
        "image/png",
        {
            "tool": "Forge",
            "source": "PNG zTXt parameters",
            "model_name": "flux1-dev-bnb-nf4",
            "seed": 5,
        },
    ),
    Case(
        "a1111-jpeg-unicode-be",
        "A1111Parser",
        lambda: b.jpeg(b.exif_bytes(user_comment=b.user_comment_unicode(A1111_TEXT))),
        "image/jpeg",
        {"tool": "AUTOMATIC1111", "source": "EXIF UserComment", "seed": 3141592653, "width": 832},
    ),
    Case(
        "a1111-jpeg-unicode-le",
        "A1111Parser",
        lambda: b.jpeg(
            b.exif_bytes(user_comment=b.user_comment_unicode(A1111_TEXT, little_endian=True))
        ),
        "image/jpeg",
        {"tool": "AUTOMATIC1111", "seed": 3141592653, "negative_prompt": "blurry, lowres"},
    ),
    Case(
        "a1111-jpeg-unicode-bom",
        "A1111Parser",
        lambda: b.jpeg(
            b.exif_bytes(
                user_comment=b.user_comment_unicode(FORGE_TEXT, little_endian=True, bom=True)
            )
        ),
        "image/jpeg",
        {"tool": "Forge", "seed": 5},
    ),
    Case(
        "a1111-jpeg-ascii",
        "A1111Parser",
        lambda: b.jpeg(b.exif_bytes(user_comment=b"ASCII\x00\x00\x00" + FORGE_TEXT.encode())),
        "image/jpeg",
        {"tool": "Forge", "steps": 20, "cfg": 1.0},
    ),
    Case(
        "a1111-webp-exif",
        "A1111Parser",
        lambda: b.webp(b.exif_bytes(user_comment=b.user_comment_unicode(A1111_TEXT))),
        "image/webp",
        {"tool": "AUTOMATIC1111", "source": "WebP EXIF UserComment", "model_hash": "6ce0161689"},
    ),
    Case(
        "civitai-infotext",
        "A1111Parser",
        lambda: b.jpeg(b.exif_bytes(user_comment=b.user_comment_unicode(CIVITAI_TEXT))),
        "image/jpeg",
        {
            "tool": "Civitai",
            "model_name": "Dream Model (v8)",
            "seed": 77,
            "loras": (Lora("Bike Style", None, 0.6),),
        },
    ),
    Case(
        "stealth-alpha-info",
        "A1111Parser",
        lambda: b.save(b.stealth(b.shapes(64, 200, "RGBA"), A1111_TEXT), "PNG"),
        "image/png",
        {"tool": "AUTOMATIC1111", "source": "PNG alpha LSB (stealth_pnginfo)", "seed": 3141592653},
    ),
    Case(
        "stealth-alpha-comp",
        "A1111Parser",
        lambda: b.save(b.stealth(b.shapes(300, 40, "RGBA"), FORGE_TEXT, compressed=True), "PNG"),
        "image/png",
        {"tool": "Forge", "source": "PNG alpha LSB (stealth_pngcomp)", "seed": 5},
    ),
    Case(
        "stealth-rgb-info",
        "A1111Parser",
        lambda: b.save(b.stealth(b.shapes(80, 80), FORGE_TEXT, mode="rgb"), "PNG"),
        "image/png",
        {"tool": "Forge", "source": "PNG rgb LSB (stealth_rgbinfo)", "model_hash": "abcdef0123"},
    ),
    Case(
        "stealth-alpha-comp-webp-lossless",
        "A1111Parser",
        lambda: b.save(
            b.stealth(b.shapes(90, 90, "RGBA"), A1111_TEXT, compressed=True),
            "WEBP",
            lossless=True,
        ),
        "image/webp",
        {"tool": "AUTOMATIC1111", "source": "WebP alpha LSB (stealth_pngcomp)", "steps": 28},
    ),
    Case(
        "stealth-novelai-json",
        "NovelAIParser",
        lambda: b.save(
            b.stealth(
                b.shapes(128, 128, "RGBA"),
                json.dumps(
                    {
                        "Software": "NovelAI",
                        "Source": "NovelAI Diffusion V4.5 B9F340FD",
                        "Description": "a red bicycle",
                        "Comment": json.dumps(NOVELAI_COMMENT),
                    }
                ),
                compressed=True,
            ),
            "PNG",
        ),
        "image/png",
        {"tool": "NovelAI", "model_hash": "B9F340FD", "seed": 2718281828},
    ),
    Case(
        "comfyui-flux-api",
        "ComfyUIParser",
        lambda: b.comfy_png(b.flux_graph()),
        "image/png",
        {
            "tool": "ComfyUI",
            "source": "PNG tEXt prompt",
            "model_name": "flux1-schnell.safetensors",
            "loras": (Lora("mountain_style.safetensors", None, 0.7),),
            "vae": "ae.safetensors",
            "seed": 424242,
            "steps": 4,
            "sampler": "euler",
            "width": 1024,
            "height": 768,
            "prompt": "a red bicycle",
        },
    ),
    Case(
        "comfyui-sd3-api",
        "ComfyUIParser",
        lambda: b.comfy_png(b.sd3_graph()),
        "image/png",
        {
            "tool": "ComfyUI",
            "model_name": "sd3.5_large.safetensors",
            "seed": 808,
            "steps": 28,
            "cfg": 4.5,
            "sampler": "dpmpp_2m",
            "width": 1024,
            "height": 1024,
            "prompt": "mountain landscape\na mountain landscape at dawn",
            "negative_prompt": "",
        },
    ),
    Case(
        "comfyui-two-pass",
        "ComfyUIParser",
        lambda: b.comfy_png(b.two_pass_graph()),
        "image/png",
        {
            "tool": "ComfyUI",
            "model_name": "refiner.safetensors",
            "models": ("refiner.safetensors", "base.safetensors"),
            "seeds": (22, 11),
            "cfg": 6.0,
            "prompt": "mountain landscape",
            "negative_prompt": "blurry",
            "width": 832,
            "height": 1216,
        },
    ),
    Case(
        "comfyui-ui-workflow-only",
        "ComfyUIParser",
        lambda: b.comfy_png(None, _ui_workflow()),
        "image/png",
        {
            "tool": "ComfyUI",
            "source": "PNG tEXt workflow",
            "model_name": "dreamshaper_8.safetensors",
            "loras": (Lora("bike_detail.safetensors", None, 0.9),),
            "seed": 123456789,
            "steps": 25,
            "cfg": 7.0,
            "prompt": "a red bicycle",
            "negative_prompt": "blurry",
        },
    ),
    Case(
        "comfyui-webp-exif",
        "ComfyUIParser",
        lambda: b.webp(
            b.exif_bytes(
                ifd0={
                    0x0110: "prompt:" + json.dumps(b.flux_graph()),
                    0x010F: "workflow:" + json.dumps(_ui_workflow()),
                }
            )
        ),
        "image/webp",
        {"tool": "ComfyUI", "source": "WebP EXIF 0x0110 prompt", "seed": 424242},
    ),
    Case(
        "fooocus-png",
        "FooocusParser",
        lambda: b.png_text({"parameters": json.dumps(FOOOCUS), "fooocus_scheme": "fooocus"}),
        "image/png",
        {
            "tool": "Fooocus",
            "model_name": "juggernautXL_v8Rundiffusion.safetensors",
            "model_hash": "aeb7e9e689",
            "seed": 8675309,
            "steps": 30,
            "cfg": 4.0,
            "width": 1152,
            "height": 896,
            "loras": (Lora("sd_xl_offset_example-lora_1.0.safetensors", "4852686128", 0.1),),
            "version": "Fooocus v2.5.5",
        },
    ),
    Case(
        "fooocus-jpeg-ifd0",  # Fooocus sets UserComment, Software and MakerNote on IFD0
        "FooocusParser",
        lambda: b.jpeg(
            b.exif_bytes(
                ifd0={0x9286: json.dumps(FOOOCUS), 0x0131: "Fooocus v2.5.5", 0x927C: "fooocus"}
            )
        ),
        "image/jpeg",
        {"tool": "Fooocus", "source": "EXIF UserComment", "seed": 8675309},
    ),
    Case(
        "fooocus-jpeg-exif-ifd",
        "FooocusParser",
        lambda: b.jpeg(
            b.exif_bytes(
                user_comment=b"ASCII\x00\x00\x00" + json.dumps(FOOOCUS).encode(),
                maker_note=b"fooocus",
            )
        ),
        "image/jpeg",
        {"tool": "Fooocus", "source": "EXIF UserComment", "seed": 8675309},
    ),
    Case(
        "swarmui",
        "SwarmUIParser",
        lambda: b.png_text({"parameters": json.dumps(SWARM)}),
        "image/png",
        {
            "tool": "SwarmUI",
            "model_name": "sd_xl_base_1.0",
            "model_hash": "0x31e35c80fc",
            "seed": 1234,
            "steps": 30,
            "cfg": 7.5,
            "loras": (Lora("bike_detail", "0xabc", 0.7),),
            "prompt": "a red bicycle",
            "negative_prompt": "blurry",
            "version": "0.9.2.1",
        },
    ),
    Case(
        "civitai-air-graph",
        "CivitaiParser",
        lambda: b.jpeg(
            b.exif_bytes(user_comment=b.user_comment_unicode(json.dumps(CIVITAI_GRAPH)))
        ),
        "image/jpeg",
        {
            "tool": "Civitai",
            "model_name": "urn:air:sdxl:checkpoint:civitai:101055@128078",
            "loras": (Lora("urn:air:sdxl:lora:civitai:55@66", None, 0.6),),
            "seed": 909,
            "steps": 20,
            "air": (
                "urn:air:sdxl:checkpoint:civitai:101055@128078",
                "urn:air:sdxl:lora:civitai:55@66",
            ),
            "prompt": "a red bicycle",
            "negative_prompt": "text",
        },
    ),
    Case(
        "invokeai-v3",
        "InvokeAIParser",
        lambda: b.png_text(
            {
                "invokeai_metadata": json.dumps(
                    {
                        "positive_prompt": "a red bicycle",
                        "negative_prompt": "",
                        "seed": 5,
                        "steps": 30,
                        "cfg_scale": 7,
                        "scheduler": "dpmpp_2m",
                        "width": 1024,
                        "height": 1024,
                        "app_version": "5.0.0",
                        "model": {"name": "Juggernaut XL v9", "hash": "blake3:abc", "base": "sdxl"},
                        "loras": [
                            {"model": {"name": "bike_detail", "hash": "blake3:def"}, "weight": 0.75}
                        ],
                        "vae": {"name": "sdxl-vae-fp16"},
                    }
                )
            }
        ),
        "image/png",
        {
            "tool": "InvokeAI",
            "model_name": "Juggernaut XL v9",
            "model_hash": "blake3:abc",
            "loras": (Lora("bike_detail", "blake3:def", 0.75),),
            "vae": "sdxl-vae-fp16",
            "version": "5.0.0",
        },
    ),
    Case(
        "invokeai-v2",
        "InvokeAIParser",
        lambda: b.png_text({"sd-metadata": json.dumps(INVOKE_V2)}),
        "image/png",
        {
            "tool": "InvokeAI",
            "source": "PNG tEXt sd-metadata",
            "model_name": "stable-diffusion-1.5",
            "seed": 3000,
            "sampler": "k_lms",
            "prompt": "a red bicycle [blurry]",
        },
    ),
    Case(
        "invokeai-dream",
        "InvokeAIParser",
        lambda: b.png_text(
            {
                "Dream": '"mountain landscape at dawn" '
                "-s 50 -S 3576587925 -W 512 -H 768 -C 7.5 -A k_lms"
            }
        ),
        "image/png",
        {
            "tool": "InvokeAI",
            "prompt": "mountain landscape at dawn",
            "seed": 3576587925,
            "steps": 50,
            "width": 512,
            "height": 768,
            "cfg": 7.5,
            "sampler": "k_lms",
        },
    ),
    Case(
        "novelai-png",
        "NovelAIParser",
        lambda: b.png_text(
            {
                "Title": "NovelAI generated image",
                "Description": "a red bicycle, mountain landscape",
                "Software": "NovelAI",
                "Source": "Stable Diffusion XL C1E1DE52",
                "Comment": json.dumps(NOVELAI_COMMENT),
            }
        ),
        "image/png",
        {
            "tool": "NovelAI",
            "source": "PNG tEXt Comment",
            "model_name": "Stable Diffusion XL C1E1DE52",
            "model_hash": "C1E1DE52",
            "seed": 2718281828,
            "steps": 28,
            "cfg": 5.0,
            "width": 832,
            "negative_prompt": "lowres, blurry",
            "sampler": "k_euler_ancestral",
        },
    ),
    Case(
        "drawthings-xmp",
        "DrawThingsParser",
        lambda: b.jpeg(
            xmp=b.xmp_packet(
                description="xmp:CreatorTool='Draw Things'",
                body="<exif:UserComment><rdf:Alt><rdf:li xml:lang='x-default'>"
                + json.dumps(DRAW_THINGS).replace("&", "&amp;").replace("<", "&lt;")
                + "</rdf:li></rdf:Alt></exif:UserComment>",
            )
        ),
        "image/jpeg",
        {
            "tool": "Draw Things",
            "source": "JPEG APP1 XMP xmp:UserComment",
            "model_name": "sd_xl_base_1.0_f16.ckpt",
            "seed": 99,
            "width": 1024,
            "height": 768,
            "loras": (Lora("bike_detail_lora_f16.ckpt", None, 0.5),),
            "prompt": "mountain landscape",
        },
    ),
    Case(
        "midjourney-png",
        "MidjourneyParser",
        lambda: b.png_text(
            {
                "Author": "someone",
                "Description": "a red bicycle by a lake --ar 3:2 --v 6.1 --seed 4242 "
                "Job ID: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            }
        ),
        "image/png",
        {
            "tool": "Midjourney",
            "model_name": "v6.1",
            "seed": 4242,
            "version": "6.1",
            "prompt": "a red bicycle by a lake --ar 3:2 --v 6.1 --seed 4242",
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_generator_case(case: Case) -> None:
    report = extract_provenance(case.build(), case.mime)
    assert report.parse_errors == ()
    gen = report.generator
    assert gen is not None, "no generator found"
    for key, want in case.expect.items():
        assert getattr(gen, key) == want, key
    assert report.provenance == "ai-declared"
    assert report.evidence[0].kind == "generator-metadata"
    assert report.evidence[0].signal == "ai-generated"
    assert report.evidence[0].source == gen.source
    assert gen.raw and report.evidence[0].excerpt


def test_every_parser_has_examples() -> None:
    covered = {c.parser for c in CASES}
    assert {type(p).__name__ for p in PARSERS} <= covered


def test_comfyui_webp_strings_are_not_a_camera() -> None:
    data = b.webp(
        b.exif_bytes(ifd0={0x0110: "prompt:" + json.dumps(b.flux_graph()), 0x010F: "workflow:{}"})
    )
    report = extract_provenance(data, "image/webp")
    assert report.camera is None
    assert not report.conflict


def test_one_file_two_generators_keeps_both() -> None:
    data = b.png_text({"prompt": json.dumps(b.flux_graph()), "parameters": FORGE_TEXT})
    report = extract_provenance(data, "image/png")
    assert [g.tool for g in report.generators] == ["ComfyUI", "Forge"]
    assert report.generator is not None and report.generator.tool == "ComfyUI"
    assert [e.kind for e in report.evidence] == ["generator-metadata"] * 2


def test_raw_is_bounded() -> None:
    long_prompt = "a red bicycle " * 20_000
    data = b.png_text({"parameters": long_prompt + "\nSteps: 1, Seed: 2"})
    gen = extract_provenance(data, "image/png").generator
    assert gen is not None and gen.raw_truncated
    assert len(gen.raw) == 64 << 10 and gen.prompt is not None and len(gen.prompt) == 64 << 10


def test_plain_prompt_key_is_not_comfyui() -> None:
    """Some tools write a plain-text "prompt" chunk: not a ComfyUI graph, not an error."""
    report = extract_provenance(b.png_text({"prompt": "a red bicycle"}), "image/png")
    assert report.generator is None and report.parse_errors == ()
