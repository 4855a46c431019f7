"""Assessed media as hash lists: VICS JSON v2, CSV, or one hash a line; streamed.

Rows come from :meth:`~verisight.store.reporting.ReportingStore.iter_assessed` one at a time and
are written as they come, so an export of a million media holds one row in memory.

* **vics**: ``{"@odata.context": ".../2.0.xml/{Default|UK|US}/$metadata#Media", "value": [...]}``
  with per Media ``MD5``, ``SHA1``, ``Category`` (VICS, mapped from the UK outcome by
  :func:`verisight.assessment.mappings.vics_category`), ``MediaSize``, ``MimeType``,
  ``AlternativeHashes`` (``SHA256``, and ``PDQ`` where known) and ``Comments`` (the UK
  outcome, category and origin). ``verisight bank import`` reads it back with every hash and
  category intact.
* **csv**: Verisight's bank CSV (``verisight bank import`` reads it): the hashes, ``label`` = the UK
  outcome and category, ``category`` = the VICS category, ``comments`` = the origin.
* **md5**, **sha1**, **sha256**, **pdq**: one hash a line (PDQ as ``<hex>,<quality>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from verisight import vocab
from verisight.assessment.mappings import vics_category
from verisight.assessment.taxonomy import CATEGORY, OUTCOME
from verisight.errors import UsageError
from verisight.matching.entry import BankEntry
from verisight.matching.formats.registry import FORMATS, write_bank
from verisight.matching.formats.writers import VICS_MODELS, WriteResult, write_vics_media
from verisight.store.reporting import ExportRow

HASH_FORMATS = tuple(f.name for f in FORMATS if f.writes and not f.frames)
"""The bank formats that can carry assessed media (all written ones but video frames)."""
#: Assessment statuses exported by default: settled decisions only.
SETTLED = vocab.SETTLED


def check_filters(outcomes: Iterable[str], categories: Iterable[str]) -> None:
    """Refuse an unknown outcome or category with the list of valid ones."""
    for o in outcomes:
        if o not in OUTCOME.codes():
            raise UsageError(f"unknown outcome {o!r} (one of {', '.join(OUTCOME.codes())})")
    for c in categories:
        if c not in CATEGORY.codes():
            raise UsageError(f"unknown category {c!r} (one of {', '.join(CATEGORY.codes())})")


def describe(row: ExportRow) -> str:
    cat = f", category {row.category}" if row.category else ""
    return f"UK: {row.outcome}{cat}; origin: {row.origin}"


def vics_media(row: ExportRow) -> dict[str, Any]:
    alternatives = [{"HashName": "SHA256", "HashValue": row.sha256}]
    if row.pdq:
        alternatives.append({"HashName": "PDQ", "HashValue": row.pdq})
    return {
        "Category": vics_category(row.outcome),
        "MD5": row.md5.upper(),
        "SHA1": row.sha1.upper(),
        "MediaSize": row.size,
        "MimeType": row.mime,
        "AlternativeHashes": alternatives,
        "Comments": describe(row),
    }


def write_vics(rows: Iterable[ExportRow], out: TextIO, model: str = "Default") -> int:
    if model not in VICS_MODELS:
        raise UsageError(f"unknown VICS model {model!r} (one of {', '.join(VICS_MODELS)})")
    return write_vics_media(map(vics_media, rows), out, model=model)


def _entries(rows: Iterable[ExportRow]) -> Iterator[BankEntry]:
    for r in rows:
        cat = f"/{r.category}" if r.category else ""
        yield BankEntry(
            md5=r.md5, sha1=r.sha1, sha256=r.sha256, pdq=r.pdq, pdq_quality=r.pdq_quality,
            label=f"{r.outcome}{cat}", category=vics_category(r.outcome),
            comments=f"origin: {r.origin}",
        )  # fmt: skip


def export_hashes(
    rows: Iterable[ExportRow], out: TextIO, format: str, *, vics_model: str = "Default"
) -> WriteResult:
    """Write ``rows`` in ``format`` (one of :data:`HASH_FORMATS`); media without the format's
    hash (PDQ for a video) are counted in ``left_out``."""
    if format == "vics":
        return WriteResult(write_vics(rows, out, vics_model), 0)
    if format not in HASH_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(HASH_FORMATS)}")
    return write_bank(_entries(rows), out, format)
