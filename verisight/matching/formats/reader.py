"""Reading a bank file of any format: :func:`read_bank` and :class:`BankReader`.

Worked example::

    reader = read_bank("list.json", skip_invalid=True)   # format detected
    for entry in reader:                                  # streamed, one pass
        store.add(entry)
    print(reader.format, reader.count, "entries;", len(reader.skipped), "skipped")
    for row in reader.skipped:
        print(row)             # "list.json, $.value[0].Media[7].Category: unknown-category: …"

Without ``skip_invalid`` the first bad row raises its specific
:class:`~verisight.matching.errors.InvalidInputError`, with its line or JSON path; the caller
imports in one transaction so that nothing is half-imported. With it, bad rows are left out
and listed in :attr:`BankReader.skipped`, but problems with the file as a whole (bad CSV
header, invalid or truncated JSON, unrecognisable format, a line over 1 MiB, text that is
not UTF-8/UTF-16) still raise: there is no row to skip and no telling what was lost.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from verisight.matching.entry import BankEntry
from verisight.matching.errors import (
    FATAL,
    InvalidInputError,
    MatchingError,
    SkippedRow,
    UnknownFormatError,
)
from verisight.matching.formats import _source, detect
from verisight.matching.formats.registry import AUTO, READ_FORMATS, bank_format


class BankReader:
    """The entries of one bank file, read once, in file order (see the module docstring)."""

    def __init__(
        self,
        source: _source.Source,
        format: str = "auto",
        *,
        skip_invalid: bool = False,
        name: str | None = None,
    ) -> None:
        if format not in READ_FORMATS:
            raise UnknownFormatError(
                f"unknown bank format {format!r} (one of {', '.join(READ_FORMATS)})"
            )
        self.source = source
        self.name = name or _source.source_name(source)
        self.requested = format
        self.skip_invalid = skip_invalid
        self.format: str | None = None if format == AUTO else format
        """The format being read: the requested one, or the detected one once known."""
        self.skipped: list[SkippedRow] = []
        self.count = 0
        """Entries yielded so far."""
        self._started = False

    def __iter__(self) -> Iterator[BankEntry]:
        if self._started:
            raise MatchingError("a BankReader reads its file once; make a new one")
        self._started = True
        with _source.open_source(self.source) as (head, stream):
            if self.format is None:
                self.format = detect.sniff(head, self.name)
            for item in self._parse(self.format, head, stream):
                if isinstance(item, InvalidInputError):
                    if not self.skip_invalid or isinstance(item, FATAL):
                        raise item
                    self.skipped.append(SkippedRow.from_error(item))
                    continue
                self.count += 1
                yield item

    def _parse(
        self, fmt: str, head: bytes, stream: io.BufferedReader
    ) -> Iterator[BankEntry | InvalidInputError]:
        return bank_format(fmt).parse(head, stream, self.name)


def read_bank(
    source: _source.Source,
    format: str = "auto",
    *,
    skip_invalid: bool = False,
    name: str | None = None,
) -> BankReader:
    """A :class:`BankReader` over ``source`` (a path or a binary file object).

    ``format`` is one of :data:`READ_FORMATS`; ``name`` names the source in messages
    (default: its path).
    """
    return BankReader(source, format, skip_invalid=skip_invalid, name=name)
