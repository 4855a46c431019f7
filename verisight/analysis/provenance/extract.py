"""Extract every provenance signal of one image: :func:`extract_provenance`.

Cheap checks first, all bounded by :class:`~verisight.analysis.provenance.limits.ProvenanceLimits`::

    bytes ─▶ container walk ─┬─▶ text chunks ───────────────────┐
     (chunk headers only)  ├─▶ EXIF: camera, UserComment ─────┤
                           ├─▶ XMP: DigitalSourceType, text ──┼─▶ generator parsers ─┐
                           ├─▶ stealth signature (PNG/WebP) ──┘                      │
                           └─▶ C2PA box? ─▶ c2pa reader (offline) ──────────────────┤
                                                                                     ▼
                                                    evidence ─▶ verdict + conflicts

A JPEG without metadata costs one walk over its segment headers. The C2PA reader runs only when
the walk found a manifest store box. Nothing raises: every problem is a ``parse_errors`` entry.

Videos go through :func:`extract_video_provenance`: an ISO BMFF video (MP4/MOV/M4V/3GP) has its
top-level box headers walked for the C2PA ``uuid`` box, and only then is the offline C2PA
reader run on it (streamed from the file, never read into memory). Other containers (WebM,
Matroska, AVI) carry no signal Verisight reads yet: their report is empty (``provenance="none"``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from verisight.analysis.provenance.base import Metadata, ParseContext
from verisight.analysis.provenance.c2pa_reader import read_c2pa
from verisight.analysis.provenance.containers import (
    BMFF_VIDEO_MIMES,
    TextEntry,
    find_bmff_c2pa,
    read_container,
)
from verisight.analysis.provenance.exif import read_exif
from verisight.analysis.provenance.limits import DEFAULT_LIMITS, ProvenanceLimits
from verisight.analysis.provenance.model import C2paReport, ParseProblem, ProvenanceReport
from verisight.analysis.provenance.registry import run_parsers
from verisight.analysis.provenance.stealth import read_stealth
from verisight.analysis.provenance.verdict import build_report
from verisight.analysis.provenance.xmp import read_xmp


def extract_provenance(
    data: bytes,
    mime: str,
    *,
    exif: Image.Exif | None = None,
    limits: ProvenanceLimits = DEFAULT_LIMITS,
) -> ProvenanceReport:
    """Every provenance signal in ``data`` (an image sniffed as ``mime``); never raises.

    ``exif`` is the decoder's EXIF of ``data`` when the caller has it: it saves parsing the
    EXIF twice, and it is the only EXIF source for formats whose EXIF the container walk does
    not reach (HEIF/AVIF, GIF, BMP).
    """
    try:
        return _extract(data, mime, exif, limits)
    except Exception as exc:  # a bug: the item keeps its other results
        msg = f"internal error: {type(exc).__name__}: {exc}"[:300]
        return ProvenanceReport(parse_errors=(ParseProblem("provenance", msg),))


#: MIME types handed to the C2PA reader for videos whose own type it does not list.
_C2PA_READER_MIME = {"video/3gpp": "video/mp4"}


def extract_video_provenance(
    source: bytes | Path, mime: str, *, limits: ProvenanceLimits = DEFAULT_LIMITS
) -> ProvenanceReport:
    """The provenance signals of a video (its bytes, or its path); never raises.

    Only C2PA is read, and only when the cheap top-level box walk finds the manifest store box.
    A path is opened and sought over, never read whole.
    """
    try:
        if isinstance(source, Path):
            with open(source, "rb") as fp:
                return _extract_video(fp, mime, limits)
        return _extract_video(io.BytesIO(source), mime, limits)
    except OSError as exc:
        msg = f"video unreadable: {type(exc).__name__}: {exc}"[:300]
        return ProvenanceReport(parse_errors=(ParseProblem("provenance", msg),))
    except Exception as exc:  # a bug: the item keeps its other results
        msg = f"internal error: {type(exc).__name__}: {exc}"[:300]
        return ProvenanceReport(parse_errors=(ParseProblem("provenance", msg),))


def _extract_video(fp: BinaryIO, mime: str, limits: ProvenanceLimits) -> ProvenanceReport:
    where: str | None = None
    problems: list[ParseProblem] = []
    if mime in BMFF_VIDEO_MIMES:
        where, problems = find_bmff_c2pa(fp, limits)
    c2pa: C2paReport | None = None
    if where is not None:
        c2pa, c2pa_problems = read_c2pa(fp, _C2PA_READER_MIME.get(mime, mime), where)
        problems += c2pa_problems
    return build_report(
        generators=[],
        c2pa=c2pa,
        c2pa_where=where,
        source_types=[],
        dangling_refs=[],
        camera=None,
        problems=problems,
        excerpt_chars=limits.max_excerpt_chars,
    )


def _extract(
    data: bytes, mime: str, exif: Image.Exif | None, limits: ProvenanceLimits
) -> ProvenanceReport:
    box = read_container(data, mime, limits)
    problems: list[ParseProblem] = list(box.problems)
    entries: list[TextEntry] = list(box.texts)

    facts = read_exif(box.exif, box.exif_source, parsed=exif)
    entries += facts.texts
    problems += facts.problems

    xmp = read_xmp(box.xmp, limits.max_xmp_bytes)
    entries += xmp.texts
    problems += xmp.problems

    if box.png is not None or (box.webp_lossless and box.webp_alpha):
        stealth = read_stealth(data, box, limits)
        known = {(e.key, e.value) for e in entries}
        entries += [e for e in stealth.entries if (e.key, e.value) not in known]
        problems += stealth.problems

    ctx = ParseContext(limits)
    generators = run_parsers(Metadata(entries), ctx) if entries else []
    problems += ctx.problems

    c2pa: C2paReport | None = None
    dangling: list[str] = []
    if box.c2pa_box is not None:
        c2pa, c2pa_problems = read_c2pa(data, mime, box.c2pa_box)
        problems += c2pa_problems
    else:
        remote = [r for r in xmp.provenance_refs if r.startswith(("http://", "https://"))]
        if remote:  # recorded, never fetched
            c2pa = C2paReport(state="remote", embedded=False, remote_url=remote[0])
        dangling = [r for r in xmp.provenance_refs if r.startswith("self#jumbf")]

    return build_report(
        generators=generators,
        c2pa=c2pa,
        c2pa_where=box.c2pa_box,
        source_types=xmp.source_types,
        dangling_refs=list(dict.fromkeys(dangling)),
        camera=facts.camera,
        problems=problems,
        excerpt_chars=limits.max_excerpt_chars,
    )
