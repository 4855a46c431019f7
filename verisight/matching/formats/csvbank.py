"""CSV banks: a header naming hash columns, then one entry per row.

Columns are matched loosely (case, spaces, ``-`` and ``_`` ignored; a BOM is dropped):

=================================  ==========================================
header names                       field
=================================  ==========================================
``md5``, ``sha1``, ``sha256``      that hash (``SHA-1``, ``sha_256`` … too)
``pdq``, ``pdq_hash``              PDQ hash
``quality``, ``pdq_quality``       PDQ quality, 0–100
``label``                          label
``category``, ``vics_category``    VICS category, 0–5
``id``, ``source_id``, ``media_id``  the list's own id for the entry
``series``                         series
``victim_identified``              true/false, yes/no, 1/0
``comments``, ``comment``          comments
=================================  ==========================================

Other columns are ignored. At least one hash column is required and none may appear twice
(:class:`~verisight.matching.errors.BadHeaderError`, always fatal). Blank lines, and ``#`` lines
before the header, are skipped. Every row needs at least one hash; each hash must have its
column's type (a SHA-1 in the ``md5`` column is a
:class:`~verisight.matching.errors.MixedHashTypesError`). Errors carry the row's first line and
the column.

Spreadsheet formulas: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by spreadsheet programs. :func:`safe_cell` writes such a cell with a
leading ``'`` (OWASP's advice; a cell starting with ``'`` gets one too), and reading drops that
one quote again, so a write → read round trip keeps labels as they were. Text cells are
stripped of spaces and trailing whitespace but never of a *leading* tab or carriage return:
stripping those would turn a cell that was neutralised that way (``\t=cmd``) back into a
formula (``=cmd``). Text fields keep at most 4,096 characters (:data:`._fields.MAX_TEXT_CHARS`,
cut ones end ``" [truncated]"``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from verisight.matching.entry import BankEntry
from verisight.matching.errors import (
    BadHeaderError,
    InvalidFieldError,
    InvalidInputError,
    Location,
    MissingHashError,
)
from verisight.matching.formats import _fields
from verisight.matching.signals import HashType

Parsed = BankEntry | InvalidInputError

COLUMNS: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "pdq": "pdq",
    "pdqhash": "pdq",
    "quality": "pdq_quality",
    "pdqquality": "pdq_quality",
    "label": "label",
    "category": "category",
    "vicscategory": "category",
    "id": "source_id",
    "sourceid": "source_id",
    "mediaid": "source_id",
    "series": "series",
    "victimidentified": "victim_identified",
    "comments": "comments",
    "comment": "comments",
}
"""Squashed header name → :class:`BankEntry` field."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula."""
HASH_FIELDS = {
    "md5": HashType.MD5,
    "sha1": HashType.SHA1,
    "sha256": HashType.SHA256,
    "pdq": HashType.PDQ,
}


def safe_cell(value: str) -> str:
    """``value`` as a CSV cell no spreadsheet runs: a formula-like one gets a leading ``'``
    (and so does one that starts with ``'``, so that reading gives back exactly ``value``)."""
    return "'" + value if value.startswith((*FORMULA_START, "'")) else value


def text_cell(raw: str) -> str | None:
    """A text cell as written by :func:`safe_cell`: the value, or ``None`` when empty.

    Spaces and trailing whitespace are stripped, a leading tab or CR is kept, and the quote
    :func:`safe_cell` added is dropped.
    """
    value = raw.rstrip().lstrip(" ")
    if value.startswith("'") and value[1:].startswith((*FORMULA_START, "'")):
        value = value[1:]
    return _fields.capped(value) or None


class _Counted:
    """Lines, counting how many have been taken (the CSV reader may take several a row)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken += 1
        return line


def parse_csv(lines: Iterable[str], *, source: str) -> Iterator[Parsed]:
    """Entries of a CSV bank (see the module docstring)."""
    counted = _Counted(lines)
    reader = csv.reader(counted, strict=True)
    header: list[str] | None = None
    header_line = 0
    while header is None:
        header_line = counted.taken + 1
        row = _next_row(reader, source, header_line)
        if row is None:
            return
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
            header = row
    columns = _columns(header, Location(source, header_line))
    while True:
        lineno = counted.taken + 1
        row = _next_row(reader, source, lineno)
        if row is None:
            return
        if not any(cell.strip() for cell in row):
            continue
        yield _entry(row, header, columns, Location(source, lineno))


def _next_row(reader: Iterator[list[str]], source: str, lineno: int) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:  # e.g. an unclosed quote: the rest of the file is unreliable
        raise InvalidFieldError(f"malformed CSV: {exc}", Location(source, lineno)) from None


def _columns(header: list[str], where: Location) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        field = COLUMNS.get(_fields.squash(name))
        if field is None:
            continue
        if field in columns:
            first = header[columns[field]].strip()
            raise BadHeaderError(f"columns {first!r} and {name.strip()!r} both give {field}", where)
        columns[field] = index
    if not any(field in columns for field in HASH_FIELDS):
        shown = ", ".join(repr(cell.strip()) for cell in header[:8])
        raise BadHeaderError(
            f"the header names no hash column (md5, sha1, sha256 or pdq): {shown}", where
        )
    return columns


def _entry(row: list[str], header: list[str], columns: dict[str, int], where: Location) -> Parsed:
    if len(row) > len(header):
        return InvalidFieldError(f"{len(row)} fields, but the header has {len(header)}", where)

    def cell(field: str) -> tuple[str, str]:
        index = columns.get(field)
        if index is None:
            return "", ""
        return (row[index].strip() if index < len(row) else ""), header[index].strip()

    def text(field: str) -> str | None:
        index = columns.get(field)
        return None if index is None or index >= len(row) else text_cell(row[index])

    column = ""
    try:
        hashes: dict[HashType, str] = {}
        for field, kind in HASH_FIELDS.items():
            value, column = cell(field)
            if value:
                hashes[kind] = _fields.hash_in(kind, value, f"column {column!r}")
        value, column = cell("pdq_quality")
        quality = _fields.quality(value)
        value, column = cell("category")
        category = _fields.category(value)
        value, column = cell("victim_identified")
        victim = _fields.boolean(value, f"column {column!r}")
    except InvalidInputError as exc:
        return exc.at(Location(where.source, where.line, column=column or None))
    if not hashes:
        named = ", ".join(header[i].strip() for f, i in columns.items() if f in HASH_FIELDS)
        return MissingHashError(f"no hash in any hash column ({named})", where)
    return BankEntry.from_hashes(
        hashes,
        pdq_quality=quality,
        label=text("label"),
        category=category,
        source_id=text("source_id"),
        series=text("series"),
        victim_identified=victim,
        comments=text("comments"),
        location=where,
    )
