"""Writing banks: CSV, VICS JSON v2, PDQ lines and plain MD5/SHA-1/SHA-256 lists, streamed.

The formats themselves, and :func:`~verisight.matching.formats.registry.write_bank`, are in
:mod:`.registry`. Each writer takes any iterable of
:class:`~verisight.matching.entry.BankEntry` and a text stream (open it with ``newline=""``)
and writes as it goes, so an export of millions of entries never holds them all. What each
format carries, so what a write → read round trip keeps:

========  ======================================================================
format    fields
========  ======================================================================
csv       every field (columns as :data:`CSV_COLUMNS`); a cell that a spreadsheet
          would run as a formula starts with ``'`` (:func:`.csvbank.safe_cell`)
vics      MD5, SHA1, Category, MediaID, Series, VictimIdentified, Comments, and
          SHA256 and PDQ as ``AlternativeHashes``; no label, no PDQ quality
pdq       PDQ and quality: ``<hex>,<quality>``, or ``pdq <hex>`` without quality
md5 …     that hash only, one a line
========  ======================================================================

Entries without the format's hash (a PDQ list from MD5-only entries) are left out and
counted in :attr:`WriteResult.left_out`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from verisight.matching.entry import BankEntry
from verisight.matching.errors import UnknownFormatError
from verisight.matching.formats.csvbank import safe_cell
from verisight.matching.signals import HashType

VICS_MODELS = ("Default", "UK", "US")
"""VICS 2.0 data models for the ``@odata.context`` URL."""
VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{model}/$metadata#Media"
)
CSV_COLUMNS = (
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "label",
    "category",
    "source_id",
    "series",
    "victim_identified",
    "comments",
)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How many entries were written, and how many lacked the format's hash."""

    written: int
    left_out: int


def write_csv(entries: Iterable[BankEntry], out: TextIO) -> WriteResult:
    """A CSV with a header of :data:`CSV_COLUMNS`; empty cells for missing values."""
    writer = csv.writer(out, lineterminator="\n")
    # The csv module quotes a cell holding "\n" but not one holding a lone "\r", which a
    # reader then takes for a line end: such rows are written with every cell quoted.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for entry in entries:
        row = [_cell(getattr(entry, column)) for column in CSV_COLUMNS]
        (quoted if any("\r" in cell for cell in row) else writer).writerow(row)
        written += 1
    return WriteResult(written, 0)


def write_vics(entries: Iterable[BankEntry], out: TextIO, *, model: str = "Default") -> WriteResult:
    """VICS JSON v2, hash-set layout: ``{"@odata.context": …, "value": [Media…]}``."""
    return WriteResult(write_vics_media(map(_media, entries), out, model=model), 0)


def write_vics_media(
    media: Iterable[Mapping[str, Any]], out: TextIO, *, model: str = "Default"
) -> int:
    """The one VICS writer: VICS JSON v2 around ``media`` (VICS Media objects), streamed.

    :func:`write_vics` passes each entry's Media; a hash-list export of assessed media
    (:mod:`verisight.reports.hashes`) passes Media with more fields (size, MIME type).
    Returns how many were written.
    """
    if model not in VICS_MODELS:
        raise UnknownFormatError(f"unknown VICS model {model!r} (one of {', '.join(VICS_MODELS)})")
    context = json.dumps(VICS_CONTEXT.format(model=model))
    out.write('{"@odata.context": ' + context + ', "value": [')
    written = 0
    for item in media:
        out.write(",\n" if written else "\n")
        out.write(json.dumps(item, ensure_ascii=False))
        written += 1
    out.write("\n]}\n")
    return written


def write_pdq(entries: Iterable[BankEntry], out: TextIO) -> WriteResult:
    """One PDQ hash a line: ``<hex>,<quality>`` when the quality is known, else ``pdq <hex>``."""
    written = left_out = 0
    for entry in entries:
        if entry.pdq is None:
            left_out += 1
            continue
        if entry.pdq_quality is None:
            out.write(f"pdq {entry.pdq}\n")
        else:
            out.write(f"{entry.pdq},{entry.pdq_quality}\n")
        written += 1
    return WriteResult(written, left_out)


def write_vpdq(entries: Iterable[BankEntry], out: TextIO) -> WriteResult:
    """vPDQ frame lines ``frame_number,quality,hash,timestamp`` (entries that are frames).

    Meta's files hold one video each: export a bank holding one video (or split by
    ``source_id``) for their tools.
    """
    written = left_out = 0
    for e in entries:
        if e.frame is None or e.pdq is None:
            left_out += 1
            continue
        out.write(f"{e.frame},{e.pdq_quality or 0},{e.pdq},{e.timestamp or 0.0:.3f}\n")
        written += 1
    return WriteResult(written, left_out)


def write_hash_list(entries: Iterable[BankEntry], out: TextIO, kind: HashType) -> WriteResult:
    """One ``kind`` hash a line, nothing else (read it back with ``--format`` ``kind``)."""
    written = left_out = 0
    for entry in entries:
        value = entry.hash(kind)
        if value is None:
            left_out += 1
            continue
        out.write(value + "\n")
        written += 1
    return WriteResult(written, left_out)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(str(value))


def _media(entry: BankEntry) -> dict[str, Any]:
    media: dict[str, Any] = {}
    if entry.source_id is not None:
        sid = entry.source_id
        numeric = sid.isascii() and sid.isdigit() and str(int(sid)) == sid
        media["MediaID"] = int(sid) if numeric else sid
    if entry.category is not None:
        media["Category"] = entry.category
    if entry.md5 is not None:
        media["MD5"] = entry.md5.upper()
    if entry.sha1 is not None:
        media["SHA1"] = entry.sha1.upper()
    if entry.series is not None:
        media["Series"] = entry.series
    if entry.victim_identified is not None:
        media["VictimIdentified"] = entry.victim_identified
    if entry.comments is not None:
        media["Comments"] = entry.comments
    alternatives = [
        {"HashName": name, "HashValue": value}
        for name, value in (("SHA256", entry.sha256), ("PDQ", entry.pdq))
        if value is not None
    ]
    if alternatives:
        media["AlternativeHashes"] = alternatives
    return media
