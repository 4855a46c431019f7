"""Hash types: one parametrised suite run on every registered type (python-threatexchange's
pattern), plus inference by length and the 64-digit SHA-256/PDQ rule."""

from __future__ import annotations

import pytest

from verisight.matching import (
    SIGNAL_TYPES,
    AmbiguousHashTypeError,
    HashType,
    MalformedHexError,
    SignalType,
    UnknownHashTypeError,
    WrongLengthError,
    infer_hash_type,
    pdq_distance,
    signal_type,
    validate_signal_str,
)
from verisight.matching.signals import PDQSignal

TYPES = [pytest.param(kind, id=kind.hash_type.value) for kind in SIGNAL_TYPES]


def test_registry_lists_the_four_types_once() -> None:
    assert [s.hash_type for s in SIGNAL_TYPES] == [
        HashType.MD5,
        HashType.SHA1,
        HashType.SHA256,
        HashType.PDQ,
    ]
    for kind in SIGNAL_TYPES:
        assert signal_type(kind.hash_type.value) is kind
        assert signal_type(kind.hash_type) is kind


@pytest.mark.parametrize("kind", TYPES)
def test_examples_are_canonical(kind: type[SignalType]) -> None:
    assert kind.examples
    for example in kind.examples:
        assert kind.validate(example) == example
        assert len(example) == kind.hex_digits
        assert validate_signal_str(kind.hash_type, example) == example


@pytest.mark.parametrize("kind", TYPES)
def test_validation_normalises_case_and_whitespace(kind: type[SignalType]) -> None:
    example = kind.examples[0]
    assert kind.validate(f"  {example.upper()}\t\n") == example


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("bad", ["", "   ", "0x00", "zz", "g" * 32, "12 34"])
def test_non_hex_is_malformed(kind: type[SignalType], bad: str) -> None:
    with pytest.raises(MalformedHexError):
        kind.validate(bad)


@pytest.mark.parametrize("kind", TYPES)
def test_wrong_length_says_what_was_expected(kind: type[SignalType]) -> None:
    example = kind.examples[0]
    for value in (example[:-1], example + "0", example * 2):
        with pytest.raises(WrongLengthError) as info:
            kind.validate(value)
        assert str(kind.hex_digits) in info.value.reason
        assert info.value.location is None


@pytest.mark.parametrize("kind", TYPES)
def test_compare_matches_itself_and_not_another(kind: type[SignalType]) -> None:
    a = kind.examples[0]
    b = ("f" if a[0] != "f" else "e") * kind.hex_digits
    assert kind.compare(a, a.upper()).match
    assert kind.compare(a, a).distance == 0
    assert not kind.compare(a, b).match


def test_pdq_compare_uses_hamming_distance_and_threshold() -> None:
    zero = "0" * 64
    d31 = "f" * 7 + "7" + "0" * 56  # 28 + 3 bits = 31
    d32 = "f" * 8 + "0" * 56
    assert pdq_distance(zero, d31) == 31
    assert PDQSignal.compare(zero, d31).match
    result = PDQSignal.compare(zero, d32)
    assert (result.match, result.distance) == (False, 32)
    assert PDQSignal.compare(zero, d32, threshold=32).match


@pytest.mark.parametrize(("digits", "expected"), [(32, HashType.MD5), (40, HashType.SHA1)])
def test_infer_by_length(digits: int, expected: HashType) -> None:
    assert infer_hash_type("a" * digits) == expected


def test_64_digits_are_ambiguous_unless_declared() -> None:
    value = "ab" * 32
    with pytest.raises(AmbiguousHashTypeError) as info:
        infer_hash_type(value)
    assert "--format sha256" in info.value.reason
    assert infer_hash_type(value, hex64=HashType.PDQ) == HashType.PDQ
    assert infer_hash_type(value, hex64="sha256") == HashType.SHA256
    with pytest.raises(UnknownHashTypeError):
        infer_hash_type(value, hex64="md5")


def test_infer_rejects_unknown_lengths_and_non_hex() -> None:
    with pytest.raises(WrongLengthError):
        infer_hash_type("a" * 33)
    with pytest.raises(MalformedHexError):
        infer_hash_type("x" * 32)


def test_unknown_type_name() -> None:
    with pytest.raises(UnknownHashTypeError):
        validate_signal_str("photodna", "00")
