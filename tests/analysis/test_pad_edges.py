"""``_pad_edges`` (an uninitialised canvas) gives exactly the pixels of the paste it replaced,
which are also ``np.pad(mode="edge")``'s."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from verisight.analysis import pdq as pdq_module
from verisight.analysis.pdq import _pad_edges, pdq_input
from verisight.demo import scene


def pasted(image: Image.Image, pad: int) -> Image.Image:
    """The former implementation: a zeroed canvas, the image and stretched edge strips."""
    w, h = image.size
    out = Image.new(image.mode, (w + 2 * pad, h + 2 * pad))
    out.paste(image, (pad, pad))
    out.paste(image.crop((0, 0, 1, h)).resize((pad, h)), (0, pad))
    out.paste(image.crop((w - 1, 0, w, h)).resize((pad, h)), (w + pad, pad))
    top = out.crop((0, pad, w + 2 * pad, pad + 1)).resize((w + 2 * pad, pad))
    bottom = out.crop((0, h + pad - 1, w + 2 * pad, h + pad)).resize((w + 2 * pad, pad))
    out.paste(top, (0, 0))
    out.paste(bottom, (0, h + pad))
    return out


def noise(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(rgb).convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I", "F", "P"])
@pytest.mark.parametrize(("size", "pad"), [((7, 5), 1), ((64, 33), 3), ((1, 1), 4), ((3, 9), 12)])
def test_same_pixels_as_the_pillow_paste(mode: str, size: tuple[int, int], pad: int) -> None:
    image = noise(mode, size, seed=size[0] * 100 + pad)
    ours, theirs = _pad_edges(image, pad), pasted(image, pad)
    assert ours.mode == theirs.mode == mode
    assert ours.size == theirs.size == (size[0] + 2 * pad, size[1] + 2 * pad)
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    pixels = np.asarray(image)
    edge = np.pad(pixels, ((pad, pad), (pad, pad)) + ((0, 0),) * (pixels.ndim - 2), mode="edge")
    assert np.array_equal(np.asarray(ours), edge)


@pytest.mark.parametrize("size", [(1280, 720), (1000, 1500), (2000, 999)])
def test_pdq_input_is_unchanged(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """The phase-corrected reduction pads when its box reaches past the edges: same result."""
    image = scene(4, size)
    pads: list[int] = []

    def old(im: Image.Image, pad: int) -> Image.Image:
        pads.append(pad)
        return pasted(im, pad)

    ours = np.asarray(pdq_input(image))
    monkeypatch.setattr(pdq_module, "_pad_edges", old)
    assert np.array_equal(ours, np.asarray(pdq_input(image)))
    assert pads  # the padding was exercised
