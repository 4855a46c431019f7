"""One vocabulary per concept: every list in use is its owner's (``verisight/vocab.py``,
``HashType``), and the distinctive words are spelled out only there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import verisight
from verisight import vocab
from verisight.analysis.provenance import model
from verisight.assessment import clusters, review, service, taxonomy
from verisight.clustering import propagation
from verisight.matching import signals
from verisight.matching.formats import csvbank, registry, vics
from verisight.reports import cybertip, hashes, statistics
from verisight.store import banks, reporting
from verisight.vocab import AI_VERDICTS, CRIMINAL, SETTLED, Outcome, Stage, Status, Verdict


def test_provenance_verdict_lists_are_the_owners() -> None:
    assert tuple(Verdict) == model.VERDICTS
    assert set(review.PROVENANCE_VERDICTS) == set(Verdict)
    assert len(review.PROVENANCE_VERDICTS) == len(Verdict)
    assert set(review.PROVENANCE_PRIORITY) - {None} == set(Verdict)
    assert set(statistics.PROVENANCE) == {*Verdict, vocab.NOT_CHECKED}
    assert reporting.AI_PROVENANCE == cybertip.AI_PROVENANCE == AI_VERDICTS
    assert set(AI_VERDICTS) < set(Verdict)


def test_legal_outcomes_and_the_criminal_set_are_the_owners() -> None:
    assert taxonomy.OUTCOME.codes() == tuple(Outcome)
    assert taxonomy.CRIMINAL is CRIMINAL
    assert reporting.__dict__["CRIMINAL"] is CRIMINAL
    assert taxonomy.CATEGORY.only_for == CRIMINAL
    assert set(CRIMINAL) == set(Outcome) - {Outcome.NOT_ILLEGAL}


def test_settled_statuses_and_stages_are_the_owners() -> None:
    assert propagation.SETTLED is SETTLED
    assert hashes.SETTLED is SETTLED
    assert set(SETTLED) < set(Status)
    assert clusters.PROPAGATED is Stage.PROPAGATED


def test_hash_type_lists_are_the_owners() -> None:
    assert set(csvbank.HASH_FIELDS.values()) == set(signals.HashType)
    assert set(vics._HASH_NAMES.values()) == set(signals.HashType)
    assert set(banks.EXACT_TYPES) == set(signals.HashType) - {signals.HashType.PDQ}
    assert {f.name for f in registry.FORMATS} >= set(signals.HashType)


def test_members_are_their_old_strings() -> None:
    """Stored and exported values do not change."""
    assert [*Status] == ["final", "awaiting-review", "disputed", "resolved"]
    assert [*Verdict] == ["ai-declared", "ai-edited", "camera-declared", "none"]
    assert str(Outcome.PSEUDO_PHOTOGRAPH) == "pseudo-photograph"
    assert (
        f"{Stage.PROPAGATED}" == "propagated" and str(vocab.Mode.SECOND_OPINION) == "second-opinion"
    )
    assert service.__dict__["Mode"] is vocab.Mode


#: Words that mean one thing only; spelled as a string literal only in their owner.
_OWNED = {
    "ai-declared": "vocab.py",
    "camera-declared": "vocab.py",
    "indecent-photograph": "vocab.py",
    "pseudo-photograph": "vocab.py",
    "prohibited-image": "vocab.py",
    "not-illegal": "vocab.py",
    "awaiting-review": "vocab.py",
    "disputed": "vocab.py",
}


@pytest.mark.parametrize("word", sorted(_OWNED))
def test_word_is_spelled_only_by_its_owner(word: str) -> None:
    root = Path(verisight.__file__).parent
    literal = re.compile(rf"""(?<![#\w])["']{re.escape(word)}["']""")
    found = []
    for path in root.rglob("*.py"):
        if path.name == _OWNED[word] or "migrations" in path.parts:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if literal.search(code):
                found.append(f"{path.relative_to(root)}:{lineno}")
    assert found == [], f"use verisight.vocab instead of the string {word!r}"


def test_one_name_one_thing() -> None:
    """``BankEntry``, ``Candidate`` and ``FIELDS`` each name one thing in the package."""
    from verisight.clustering import near_duplicates
    from verisight.matching import entry
    from verisight.store import assessments, schema

    owners = {"BankEntry": entry, "Candidate": near_duplicates, "FIELDS": taxonomy}
    root = Path(verisight.__file__).parent
    for name, owner in owners.items():
        defined = re.compile(rf"^(class {name}\b|{name}\s*[:=])", re.MULTILINE)
        places = [
            str(path.relative_to(root))
            for path in root.rglob("*.py")
            if defined.search(path.read_text(encoding="utf-8"))
        ]
        assert places == [str(Path(str(owner.__file__)).relative_to(root))], name
    assert not hasattr(schema, "BankEntry") and not hasattr(assessments, "FIELDS")
    assert not hasattr(banks, "EntryRow")
