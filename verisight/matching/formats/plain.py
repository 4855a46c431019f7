"""Line formats: plain hash lists and Meta's PDQ lines.

**Plain lists** (``md5``, ``sha1``, ``sha256``, ``pdq`` when declared, ``plain`` when not):
one hash per line; blank lines and lines starting with ``#`` are ignored; surrounding
whitespace and letter case do not matter. A list holds one type: declared by the format, or
set by its first hash (32 digits MD5, 40 SHA-1; 64 must be declared). A hash of another
type's length is a :class:`~verisight.matching.errors.MixedHashTypesError`.

**PDQ lines** (``pdq``): also ``pdq <hex>`` (python-threatexchange's ``tx hash``) and
``<hex>,<quality>[,<anything>]`` (Meta's ``pdq-photo-hasher``: the third field, a file name,
is ignored), mixed freely with bare hashes.

The parsers yield :class:`~verisight.matching.entry.BankEntry` objects, or, for a bad line, the
located error (the reader raises it or skips the line).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from verisight.matching.entry import BankEntry
from verisight.matching.errors import InvalidInputError, Location, MixedHashTypesError
from verisight.matching.formats import _fields
from verisight.matching.signals import HashType, infer_hash_type, signal_type

Parsed = BankEntry | InvalidInputError


def parse_hash_list(
    lines: Iterable[str], *, hash_type: HashType | None, source: str
) -> Iterator[Parsed]:
    """Entries of a plain list; ``hash_type`` None: the first hash sets the type."""
    if hash_type == HashType.PDQ:
        yield from parse_pdq_lines(lines, source=source)
        return
    list_type: HashType | None = hash_type
    set_by = "the format" if hash_type else ""
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(source, lineno)
        try:
            if list_type is None:
                list_type = infer_hash_type(line)
                set_by = f"the first hash, line {lineno}"
            try:
                value = _fields.hash_in(list_type, line, f"a list of {_title(list_type)} hashes")
            except MixedHashTypesError as exc:
                raise MixedHashTypesError(f"{exc.reason} (the type was set by {set_by})") from None
        except InvalidInputError as exc:
            yield exc.at(where)
            continue
        yield BankEntry.from_hashes({list_type: value}, location=where)


def parse_pdq_lines(lines: Iterable[str], *, source: str) -> Iterator[Parsed]:
    """Entries of a PDQ list: bare hashes, ``pdq <hex>`` or ``<hex>,<quality>[,…]``."""
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(source, lineno)
        quality: int | None = None
        if line[:3].lower() == "pdq" and line[3:4] in (" ", "\t"):
            hex_part = line[4:]
        elif "," in line:
            fields = line.split(",")
            hex_part = fields[0]
            try:
                quality = _fields.quality(fields[1])
            except InvalidInputError as exc:
                yield exc.at(where)
                continue
        else:
            hex_part = line
        try:
            value = _fields.hash_in(HashType.PDQ, hex_part, "a list of PDQ hashes")
        except InvalidInputError as exc:
            yield exc.at(where)
            continue
        yield BankEntry(pdq=value, pdq_quality=quality, location=where)


def _title(kind: HashType) -> str:
    return signal_type(kind).title
