"""The best copy of a near-duplicate cluster, and whether it may represent it (pure).

The leader method (:mod:`verisight.clustering.near_duplicates`) picks as representative the
media with most neighbours, which is often a poor copy (a downsized repost). The assessor
should see the **best copy**, ranked by :class:`RepresentativeRule`:

1. PDQ quality at least ``min_quality`` (a good hash) before a poor one;
2. the largest pixel count;
3. an original format before a conversion: ``formats`` lists formats best first (by default
   the formats cameras write, JPEG, HEIC and TIFF, then PNG and the rest, and WebP, the format
   platforms recompress to, last); unlisted formats come after the listed ones;
4. the larger file (at the same pixel count and format, the less compressed), then SHA-256.

A copy may become the representative only if **every member lies within the cluster's
threshold of it** (the invariant that makes propagating the representative's decision
sound, see docs/clustering.md). :func:`rebase` checks that and returns the new distances, or
why not: a member placed as a crop (its distance is to a window of the old representative),
a copy without a PDQ hash, or a member too far from it. Distances use every hash of a member
(original, trimmed, rotations and mirrors) against the new representative's original or
trimmed hash, as clustering does; a member placed as a crop (or beyond the threshold by whole
hashes) may stay when its luma grid still shows a window of the new representative's within
the threshold (:func:`verisight.clustering.alignment.crop_match`), marked ``"crop"`` again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from verisight.analysis.pdq import hamming
from verisight.clustering.crops import CROP

__all__ = ["Copy", "Rebased", "RepresentativeRule", "best_copy", "rebase"]

DEFAULT_FORMATS = ("jpeg", "heic", "heif", "tiff", "png", "bmp", "gif", "webp")


@dataclass(frozen=True, slots=True)
class RepresentativeRule:
    """How the best copy is chosen (the case setting ``representative``)."""

    #: PDQ quality at or above which a hash counts as good.
    min_quality: int = 80
    #: Formats, best (original) first; unlisted formats rank after them.
    formats: tuple[str, ...] = DEFAULT_FORMATS
    #: Choose the best copy for each new cluster after clustering (False: keep the leader).
    auto: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.min_quality <= 100:
            raise ValueError("min_quality is between 0 and 100")

    @classmethod
    def from_setting(cls, value: dict[str, object] | None) -> RepresentativeRule:
        """From ``{"min_quality": 80, "formats": [...], "auto": true}``; bad values fall
        back to the defaults."""
        if not value:
            return cls()
        try:
            formats = value.get("formats")
            return cls(
                int(str(value.get("min_quality", 80))),
                tuple(str(f).lower() for f in formats)
                if isinstance(formats, list)
                else DEFAULT_FORMATS,
                bool(value.get("auto", True)),
            )
        except (TypeError, ValueError):
            return cls()


@dataclass(frozen=True, slots=True)
class Copy:
    """One member of a cluster, as the choice sees it."""

    sha256: str
    pdq: str | None
    quality: int | None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    size: int = 0
    #: Its other hashes: trimmed, rotations and mirrors.
    other_hashes: tuple[str, ...] = ()
    trimmed: str | None = None
    #: "crop" when it was placed as a crop.
    match: str | None = None


def _rank(c: Copy, rule: RepresentativeRule) -> tuple[int, int, int, int, str]:
    fmt = (c.format or "").lower().replace("jpg", "jpeg")
    fmt_rank = rule.formats.index(fmt) if fmt in rule.formats else len(rule.formats)
    good = c.pdq is not None and (c.quality or 0) >= rule.min_quality
    pixels = (c.width or 0) * (c.height or 0)
    # sort ascending: good first, more pixels first, better format first, larger file first
    return (0 if good else 1, -pixels, fmt_rank, -c.size, c.sha256)


def best_copy(copies: Sequence[Copy], rule: RepresentativeRule = RepresentativeRule()) -> str:
    """The SHA-256 of the best copy by ``rule``."""
    return min(copies, key=lambda c: _rank(c, rule)).sha256


@dataclass(frozen=True, slots=True)
class Rebased:
    """The outcome of :func:`rebase`: new distances to ``representative``, or ``refused``."""

    representative: str
    distances: dict[str, int]
    refused: str | None = None
    #: Members that stay as crops of the new representative.
    crops: frozenset[str] = field(default_factory=frozenset)


def rebase(
    copies: Sequence[Copy], new: str, threshold: int, grids: Mapping[str, bytes] | None = None
) -> Rebased:
    """Distances of every member to ``new`` if all lie within ``threshold``, else why not.
    ``grids`` (luma grids by SHA-256) let members stay as crops of ``new``."""
    target = next((c for c in copies if c.sha256 == new), None)
    if target is None:
        return Rebased(new, {}, "not a member of this cluster")
    if target.pdq is None:
        return Rebased(new, {}, "it has no PDQ hash")
    refs = [h for h in (target.pdq, target.trimmed) if h]
    grids = grids or {}
    out: dict[str, int] = {}
    crops: set[str] = set()
    for c in copies:
        if c.sha256 == new:
            out[c.sha256] = 0
            continue
        hashes = [h for h in (c.pdq, *c.other_hashes) if h]
        d = min((hamming(h, r) for h in hashes for r in refs), default=threshold + 1)
        if d > threshold or c.match == CROP:
            windowed = _window(grids.get(c.sha256), grids.get(new), threshold)
            if windowed is not None and (c.match == CROP or windowed < d):
                d = windowed
                crops.add(c.sha256)
            elif c.match == CROP:
                return Rebased(new, {}, f"member {c.sha256[:12]} is a crop that shows no window "
                               "of it within the threshold")  # fmt: skip
        if d > threshold:
            return Rebased(
                new, {}, f"member {c.sha256[:12]} is {d} from it, beyond the threshold {threshold}"
            )
        out[c.sha256] = d
    return Rebased(new, out, crops=frozenset(crops))


def _window(member: bytes | None, rep: bytes | None, threshold: int) -> int | None:
    if member is None or rep is None:
        return None
    from verisight.clustering.alignment import crop_match

    return crop_match(member, rep, threshold)
