"""Exceptions of :mod:`verisight.matching`, and where in a bank file a problem was found.

Every problem with input (a hash string, a row, a whole bank file) is an
:class:`InvalidInputError` carrying a stable ``code``, a ``reason`` for people and, when it
comes from a file, a :class:`Location` (file, line, JSON path, column). The hierarchy is drawn
in the package docstring (:mod:`verisight.matching`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from verisight.errors import VerisightError


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a bank file something was found: a line (text formats) or a JSON path."""

    source: str | None = None
    line: int | None = None
    path: str | None = None
    column: str | None = None

    @classmethod
    def stored(cls, text: str) -> Location:
        """A location read back from the case database, where it is kept as its text."""
        return cls(source=text)

    def __str__(self) -> str:
        parts = [self.source or "<input>"]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.path is not None:
            parts.append(self.path)
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class MatchingError(VerisightError):
    """Base of every exception :mod:`verisight.matching` raises."""


class InvalidInputError(MatchingError, ValueError):
    """Input was rejected: ``code`` says why (stable), ``reason`` explains, ``location`` where."""

    code: ClassVar[str] = "invalid-input"

    def __init__(self, reason: str, location: Location | None = None) -> None:
        self.reason = reason
        self.location = location
        super().__init__(f"{location}: {reason}" if location is not None else reason)

    def at(self, location: Location) -> Self:
        """The same error, found at ``location``."""
        return type(self)(self.reason, location)


class MalformedHexError(InvalidInputError):
    """A hash contains something other than hexadecimal digits (or nothing at all)."""

    code = "malformed-hex"


class WrongLengthError(InvalidInputError):
    """A hash has a number of hex digits no hash type (or not its declared type) has."""

    code = "wrong-length"


class AmbiguousHashTypeError(InvalidInputError):
    """64 hex digits with nothing to say whether they are SHA-256 or PDQ."""

    code = "ambiguous-hash-type"


class UnknownHashTypeError(InvalidInputError):
    """A hash type name that is not one of md5, sha1, sha256, pdq."""

    code = "unknown-hash-type"


class MixedHashTypesError(InvalidInputError):
    """One list or column holds hashes of two types (e.g. a SHA-1 in the MD5 column)."""

    code = "mixed-hash-types"


class MissingHashError(InvalidInputError):
    """A row or VICS Media carries no hash Verisight can use."""

    code = "missing-hash"


class UnknownCategoryError(InvalidInputError):
    """A category outside VICS's 0–5."""

    code = "unknown-category"


class InvalidFieldError(InvalidInputError):
    """A field has a value of the wrong kind (a non-numeric category, a quality of 300…)."""

    code = "invalid-field"


class BadHeaderError(InvalidInputError):
    """A CSV header names no hash column, or names one twice. Always fatal."""

    code = "bad-header"


class InvalidJSONError(InvalidInputError):
    """Truncated or invalid JSON, or JSON that is not VICS. Always fatal."""

    code = "invalid-json"


class UnknownFormatError(InvalidInputError):
    """A bank file whose format cannot be recognised, or an unknown format name."""

    code = "unknown-format"


class PDQIndexError(MatchingError, ValueError):
    """A PDQ index was given arrays or arguments it cannot use."""


class IndexFileError(PDQIndexError):
    """A saved PDQ index is missing, unreadable, corrupt or from another version."""


FATAL: tuple[type[InvalidInputError], ...] = (
    BadHeaderError,
    InvalidJSONError,
    UnknownFormatError,
)
"""Errors about a whole file, never skipped even with ``skip_invalid``."""


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row left out by ``skip_invalid``: where, why (stable code) and why (for people)."""

    location: Location
    code: str
    reason: str

    @classmethod
    def from_error(cls, error: InvalidInputError) -> SkippedRow:
        return cls(error.location or Location(), error.code, error.reason)

    def __str__(self) -> str:
        return f"{self.location}: {self.code}: {self.reason}"
