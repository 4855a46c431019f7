"""Limits on what provenance extraction reads, so that hostile metadata stays cheap.

Each limit that trips becomes a :class:`~verisight.analysis.provenance.model.ParseProblem` naming
the limit; extraction goes on with the rest of the file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProvenanceLimits:
    """Every limit provenance extraction applies."""

    #: Largest single text chunk, EXIF block or decompressed zTXt/iTXt read for parsing.
    #: Larger ones are skipped by their length field (never sliced, copied or decoded).
    max_text_bytes: int = 8 << 20
    #: All text read from one file, chunks together.
    max_total_text_bytes: int = 32 << 20
    #: Largest XMP packet parsed.
    max_xmp_bytes: int = 2 << 20
    #: Most PNG chunks / JPEG segments / RIFF chunks / boxes walked in one file.
    max_chunks: int = 20_000
    #: Most nodes in a ComfyUI graph (API prompt or UI workflow).
    max_graph_nodes: int = 20_000
    #: Most node visits in all graph walks of one file (cycles are cut earlier).
    max_graph_steps: int = 200_000
    #: Largest stealth (LSB) payload, compressed or not, and its decompressed size.
    max_stealth_bytes: int = 1 << 20
    #: Largest image (pixels) decoded to read a stealth payload once its signature is seen.
    max_stealth_pixels: int = 64_000_000
    #: ``GeneratorInfo.raw`` and prompts are cut to this many characters.
    max_raw_chars: int = 64 << 10
    #: Evidence excerpts are cut to this many characters.
    max_excerpt_chars: int = 200


DEFAULT_LIMITS = ProvenanceLimits()
