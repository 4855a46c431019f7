"""Hash types ("signal types", after python-threatexchange): one small class each, one list.

Each type says what its canonical form is (lowercase hex of a fixed length), validates and
normalises a string to it (or raises a specific
:class:`~verisight.matching.errors.InvalidInputError`),
and compares two values. Everything that takes a hash from outside goes through
:func:`validate_signal_str`.

Telling types apart by length (:func:`infer_hash_type`): 32 hex digits are MD5, 40 are
SHA-1, and 64 are **either SHA-256 or PDQ**. Verisight never guesses between those two: a plain
list of 64-digit hashes must be declared (``--format sha256`` or ``--format pdq``), and
otherwise the type comes from the file itself: a ``pdq <hex>`` prefix or a ``<hex>,<quality>``
line (Meta's tools), a CSV column named ``sha256`` or ``pdq``, a VICS ``AlternativeHashes``
``HashName``. An undeclared 64-digit hash raises
:class:`~verisight.matching.errors.AmbiguousHashTypeError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from verisight.matching.errors import (
    AmbiguousHashTypeError,
    MalformedHexError,
    UnknownHashTypeError,
    WrongLengthError,
)

PDQ_THRESHOLD = 31
"""PDQ's default match threshold: Hamming distance ≤ 31."""

_NOT_HEX = re.compile(r"[^0-9a-f]")


class HashType(StrEnum):
    """The hash types Verisight matches on; the value is the name used in files, DB and API."""

    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    PDQ = "pdq"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of comparing two hashes: a match or not, and the distance if defined.

    Exact types have distance 0 on a match and ``None`` otherwise; PDQ always has one.
    """

    match: bool
    distance: int | None


class SignalType:
    """One hash type. Subclasses set the class variables; the methods are shared."""

    hash_type: ClassVar[HashType]
    title: ClassVar[str]
    hex_digits: ClassVar[int]
    examples: ClassVar[tuple[str, ...]]

    @classmethod
    def validate(cls, value: str) -> str:
        """The canonical form of ``value`` (stripped, lowercase), or raise why it is not one."""
        return _normalise(value, cls)

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        """Compare two hashes of this type (validated first)."""
        same = cls.validate(a) == cls.validate(b)
        return Comparison(same, 0 if same else None)


class MD5Signal(SignalType):
    hash_type = HashType.MD5
    title = "MD5"
    hex_digits = 32
    examples = ("d41d8cd98f00b204e9800998ecf8427e", "cab08b36195edb1a1231d2d09fa450e0")


class SHA1Signal(SignalType):
    hash_type = HashType.SHA1
    title = "SHA-1"
    hex_digits = 40
    examples = ("da39a3ee5e6b4b0d3255bfef95601890afd80709",)


class SHA256Signal(SignalType):
    hash_type = HashType.SHA256
    title = "SHA-256"
    hex_digits = 64
    examples = ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",)


class PDQSignal(SignalType):
    hash_type = HashType.PDQ
    title = "PDQ"
    hex_digits = 64
    examples = (
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "0000000000000000000000000000000000000000000000000000000000000000",
    )

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        """Hamming distance; a match at ``≤ threshold`` (default :data:`PDQ_THRESHOLD`)."""
        distance = pdq_distance(a, b)
        limit = PDQ_THRESHOLD if threshold is None else threshold
        return Comparison(distance <= limit, distance)


SIGNAL_TYPES: tuple[type[SignalType], ...] = (MD5Signal, SHA1Signal, SHA256Signal, PDQSignal)
"""Every hash type, in the order Verisight lists them."""

_BY_NAME: dict[str, type[SignalType]] = {s.hash_type.value: s for s in SIGNAL_TYPES}


def signal_type(name: str | HashType) -> type[SignalType]:
    """The class of hash type ``name`` (``md5``, ``sha1``, ``sha256``, ``pdq``)."""
    try:
        return _BY_NAME[str(name).strip().lower()]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise UnknownHashTypeError(f"unknown hash type {name!r} (known: {known})") from None


def validate_signal_str(hash_type: str | HashType, value: str) -> str:
    """The one entry point for hashes from outside: canonical hex of ``hash_type`` or raise."""
    return signal_type(hash_type).validate(value)


def types_of_length(digits: int) -> tuple[HashType, ...]:
    """The hash types that have ``digits`` hex digits (64: SHA-256 and PDQ)."""
    return tuple(s.hash_type for s in SIGNAL_TYPES if s.hex_digits == digits)


def infer_hash_type(value: str, *, hex64: HashType | str | None = None) -> HashType:
    """The type of ``value`` by its length; ``hex64`` says what 64 digits mean.

    Raises :class:`MalformedHexError` for non-hex, :class:`WrongLengthError` for a length no
    type has, :class:`AmbiguousHashTypeError` for 64 digits without ``hex64``.
    """
    text = _hex_text(value)
    found = types_of_length(len(text))
    if not found:
        raise WrongLengthError(
            f"{len(text)} hex digits is no known hash: MD5 has 32, SHA-1 40, SHA-256 and PDQ 64"
        )
    if len(found) == 1:
        return found[0]
    if hex64 is None:
        raise AmbiguousHashTypeError(
            "64 hex digits could be SHA-256 or PDQ: declare which "
            "(--format sha256 or --format pdq, or a pdq/sha256 column)"
        )
    chosen = signal_type(hex64).hash_type
    if chosen not in found:
        raise UnknownHashTypeError(f"{chosen} hashes do not have 64 hex digits")
    return chosen


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes given as hex."""
    return (int(PDQSignal.validate(a), 16) ^ int(PDQSignal.validate(b), 16)).bit_count()


def _hex_text(value: str) -> str:
    if not isinstance(value, str):
        raise MalformedHexError(f"expected a hex string, got {type(value).__name__}")
    text = value.strip().lower()
    if not text:
        raise MalformedHexError("empty hash")
    bad = _NOT_HEX.search(text)
    if bad is not None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise MalformedHexError(
            f"{shown!r} is not hexadecimal ({bad.group()!r} at position {bad.start() + 1})"
        )
    return text


def _normalise(value: str, kind: type[SignalType]) -> str:
    text = _hex_text(value)
    if len(text) != kind.hex_digits:
        others = [t for t in types_of_length(len(text)) if t is not kind.hash_type]
        hint = f" (the length of {' or '.join(signal_type(t).title for t in others)})"
        raise WrongLengthError(
            f"{kind.title} hashes have {kind.hex_digits} hex digits, this has {len(text)}"
            + (hint if others else "")
        )
    return text
