"""Safety limits applied to every item a scan reads (see DESIGN.md invariant 6)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Every limit a scan applies; all are configurable from the CLI.

    A limit that trips becomes an item failure with a clear reason, never an exception
    that stops the scan.
    """

    #: Images with more pixels than this are refused as decompression bombs.
    max_pixels: int = 120_000_000
    #: Either side longer than this is refused as absurd.
    max_dimension: int = 50_000
    #: Archives nested deeper than this are hashed but not opened (top-level archive = 1).
    max_archive_depth: int = 3
    #: Largest single archive member or WARC payload read into memory.
    max_member_bytes: int = 1 << 30
    #: Most bytes extracted from one top-level container, all nesting levels together.
    max_total_bytes: int = 32 << 30
    #: A member whose uncompressed/compressed ratio exceeds this is a bomb.
    max_compression_ratio: float = 250.0
    #: Most members read from one archive.
    max_members: int = 1_000_000
    #: Files larger than this are hashed (streamed) but not decoded.
    max_decode_bytes: int = 512 << 20
    #: Videos (and animated images) longer than this, in seconds, are refused.
    max_video_seconds: float = 4 * 3600.0
    #: Wall-clock seconds one video may spend decoding before it is cut off.
    max_video_decode_seconds: float = 300.0
    #: Wall-clock seconds one item may take in the analysis worker (decoding, hashing, all of
    #: it) before it is interrupted and recorded ``decode-timeout``; 0: no limit. A worker
    #: stuck in native code past this plus a grace is killed and replaced.
    max_item_seconds: float = 600.0
    #: Most frames decoded from one video (every decoded frame counts, sampled or not).
    max_video_frames: int = 500_000
    #: Seconds between sampled (hashed) video frames; vPDQ's default is 1.
    video_seconds_per_frame: float = 1.0
