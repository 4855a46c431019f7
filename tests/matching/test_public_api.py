"""The public API of verisight.matching is pinned, and its drawn exception tree is the real one."""

from __future__ import annotations

import re

import verisight.matching
from verisight.errors import VerisightError


def test_public_names_are_pinned() -> None:
    assert sorted(verisight.matching.__all__) == sorted(
        [
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
    )
    for name in verisight.matching.__all__:
        assert hasattr(verisight.matching, name), name


def test_docstring_tree_matches_the_classes() -> None:
    """Every class drawn in the package docstring exists and has the drawn parent."""
    doc = verisight.matching.__doc__ or ""
    tree = [
        line for line in doc.splitlines() if re.match(r"^\s+(VerisightError|[│ ]*[├└]── )", line)
    ]
    parents: list[tuple[int, str]] = []
    drawn = set()
    for line in tree:
        match = re.match(r"^(\s*(?:[│ ]*[├└]── )?)(\w+)", line)
        assert match is not None, line
        depth, name = len(match.group(1)), match.group(2)
        cls = VerisightError if name == "VerisightError" else getattr(verisight.matching, name)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            parent = parents[-1][1]
            expected = (
                VerisightError
                if parent == "VerisightError"
                else getattr(verisight.matching, parent)
            )
            assert cls.__bases__[0] is expected, (name, parent)
        parents.append((depth, name))
        drawn.add(name)
    exceptions = {
        n
        for n in verisight.matching.__all__
        if isinstance(getattr(verisight.matching, n), type)
        and issubclass(getattr(verisight.matching, n), Exception)
    }
    assert exceptions <= drawn, exceptions - drawn
