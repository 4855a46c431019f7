"""Generated provenance fixtures: images are coloured shapes, prompts are neutral.

Each builder writes metadata the way the tool in question writes it (PNG text chunks through
Pillow's ``PngInfo``, EXIF through ``Image.Exif``, XMP packets, stealth LSB bits set the way the
AUTOMATIC1111 extension sets them), so that the parsers are tested against the format, not
against themselves.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

EXIF_IFD = 0x8769
USER_COMMENT = 0x9286
MAKER_NOTE = 0x927C
XMP_NS = (
    "xmlns:x='adobe:ns:meta/' xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
    "xmlns:Iptc4xmpExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/' "
    "xmlns:dcterms='http://purl.org/dc/terms/' xmlns:exif='http://ns.adobe.com/exif/1.0/' "
    "xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'"
)
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def shapes(width: int = 96, height: int = 64, mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A deterministic picture of coloured rectangles and ellipses."""
    rng = np.random.default_rng(seed)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    im = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(1, width + 1)), int(rng.integers(1, height + 1))
        box = (x0, y0, x0 + w, y0 + h)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    if mode == "RGBA":
        im.putalpha(255)
    return im


def save(im: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_text(
    texts: dict[str, str], *, itxt: tuple[str, ...] = (), ztxt: tuple[str, ...] = ()
) -> bytes:
    """A PNG with the given text chunks (tEXt unless named in ``itxt`` or ``ztxt``)."""
    info = PngInfo()
    for key, value in texts.items():
        if key in itxt:
            info.add_itxt(key, value)
        else:
            info.add_text(key, value, zip=key in ztxt)
    return save(shapes(), "PNG", pnginfo=info)


def exif_bytes(
    *,
    user_comment: bytes | None = None,
    ifd0: dict[int, Any] | None = None,
    maker_note: bytes | None = None,
    gps: bool = False,
    taken: str | None = None,
) -> bytes:
    exif = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    sub = exif.get_ifd(EXIF_IFD)
    if user_comment is not None:
        sub[USER_COMMENT] = user_comment
    if maker_note is not None:
        sub[MAKER_NOTE] = maker_note
    if taken is not None:
        sub[0x9003] = taken
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    return exif.tobytes()


def user_comment_unicode(text: str, *, little_endian: bool = False, bom: bool = False) -> bytes:
    body = text.encode("utf-16-le" if little_endian else "utf-16-be")
    if bom:
        body = (b"\xff\xfe" if little_endian else b"\xfe\xff") + body
    return b"UNICODE\x00" + body


def jpeg(exif: bytes | None = None, xmp: str | None = None, **kw: Any) -> bytes:
    params: dict[str, Any] = {"quality": 85, **kw}
    if exif is not None:
        params["exif"] = exif
    if xmp is not None:
        params["xmp"] = xmp.encode("utf-8")
    return save(shapes(), "JPEG", **params)


def webp(exif: bytes | None = None, xmp: str | None = None, lossless: bool = False) -> bytes:
    params: dict[str, Any] = {"lossless": lossless}
    if exif is not None:
        params["exif"] = exif
    if xmp is not None:
        params["xmp"] = xmp.encode("utf-8")
    return save(shapes(), "WEBP", **params)


def xmp_packet(*, description: str = "", body: str = "") -> str:
    """An XMP packet; ``description`` goes into rdf:Description's attributes."""
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        f"<x:xmpmeta {XMP_NS}><rdf:RDF><rdf:Description rdf:about='' {description}>"
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    )


def xmp_source_type(code: str) -> str:
    return xmp_packet(
        body=f"<Iptc4xmpExt:DigitalSourceType>{IPTC}{code}</Iptc4xmpExt:DigitalSourceType>"
    )


def stealth(
    im: Image.Image, text: str | bytes, *, mode: str = "alpha", compressed: bool = False
) -> Image.Image:
    """Hide ``text`` in LSBs the way the A1111 stealth_pnginfo extension does (column-major)."""
    kind = "png" if mode == "alpha" else "rgb"
    sig = f"stealth_{kind}{'comp' if compressed else 'info'}".encode()
    raw = text.encode("utf-8") if isinstance(text, str) else text
    payload = gzip.compress(raw) if compressed else raw
    header = np.unpackbits(np.frombuffer(sig, np.uint8))
    length = np.unpackbits(np.frombuffer(struct.pack(">I", len(payload) * 8), np.uint8))
    bits = np.concatenate([header, length, np.unpackbits(np.frombuffer(payload, np.uint8))])
    return set_lsb_bits(im, bits, mode)


