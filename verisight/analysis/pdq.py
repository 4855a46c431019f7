"""PDQ perceptual hashes (Meta), bit-compatible with ThreatExchange / HMA / NCMEC lists.

The hashing itself is Meta's reference C++ (through the ``pdqhash`` package): luminance, two
Jarosz box-filter passes per axis, decimation to 64×64, a 16×16 DCT, one bit per coefficient
above the median. On identical pixels the hash is exactly the reference hash
(:func:`pdq_from_pixels`).

Speed: filtering a full-resolution array costs far more than the rest of the pipeline, so
(like Meta's C++ command-line tool) images larger than :data:`PDQ_SIDE` are first reduced so
that their longest side is :data:`PDQ_SIDE` (:func:`pdq_input`; JPEGs arrive already reduced
by DCT scaling, see :mod:`verisight.media.decode`).

Phase correction: the reference's box filter is centred for odd window widths but sits half a
pixel off for even ones, twice per axis, and its decimation picks ``floor`` sample positions.
At 512 px (window 4) that puts every one of the 64 samples 1.5 px (⅕ of a cell) away from
where full-resolution hashing samples; on sharp-edged content that alone flips ~8 bits. The
reduction therefore shifts the resampling box by the difference between the two sampling
grids (a sub-pixel, edge-replicated shift), so the result approximates hashing the
full-resolution pixels, as python-threatexchange and HMA do. Measured with
``bench/scan_throughput.py --in-process --phase-report`` (1,000 generated 1–2 MP JPEGs) and
Meta's 30 published vectors (``../shared/testdata/pdq/expected.tsv``), Hamming distances:

=========================  ==============================  ==========================
512 px, BILINEAR           vs threatexchange (full res)    vs Meta's expected.tsv
=========================  ==============================  ==========================
uncorrected                mean 7.9, p95 14, max 24        mean 0.6, max 10
phase-corrected (default)  mean 2.5, p95 6, max 10         mean 4.3, max 12
=========================  ==============================  ==========================

The expected vectors were themselves made from 512-px thumbnails (uncorrected), and
threatexchange's own full-resolution hashes are mean 4.5, max 12 from them. ``q0003.jpg``
(quality 3, unstable bits) is 10 away in every variant. Everything stays inside Meta's
conformance tolerance (16) and far inside the match threshold (31). BILINEAR was kept:
BICUBIC, HAMMING and LANCZOS were no closer and are slower; BOX and NEAREST were further.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pdqhash
from PIL import Image

#: Images whose longest side is larger are reduced to this longest side before hashing.
PDQ_SIDE = 512
#: Resampling used for that reduction (chosen by measurement, see the module docstring).
PDQ_RESAMPLE = Image.Resampling.BILINEAR
#: The reference returns an all-zero hash of quality 0 below this size.
MIN_HASHABLE_SIDE = 5
#: Hashes with a quality at or below this are weak (Meta's advice: discard ≤ 49).
WEAK_QUALITY = 49
#: Distance at or below which two PDQ hashes are treated as a match.
MATCH_DISTANCE = 31
#: Frame trimming (:func:`frame_box`): a line (row or column) belongs to a uniform frame when
#: at least :data:`FRAME_MIN_SHARE` of its pixels are within :data:`FRAME_TOLERANCE` (per
#: channel) of the line's median colour. The tolerance absorbs JPEG noise and ringing; the
#: share lets a window's title bar (three buttons, a short title) count as frame.
FRAME_TOLERANCE = 20
FRAME_MIN_SHARE = 0.9
#: A trim must remove at least this share of the image's area...
FRAME_MIN_AREA = 0.02
#: ...and leave content at least this many pixels on each side.
FRAME_MIN_SIDE = 32

_HEX_LEN = 64
_GRID = 64


def pdq_from_pixels(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ of an ``(height, width, 3)`` uint8 RGB array: (64 lowercase hex, quality 0–100).

    The pixels are hashed as given (no resizing): exactly the reference hash. Arrays with a
    side below :data:`MIN_HASHABLE_SIDE` give the reference's all-zero hash with quality 0.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    bits, quality = pdqhash.compute(rgb)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def pdq_dihedral_from_pixels(rgb: np.ndarray) -> list[tuple[str, int]]:
    """PDQ of the 8 rotations/flips of ``rgb``, derived from one DCT as PDQ defines them.

    In Meta's order: original, rotate90, rotate180, rotate270, flipX, flipY, flipPlus1,
    flipMinus1; the first equals :func:`pdq_from_pixels`. Costs the same as one hash.
    Computed by the compiled kernel (:func:`verisight.analysis._pdq_full.pdq_dihedral_full`),
    bit for bit ``pdqhash.compute_dihedral``, about five times faster.
    """
    from verisight.analysis._pdq_full import pdq_dihedral_full  # numba: loaded on first use

    return pdq_dihedral_full(rgb)


def pdq_input(
    image: Image.Image,
    original_size: tuple[int, int] | None = None,
    extent: tuple[float, float] | None = None,
    *,
    phase_correct: bool = True,
) -> Image.Image:
    """The RGB image PDQ should hash: ``image`` reduced to :data:`PDQ_SIDE` when larger.

    ``image`` may itself be a reduced decode of an original of ``original_size`` pixels that
    covers ``extent`` of its own pixels (see :class:`verisight.media.decode.DecodedImage`); both
    default to ``image.size``. With ``phase_correct`` (the default) the reduction is shifted
    so the hash approximates hashing the original at full resolution (module docstring).
    """
    w, h = image.size
    full_w, full_h = original_size or (w, h)
    ext_w, ext_h = extent or (float(w), float(h))
    if max(full_w, full_h) <= PDQ_SIDE and (w, h) == (full_w, full_h):
        return image if image.mode == "RGB" else image.convert("RGB")
    scale = PDQ_SIDE / max(full_w, full_h)
    size = (
        min(PDQ_SIDE, max(1, round(full_w * scale))),
        min(PDQ_SIDE, max(1, round(full_h * scale))),
    )
    x0 = y0 = 0.0
    if phase_correct:
        x0 = (_sampling_offset(full_w) - _sampling_offset(size[0])) * ext_w
        y0 = (_sampling_offset(full_h) - _sampling_offset(size[1])) * ext_h
    box = (x0, y0, x0 + ext_w, y0 + ext_h)
    pad = math.ceil(max(0.0, -x0, -y0, box[2] - w, box[3] - h))
    source = image
    if pad:
        source = _pad_edges(image, pad)
        box = (box[0] + pad, box[1] + pad, box[2] + pad, box[3] + pad)
    reduced = source.resize(size, PDQ_RESAMPLE, box=box)
    return reduced if reduced.mode == "RGB" else reduced.convert("RGB")


def pdq_from_image(
    image: Image.Image,
    original_size: tuple[int, int] | None = None,
    extent: tuple[float, float] | None = None,
) -> tuple[str, int]:
    """PDQ of a Pillow image, reduced first when larger than :data:`PDQ_SIDE`."""
    return pdq_from_pixels(np.asarray(pdq_input(image, original_size, extent)))


def frame_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """The content inside a uniform frame around ``rgb``, as ``(top, bottom, left, right)``
    slice bounds, or ``None`` when there is no such frame.

    A frame is any run of uniform lines (see :data:`FRAME_TOLERANCE`) on any of the four
    sides, of any width and colour per side: a screenshot's window border, a letterbox or
    pillarbox, a mat. Sides are peeled repeatedly (trimming a title bar can make the side
    margins below it uniform lines) until none changes. ``None`` as well when the trim would
    remove less than :data:`FRAME_MIN_AREA` of the image or leave a side shorter than
    :data:`FRAME_MIN_SIDE` (a blank or nearly blank image). Cheap: images without a uniform
    outer line cost four small medians; meant for the already reduced :func:`pdq_input`.
    """
    h, w = rgb.shape[:2]
    if min(h, w) < FRAME_MIN_SIDE:
        return None
    top, bottom, left, right = 0, h, 0, w
    changed = True
    while changed:
        changed = False
        for side in range(4):
            box = rgb[top:bottom, left:right]
            lines = box if side < 2 else box.transpose(1, 0, 2)
            if side % 2:
                lines = lines[::-1]
            limit = lines.shape[0] - FRAME_MIN_SIDE
            k = _leading_uniform(lines, limit + 1)
            if k > limit:
                return None
            if k:
                changed = True
                if side == 0:
                    top += k
                elif side == 1:
                    bottom -= k
                elif side == 2:
                    left += k
                else:
                    right -= k
    if (bottom - top) * (right - left) > (1 - FRAME_MIN_AREA) * h * w:
        return None
    return top, bottom, left, right


def pdq_trimmed_from_pixels(rgb: np.ndarray) -> tuple[str, int] | None:
    """PDQ (hash, quality) of the content inside a uniform frame (:func:`frame_box`), or
    ``None`` when ``rgb`` has no such frame."""
    box = frame_box(rgb)
    if box is None:
        return None
    from verisight.analysis._pdq_full import pdq_full  # numba: loaded on first use

    top, bottom, left, right = box
    return pdq_full(np.ascontiguousarray(rgb[top:bottom, left:right]))


def _leading_uniform(lines: np.ndarray, limit: int) -> int:
    """How many of the first ``limit`` lines of ``lines`` (``(n, m, 3)``, the outermost
    first) are uniform in a row, checked in growing chunks (one line, then 2, 4, ...): an
    image without a frame costs one line per side, and deep frames stay cheap."""
    count, step = 0, 1
    while count < limit:
        chunk = lines[count : min(limit, count + step)]
        # The line's colour from every 4th pixel (the median is the costly part); every
        # pixel is then checked against it.
        ref = np.median(chunk[:, ::4], axis=1).round().astype(np.int16)
        diff = np.abs(chunk.astype(np.int16) - ref[:, None, :]).max(axis=2)
        uniform = (diff <= FRAME_TOLERANCE).mean(axis=1) >= FRAME_MIN_SHARE
        if not uniform.all():
            return count + int(np.argmin(uniform))
        count += len(chunk)
        step *= 2
    return count


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two PDQ hashes given as 64 hex characters."""
    if len(a_hex) != _HEX_LEN or len(b_hex) != _HEX_LEN:
        raise ValueError("PDQ hashes are 64 hex characters")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _pad_edges(image: Image.Image, pad: int) -> Image.Image:
    """``image`` with ``pad`` pixels added on every side, repeating the edge pixels.

    One copy: the image is pasted into an uninitialised canvas (every pixel is then
    written), edge strips stretched around it. Measured faster than ``np.pad(mode="edge")``,
    which gives the same pixels but costs three copies (out of Pillow, the pad, back in).
    """
    w, h = image.size
    out = Image.new(image.mode, (w + 2 * pad, h + 2 * pad), None)
    out.paste(image, (pad, pad))
    out.paste(image.crop((0, 0, 1, h)).resize((pad, h)), (0, pad))
    out.paste(image.crop((w - 1, 0, w, h)).resize((pad, h)), (w + pad, pad))
    top = out.crop((0, pad, w + 2 * pad, pad + 1)).resize((w + 2 * pad, pad))
    bottom = out.crop((0, h + pad - 1, w + 2 * pad, h + pad)).resize((w + 2 * pad, pad))
    out.paste(top, (0, 0))
    out.paste(bottom, (0, h + pad))
    return out


@lru_cache(maxsize=4096)
def _sampling_offset(n: int) -> float:
    """Mean offset, as a fraction of the axis, of PDQ's 64 samples on an ``n``-pixel axis.

    Relative to the centres of 64 equal cells. Each of the two box passes moves the centre
    half a pixel when the window (``ceil(n / 128)``) is even; decimation samples pixel
    ``floor((i + 0.5) * n / 64)``.
    """
    window = (n + 2 * _GRID - 1) // (2 * _GRID)
    shift = 1 if window % 2 == 0 else 0
    total = 0.0
    for i in range(_GRID):
        sample = math.floor((i + 0.5) * n / _GRID) + shift + 0.5
        total += sample / n - (i + 0.5) / _GRID
    return total / _GRID
