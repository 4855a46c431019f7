"""A small luminance image of the hashed pixels, kept so that crops can be recognised later.

PDQ compares whole frames: cropping 10 % off an image moves its hash 30–130 bits, far past
the match threshold, although it is the same picture. Recognising a crop needs the pixels,
to find which part of one image the other shows; the scan keeps a **luma grid** for that
(:func:`luma_grid`: the image PDQ hashed, reduced to 64×64 luminance, 4 KiB) and a
**layout key** (:func:`layout_key`, 192 bytes: an 8×8 thumbnail of the grid's centre, then
the grid's 64 column means and 64 row means) that finds and screens candidate pairs without
reading the grids. :mod:`verisight.clustering.crops` uses both; nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is loaded on use: the store imports layout_key, and readers of
    import numpy as np  # the case (``verisight media list``) must not pay for numpy
    from PIL import Image

#: Side of the luma grid, in pixels (the grid is square whatever the image's aspect).
GRID_SIDE = 64
#: Side of the layout key, in cells.
KEY_SIDE = 8
#: Grid pixels left out of the key on each side (the part a crop is most likely to cut).
KEY_MARGIN = 4


def luma_grid(image: Image.Image) -> bytes:
    """``image`` as ``GRID_SIDE``² 8-bit luminance (row-major bytes), box-filtered (an
    exact box filter, not a two-stage reduction, which would shift the sampling)."""
    grey = image if image.mode == "L" else image.convert("L")
    from PIL import Image  # loaded by the analysis, not by readers of stored grids

    return grey.resize((GRID_SIDE, GRID_SIDE), Image.Resampling.BOX).tobytes()


def grid_array(grid: bytes) -> np.ndarray:
    """A stored grid as a ``(GRID_SIDE, GRID_SIDE)`` float32 array."""
    import numpy as np

    if len(grid) != GRID_SIDE * GRID_SIDE:
        raise ValueError(f"a luma grid has {GRID_SIDE * GRID_SIDE} bytes, got {len(grid)}")
    return np.frombuffer(grid, np.uint8).reshape(GRID_SIDE, GRID_SIDE).astype(np.float32)


#: Bytes of a layout key: the centre thumbnail, then column means, then row means.
KEY_BYTES = KEY_SIDE * KEY_SIDE + 2 * GRID_SIDE


def layout_key(grid: bytes) -> bytes:
    """The mean luminance of ``KEY_SIDE``² cells over the grid's centre (``KEY_MARGIN``
    pixels in from each edge) — a coarse layout that a crop changes little — followed by the
    grid's column means and row means (the profiles crops are aligned with), as bytes."""
    return bytes(layout_keys(grid_array(grid)[None]).tobytes())


def layout_keys_of(grids: Sequence[bytes]) -> list[bytes]:
    """:func:`layout_key` of each stored grid, computed as one array: the same bytes, about
    a third of the time per grid for a scan's batch."""
    import numpy as np

    if not grids:
        return []
    size = GRID_SIDE * GRID_SIDE
    for grid in grids:
        if len(grid) != size:
            raise ValueError(f"a luma grid has {size} bytes, got {len(grid)}")
    keys: list[bytes] = []
    for start in range(0, len(grids), _KEYS_AT_ONCE):  # ~4 MiB of float32 at a time
        part = grids[start : start + _KEYS_AT_ONCE]
        stacked = np.frombuffer(b"".join(part), np.uint8).reshape(len(part), GRID_SIDE, GRID_SIDE)
        keys += [bytes(row.tobytes()) for row in layout_keys(stacked)]
    return keys


#: Grids per array in :func:`layout_keys_of`.
_KEYS_AT_ONCE = 256


def layout_keys(grids: np.ndarray) -> np.ndarray:
    """:func:`layout_key` of each of ``(n, GRID_SIDE, GRID_SIDE)`` grids, as an ``(n,
    KEY_BYTES)`` uint8 array."""
    import numpy as np

    inner = GRID_SIDE - 2 * KEY_MARGIN
    cell = inner // KEY_SIDE
    full = grids.astype(np.float32)
    n = len(full)
    g = full[:, KEY_MARGIN : KEY_MARGIN + inner, KEY_MARGIN : KEY_MARGIN + inner]
    means = g.reshape(n, KEY_SIDE, cell, KEY_SIDE, cell).mean(axis=(2, 4))
    parts = np.concatenate([means.reshape(n, -1), full.mean(axis=1), full.mean(axis=2)], axis=1)
    out: np.ndarray = np.clip(np.rint(parts), 0, 255).astype(np.uint8)
    return out
