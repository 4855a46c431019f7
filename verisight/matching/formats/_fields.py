"""Field values shared by the formats: tolerant in what they accept, strict in what they keep.

Each function takes a raw value (a CSV cell or a JSON value), returns the canonical Python
value or ``None`` for "absent" (empty or null), and raises a specific
:class:`~verisight.matching.errors.InvalidInputError` (without a location; the caller adds it).
"""

from __future__ import annotations

import re

from verisight.matching.entry import VICS_CATEGORIES
from verisight.matching.errors import (
    InvalidFieldError,
    MixedHashTypesError,
    UnknownCategoryError,
    WrongLengthError,
)
from verisight.matching.signals import HashType, signal_type, types_of_length, validate_signal_str

MAX_TEXT_CHARS = 4096
"""The most characters a free-text field (label, series, comments, source id) keeps: a longer
value keeps its first ``MAX_TEXT_CHARS - len(TRUNCATED)`` characters followed by
:data:`TRUNCATED`, so a stored field is never longer than this and a cut one says so."""
TRUNCATED = " [truncated]"
"""Ends a text field that was cut to :data:`MAX_TEXT_CHARS`."""

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def squash(name: str) -> str:
    """A column or field name compared loosely: ``"SHA-256 "`` and ``"sha_256"`` → ``sha256``."""
    return _NON_ALNUM.sub("", name.strip().lstrip("\ufeff").lower())


def hash_in(kind: HashType, value: str, where: str) -> str:
    """``value`` as a ``kind`` hash found in ``where`` (a column, a list): canonical hex.

    A value that is valid hex of *another* type's length is a :class:`MixedHashTypesError`
    (e.g. a SHA-1 in the MD5 column); other lengths are :class:`WrongLengthError`.
    """
    try:
        return validate_signal_str(kind, value)
    except WrongLengthError:
        digits = len(value.strip())
        others = [t for t in types_of_length(digits) if t != kind]
        if others:
            names = " or ".join(signal_type(t).title for t in others)
            raise MixedHashTypesError(
                f"{where} holds a {digits}-digit hash ({names}), not {signal_type(kind).title}"
            ) from None
        raise


def text(value: object, what: str) -> str | None:
    """A free-text field: stripped string, numbers as text, empty or null as ``None``; longer
    than :data:`MAX_TEXT_CHARS`, cut and marked (:func:`capped`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidFieldError(f"{what} must be text, got {str(value).lower()}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if not isinstance(value, str):
        raise InvalidFieldError(f"{what} must be text, got {type(value).__name__}")
    return capped(value.strip()) or None


def capped(value: str) -> str:
    """``value`` cut to :data:`MAX_TEXT_CHARS`, ending with :data:`TRUNCATED` when cut."""
    if len(value) <= MAX_TEXT_CHARS:
        return value
    return value[: MAX_TEXT_CHARS - len(TRUNCATED)] + TRUNCATED


def integer(value: object, what: str) -> int | None:
    """A whole number given as a number or as digits; empty or null as ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidFieldError(f"{what} must be a whole number, got {str(value).lower()}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if re.fullmatch(r"[+-]?[0-9]{1,18}", stripped):
            return int(stripped)
    raise InvalidFieldError(f"{what} must be a whole number, got {value!r}")


def category(value: object) -> int | None:
    """A VICS category, 0–5."""
    number = integer(value, "Category")
    if number is not None and number not in VICS_CATEGORIES:
        raise UnknownCategoryError(f"category {number} is not a VICS category (0 to 5)")
    return number


def quality(value: object) -> int | None:
    """A PDQ quality, 0–100."""
    number = integer(value, "PDQ quality")
    if number is not None and not 0 <= number <= 100:
        raise InvalidFieldError(f"PDQ quality must be from 0 to 100, got {number}")
    return number


def boolean(value: object, what: str) -> bool | None:
    """A yes/no field: JSON booleans, 0/1, true/false, yes/no; empty or null as ``None``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise InvalidFieldError(f"{what} must be true or false, got {value!r}")
