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
HASH_FIELDS = {
    "md5": HashType.MD5,
    "sha1": HashType.SHA1,
    "sha256": HashType.SHA256,
    "pdq": HashType.PDQ,
}


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
        label=cell("label")[0] or None,
        category=category,
        source_id=cell("source_id")[0] or None,
        series=cell("series")[0] or None,
        victim_identified=victim,
        comments=cell("comments")[0] or None,
        location=where,
    )
