"""Hash banks and matching: the lists hotlines exchange, and exact PDQ search at scale.

* :mod:`verisight.matching.signals` — the hash types (MD5, SHA-1, SHA-256, PDQ): validation,
  comparison, telling them apart by length (64 hex digits must be declared).
* :mod:`verisight.matching.formats` — bank files: plain lists, CSV, Meta's PDQ lines, Project
  VIC VICS JSON v1/v2; streamed readers (:func:`read_bank`) and writers (:func:`write_bank`).
* :mod:`verisight.matching.pdq_index` — :class:`PDQIndex`, an exact Hamming-radius index
  (recall 1.0) with incremental adds and ``.npy`` persistence.

Records crossing the boundary are dataclasses: :class:`BankEntry`, :class:`SkippedRow`,
:class:`Location`, :class:`RadiusMatches`. Nothing here touches the database.

Exceptions (all carry a stable ``code``, a ``reason`` and, from a file, a ``location``)::

    VerisightError                        (verisight.errors)
    └── MatchingError
        ├── InvalidInputError         input rejected (also a ValueError)
        │   ├── MalformedHexError     not hexadecimal, or empty
        │   ├── WrongLengthError      a length no hash type has / not the declared one
        │   ├── AmbiguousHashTypeError  64 hex digits: SHA-256 or PDQ? say which
        │   ├── UnknownHashTypeError  a hash type name other than md5/sha1/sha256/pdq
        │   ├── MixedHashTypesError   one list or column holding two hash types
        │   ├── MissingHashError      a row or Media with no usable hash
        │   ├── UnknownCategoryError  a category outside VICS 0–5
        │   ├── InvalidFieldError     a field of the wrong kind; malformed CSV; a line over
        │   │                         1 MiB; text that is not UTF-8/UTF-16
        │   ├── BadHeaderError        a CSV header without hash columns        (fatal)
        │   ├── InvalidJSONError      invalid or truncated JSON, or not VICS   (fatal)
        │   └── UnknownFormatError    an unrecognisable file or format name    (fatal)
        └── PDQIndexError             arrays or arguments a PDQ index cannot use (ValueError)
            └── IndexFileError        a saved index missing, corrupt or of another version

"Fatal" errors are about a whole file: ``skip_invalid`` never skips them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verisight._lazy import lazy_exports

if TYPE_CHECKING:
    from verisight.matching.entry import VICS_CATEGORIES, BankEntry
    from verisight.matching.errors import (
        AmbiguousHashTypeError,
        BadHeaderError,
        IndexFileError,
        InvalidFieldError,
        InvalidInputError,
        InvalidJSONError,
        Location,
        MalformedHexError,
        MatchingError,
        MissingHashError,
        MixedHashTypesError,
        PDQIndexError,
        SkippedRow,
        UnknownCategoryError,
        UnknownFormatError,
        UnknownHashTypeError,
        WrongLengthError,
    )
    from verisight.matching.formats import (
        READ_FORMATS,
        WRITE_FORMATS,
        BankReader,
        WriteResult,
        detect_format,
        read_bank,
        write_bank,
    )
    from verisight.matching.pdq_index import (
        DEFAULT_RADIUS,
        PDQIndex,
        RadiusMatches,
        pdq_hashes_from_hex,
        pdq_hex_from_hashes,
    )
    from verisight.matching.signals import (
        PDQ_THRESHOLD,
        SIGNAL_TYPES,
        Comparison,
        HashType,
        SignalType,
        infer_hash_type,
        pdq_distance,
        signal_type,
        validate_signal_str,
    )

__all__ = [
    "DEFAULT_RADIUS",
    "PDQ_THRESHOLD",
    "READ_FORMATS",
    "SIGNAL_TYPES",
    "VICS_CATEGORIES",
    "WRITE_FORMATS",
    "AmbiguousHashTypeError",
    "BadHeaderError",
    "BankEntry",
    "BankReader",
    "Comparison",
    "HashType",
    "IndexFileError",
    "InvalidFieldError",
    "InvalidInputError",
    "InvalidJSONError",
    "Location",
    "MalformedHexError",
    "MatchingError",
    "MissingHashError",
    "MixedHashTypesError",
    "PDQIndex",
    "PDQIndexError",
    "RadiusMatches",
    "SignalType",
    "SkippedRow",
    "UnknownCategoryError",
    "UnknownFormatError",
    "UnknownHashTypeError",
    "WriteResult",
    "WrongLengthError",
    "detect_format",
    "infer_hash_type",
    "pdq_distance",
    "pdq_hashes_from_hex",
    "pdq_hex_from_hashes",
    "read_bank",
    "signal_type",
    "validate_signal_str",
    "write_bank",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AmbiguousHashTypeError": "verisight.matching.errors",
        "BadHeaderError": "verisight.matching.errors",
        "BankEntry": "verisight.matching.entry",
        "BankReader": "verisight.matching.formats",
        "Comparison": "verisight.matching.signals",
        "DEFAULT_RADIUS": "verisight.matching.pdq_index",
        "HashType": "verisight.matching.signals",
        "IndexFileError": "verisight.matching.errors",
        "InvalidFieldError": "verisight.matching.errors",
        "InvalidInputError": "verisight.matching.errors",
        "InvalidJSONError": "verisight.matching.errors",
        "Location": "verisight.matching.errors",
        "MalformedHexError": "verisight.matching.errors",
        "MatchingError": "verisight.matching.errors",
        "MissingHashError": "verisight.matching.errors",
        "MixedHashTypesError": "verisight.matching.errors",
        "PDQIndex": "verisight.matching.pdq_index",
        "PDQIndexError": "verisight.matching.errors",
        "PDQ_THRESHOLD": "verisight.matching.signals",
        "READ_FORMATS": "verisight.matching.formats",
        "RadiusMatches": "verisight.matching.pdq_index",
        "SIGNAL_TYPES": "verisight.matching.signals",
        "SignalType": "verisight.matching.signals",
        "SkippedRow": "verisight.matching.errors",
        "UnknownCategoryError": "verisight.matching.errors",
        "UnknownFormatError": "verisight.matching.errors",
        "UnknownHashTypeError": "verisight.matching.errors",
        "VICS_CATEGORIES": "verisight.matching.entry",
        "WRITE_FORMATS": "verisight.matching.formats",
        "WriteResult": "verisight.matching.formats",
        "WrongLengthError": "verisight.matching.errors",
        "detect_format": "verisight.matching.formats",
        "infer_hash_type": "verisight.matching.signals",
        "pdq_distance": "verisight.matching.signals",
        "pdq_hashes_from_hex": "verisight.matching.pdq_index",
        "pdq_hex_from_hashes": "verisight.matching.pdq_index",
        "read_bank": "verisight.matching.formats",
        "signal_type": "verisight.matching.signals",
        "validate_signal_str": "verisight.matching.signals",
        "write_bank": "verisight.matching.formats",
    },
)
