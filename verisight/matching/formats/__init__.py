"""Hash bank formats: read any of them as a stream of entries, write them back.

The formats: one :class:`BankFormat` each, listed in :data:`FORMATS` (:mod:`.registry`).
Read: :func:`read_bank` (one pass, streamed; ``format="auto"`` uses :func:`detect_format`).
Write: :func:`write_bank` and one function per format. The formats, and what each carries,
are described in :mod:`.plain` (plain lists, Meta's PDQ lines), :mod:`.csvbank`,
:mod:`.vics` (Project VIC JSON v1/v2), :mod:`verisight.matching.vpdq` (Meta's vPDQ video lines)
and :mod:`.writers`.
"""

from verisight.matching.formats.detect import detect_format, sniff
from verisight.matching.formats.reader import BankReader, read_bank
from verisight.matching.formats.registry import (
    FORMATS,
    READ_FORMATS,
    WRITE_FORMATS,
    BankFormat,
    bank_format,
    write_bank,
)
from verisight.matching.formats.writers import (
    CSV_COLUMNS,
    VICS_MODELS,
    WriteResult,
    write_csv,
    write_hash_list,
    write_pdq,
    write_vics,
    write_vpdq,
)

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "READ_FORMATS",
    "VICS_MODELS",
    "WRITE_FORMATS",
    "BankFormat",
    "BankReader",
    "WriteResult",
    "bank_format",
    "detect_format",
    "read_bank",
    "sniff",
    "write_bank",
    "write_csv",
    "write_hash_list",
    "write_pdq",
    "write_vics",
    "write_vpdq",
]