def set_lsb_bits(im: Image.Image, bits: np.ndarray, mode: str) -> Image.Image:
    arr = np.array(im.convert("RGBA" if mode == "alpha" else "RGB"))
    h = arr.shape[0]
    idx = np.arange(bits.size)
    if mode == "alpha":
        x, y, ch = idx // h, idx % h, np.full(bits.size, 3)
    else:
        pixel = idx // 3
        x, y, ch = pixel // h, pixel % h, idx % 3
    arr[y, x, ch] = (arr[y, x, ch] & 0xFE) | bits.astype(np.uint8)
    return Image.fromarray(arr, "RGBA" if mode == "alpha" else "RGB")


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_with_chunks(*chunks: bytes, base: bytes | None = None) -> bytes:
    """Insert raw chunks right after IHDR of ``base`` (a small generated PNG by default)."""
    data = base if base is not None else save(shapes(16, 16), "PNG")
    ihdr_end = 8 + 12 + 13
    return data[:ihdr_end] + b"".join(chunks) + data[ihdr_end:]


def comfy_png(
    prompt: dict[str, Any] | str | None, workflow: dict[str, Any] | str | None = None
) -> bytes:
    texts: dict[str, str] = {}
    if prompt is not None:
        texts["prompt"] = prompt if isinstance(prompt, str) else json.dumps(prompt)
    if workflow is not None:
        texts["workflow"] = workflow if isinstance(workflow, str) else json.dumps(workflow)
    return png_text(texts)


def flux_graph() -> dict[str, Any]:
    """A Flux-style API graph: SamplerCustomAdvanced with RandomNoise, BasicGuider, UNETLoader."""
    return {
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a red bicycle", "clip": ["11", 0]},
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["10", 0]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}},
        "10": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "11": {
            "class_type": "DualCLIPLoader",
            "inputs": {
                "clip_name1": "t5xxl.safetensors",
                "clip_name2": "clip_l.safetensors",
                "type": "flux",
            },
        },
        "12": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "flux1-schnell.safetensors", "weight_dtype": "fp8"},
        },
        "13": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["25", 0],
                "guider": ["22", 0],
                "sampler": ["16", 0],
                "sigmas": ["17", 0],
                "latent_image": ["27", 0],
            },
        },
        "16": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "17": {
            "class_type": "BasicScheduler",
            "inputs": {"scheduler": "simple", "steps": 4, "denoise": 1.0, "model": ["30", 0]},
        },
        "22": {
            "class_type": "BasicGuider",
            "inputs": {"model": ["30", 0], "conditioning": ["26", 0]},
        },
        "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": 424242}},
        "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
        "27": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 768, "batch_size": 1},
        },
        "30": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {
                "lora_name": "mountain_style.safetensors",
                "strength_model": 0.7,
                "model": ["12", 0],
            },
        },
    }


def sd3_graph() -> dict[str, Any]:
    """An SD3-style API graph: TripleCLIPLoader, CLIPTextEncodeSD3, ModelSamplingSD3, KSampler."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "sd3.5_large.safetensors"},
        },
        "2": {
            "class_type": "TripleCLIPLoader",
            "inputs": {"clip_name1": "clip_l", "clip_name2": "clip_g", "clip_name3": "t5xxl"},
        },
        "3": {"class_type": "ModelSamplingSD3", "inputs": {"shift": 3.0, "model": ["1", 0]}},
        "4": {
            "class_type": "CLIPTextEncodeSD3",
            "inputs": {
                "clip_l": "mountain landscape",
                "clip_g": "mountain landscape",
                "t5xxl": "a mountain landscape at dawn",
                "empty_padding": "none",
                "clip": ["2", 0],
            },
        },
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}},
        "6": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["5", 0]}},
        "7": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
        },
        "8": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 808,
                "steps": 28,
                "cfg": 4.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "sgm_uniform",
                "denoise": 1.0,
                "model": ["3", 0],
                "positive": ["4", 0],
                "negative": ["6", 0],
                "latent_image": ["7", 0],
            },
        },
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["1", 2]}},
        "10": {"class_type": "SaveImage", "inputs": {"images": ["9", 0]}},
    }


def two_pass_graph() -> dict[str, Any]:
    """SDXL base + refiner: two KSamplerAdvanced nodes; the refiner is nearest the output."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "refiner.safetensors"},
        },
        "3": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "mountain landscape", "clip": ["1", 1]},
        },
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 832, "height": 1216, "batch_size": 1},
        },
        "6": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "noise_seed": 11,
                "steps": 30,
                "cfg": 7.0,
                "sampler_name": "dpmpp_2m",
                "model": ["1", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["5", 0],
            },
        },
        "7": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "noise_seed": 22,
                "steps": 30,
                "cfg": 6.0,
                "sampler_name": "euler",
                "model": ["2", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["6", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["2", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
    }
