"""Every bank format, one small class each, in one list: :data:`FORMATS`.

Like the provenance parsers (and threatexchange's signal types), a format plugs in with two
touches: a :class:`BankFormat` subclass, and its place in :data:`FORMATS`. The read and write
choices (:data:`READ_FORMATS`, :data:`WRITE_FORMATS`), the CLI's ``--format`` choices and
:func:`~verisight.matching.formats.reader.read_bank` / :func:`write_bank` all derive from it.

Worked example, a format that reads and writes one MD5 a line in upper case::

    class UpperMD5(BankFormat):
        name = "md5-upper"
        summary = "one upper-case MD5 a line"

        def parse(self, head, stream, source):
            lines = _source.text_lines(head, stream, source)
            return plain.parse_hash_list(lines, hash_type=HashType.MD5, source=source)

        def write(self, entries, out, *, vics_model="Default"):
            written = left_out = 0
            for e in entries:
                if e.md5 is None:
                    left_out += 1
                else:
                    out.write(e.md5.upper() + "\\n")
                    written += 1
            return WriteResult(written, left_out)

A format that only reads leaves :meth:`BankFormat.write` alone (``writes`` is then false),
and one that only writes leaves :meth:`BankFormat.parse` alone.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import ClassVar, TextIO

from verisight.matching import vpdq
from verisight.matching.entry import BankEntry
from verisight.matching.errors import InvalidInputError, UnknownFormatError
from verisight.matching.formats import _source, csvbank, plain, vics, writers
from verisight.matching.formats.writers import WriteResult
from verisight.matching.signals import HashType

Parsed = BankEntry | InvalidInputError


class BankFormat:
    """One hash-list format: its ``name`` (the ``--format`` value) and how it reads and writes.

    :meth:`parse` yields entries, or the located error for a bad row, from the file's
    ``head`` (its first bytes, for sniffing) and a binary ``stream`` that starts at the
    beginning; :meth:`write` writes entries to a text stream and counts those it left out.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    frames: ClassVar[bool] = False
    """Entries are video frames (vPDQ), not whole media."""

    @property
    def reads(self) -> bool:
        return type(self).parse is not BankFormat.parse

    @property
    def writes(self) -> bool:
        return type(self).write is not BankFormat.write

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        raise UnknownFormatError(f"cannot read bank format {self.name!r}")

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        raise UnknownFormatError(
            f"cannot write bank format {self.name!r} (one of {', '.join(WRITE_FORMATS)})"
        )


class Plain(BankFormat):
    name = "plain"
    summary = "one hash a line, the type told by its length"

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        lines = _source.text_lines(head, stream, source)
        return plain.parse_hash_list(lines, hash_type=None, source=source)


class HashList(BankFormat):
    """One hash of a declared type a line."""

    kind: ClassVar[HashType]

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        lines = _source.text_lines(head, stream, source)
        return plain.parse_hash_list(lines, hash_type=self.kind, source=source)

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        return writers.write_hash_list(entries, out, self.kind)


class MD5(HashList):
    name = HashType.MD5.value
    summary = "one MD5 a line"
    kind = HashType.MD5


class SHA1(HashList):
    name = HashType.SHA1.value
    summary = "one SHA-1 a line"
    kind = HashType.SHA1


class SHA256(HashList):
    name = HashType.SHA256.value
    summary = "one SHA-256 a line"
    kind = HashType.SHA256


class PDQ(HashList):
    name = HashType.PDQ.value
    summary = "one PDQ a line: hex, <hex>,<quality> (Meta's tools) or pdq <hex>"
    kind = HashType.PDQ

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        return writers.write_pdq(entries, out)


class CSV(BankFormat):
    name = "csv"
    summary = "a header naming hash columns, then one entry a row"

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        return csvbank.parse_csv(_source.text_lines(head, stream, source), source=source)

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        return writers.write_csv(entries, out)


class VICS(BankFormat):
    name = "vics"
    summary = "Project VIC VICS JSON v1/v2 (written as v2)"

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        return vics.parse_vics(_source.json_bytes(head, stream), source=source)

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        return writers.write_vics(entries, out, model=vics_model)


class VPDQ(BankFormat):
    name = "vpdq"
    summary = "Meta's vPDQ video lines: frame,quality,hash,timestamp"
    frames = True

    def parse(self, head: bytes, stream: io.BufferedReader, source: str) -> Iterator[Parsed]:
        lines = _source.text_lines(head, stream, source)
        return vpdq.parse_vpdq_lines(lines, source=source)

    def write(
        self, entries: Iterable[BankEntry], out: TextIO, *, vics_model: str = "Default"
    ) -> WriteResult:
        return writers.write_vpdq(entries, out)


FORMATS: tuple[BankFormat, ...] = (
    Plain(),
    MD5(),
    SHA1(),
    SHA256(),
    PDQ(),
    CSV(),
    VICS(),
    VPDQ(),
)
"""Every bank format, in the order the CLI lists them."""
AUTO = "auto"
"""Read only: recognise the format from the file's first bytes."""
READ_FORMATS: tuple[str, ...] = (AUTO, *(f.name for f in FORMATS if f.reads))
"""``plain``: one hash a line, type by length; ``md5``…``pdq``: declared; ``auto``: detected;
``vpdq``: Meta's video lines (:mod:`verisight.matching.vpdq`)."""
WRITE_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.writes)
"""Formats :func:`write_bank` can write."""
_BY_NAME = {f.name: f for f in FORMATS}


def bank_format(name: str) -> BankFormat:
    """The format called ``name``; an :class:`UnknownFormatError` naming the known ones."""
    found = _BY_NAME.get(name)
    if found is None:
        raise UnknownFormatError(f"unknown bank format {name!r} (one of {', '.join(READ_FORMATS)})")
    return found


def write_bank(
    entries: Iterable[BankEntry], out: TextIO, format: str, *, vics_model: str = "Default"
) -> WriteResult:
    """Write ``entries`` to ``out`` in ``format`` (one of :data:`WRITE_FORMATS`)."""
    found = _BY_NAME.get(format)
    if found is None or not found.writes:
        raise UnknownFormatError(
            f"cannot write bank format {format!r} (one of {', '.join(WRITE_FORMATS)})"
        )
    return found.write(entries, out, vics_model=vics_model)
