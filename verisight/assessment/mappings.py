"""Mappings from a UK assessment to other schemes, as data tables.

Each table row says where it is a judgement call rather than a definition. The mappings are
exported with every assessment (:func:`map_decision`).

* **VICS** (Project VIC): 0 non-pertinent, 1 child abuse material, 2 child exploitive /
  age difficult, 3 CGI/animation, 4 comparison.
* **NCMEC industry classification**: A prepubescent / B pubescent, 1 sex act / 2 lascivious
  exhibition.
* **INTERPOL baseline**: material illegal in every member country (a real, apparently
  prepubescent child; sexual activity or a focus on the genital/anal region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verisight.store.assessments import Decision
from verisight.vocab import Outcome


@dataclass(frozen=True)
class Rule:
    outcome: str
    value: int | None
    judgement: str = ""


#: UK outcome -> VICS category.
VICS: tuple[Rule, ...] = (
    Rule(Outcome.NOT_ILLEGAL, 0, "VICS 2 (exploitive / age difficult) cannot be told from the UK "
         "outcome alone; non-pertinent is used"),
    Rule(Outcome.INDECENT_PHOTOGRAPH, 1),
    Rule(Outcome.PSEUDO_PHOTOGRAPH, 1, "a realistic pseudo-photograph is treated as a photograph "
         "in UK law, so it maps to child abuse material rather than 3 (CGI/animation)"),
    Rule(Outcome.PROHIBITED_IMAGE, 3),
)  # fmt: skip

#: Age bands counted as prepubescent (NCMEC A) and, for INTERPOL, apparently under 13.
PREPUBESCENT = ("0-2", "3-6", "7-10", "11-13")
PREPUBESCENT_JUDGEMENT = (
    "11–13 is counted as prepubescent; puberty varies and the NCMEC A/B line is the "
    "analyst's call in that band"
)
#: Sentencing Council category -> NCMEC digit (1 sex act, 2 lascivious exhibition).
NCMEC_ACT = {"A": "1", "B": "1", "C": "2"}
NCMEC_JUDGEMENT = (
    "category C is mapped to 2 (lascivious exhibition); some C images meet neither; "
    "non-photographic prohibited images get no NCMEC class"
)
INTERPOL_JUDGEMENT = (
    "baseline only for real photographs in category A or B with a child apparently under 13 "
    "(up to 11–13); category C images with a genital focus may also qualify and are left to "
    "the analyst; AI and partially synthetic images are never baseline"
)

#: VICS category of a bank entry -> UK outcome pre-filled in the form (analyst confirms).
FROM_VICS: dict[int, str] = {
    0: Outcome.NOT_ILLEGAL,
    1: Outcome.INDECENT_PHOTOGRAPH,
    2: Outcome.NOT_ILLEGAL,
    3: Outcome.PROHIBITED_IMAGE,
    4: Outcome.NOT_ILLEGAL,
}
FROM_VICS_JUDGEMENT = (
    "VICS 1 is pre-filled as an indecent photograph (it may be a pseudo-photograph); "
    "VICS 2 and 4 are not illegal under UK law by themselves; the UK category A/B/C is "
    "pre-filled only when the bank's label names it"
)
_LABEL_CATEGORY = re.compile(r"^\s*(?:cat(?:egory)?[\s.:_-]*)?([ABC])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Mapped:
    vics: int
    ncmec: str | None
    interpol_baseline: bool


def vics_category(outcome: str) -> int:
    for rule in VICS:
        if rule.outcome == outcome:
            assert rule.value is not None
            return rule.value
    raise KeyError(outcome)


def map_decision(d: Decision) -> Mapped:
    """The VICS category, NCMEC class and INTERPOL baseline flag of a UK decision."""
    vics = vics_category(d.outcome)
    ncmec: str | None = None
    photographic = d.outcome in (Outcome.INDECENT_PHOTOGRAPH, Outcome.PSEUDO_PHOTOGRAPH)
    if photographic and d.category in NCMEC_ACT and d.age_band != "unknown":
        stage = "A" if d.age_band in PREPUBESCENT else "B"
        ncmec = stage + NCMEC_ACT[d.category]
    baseline = (
        d.outcome == Outcome.INDECENT_PHOTOGRAPH
        and d.origin in ("photographic", "unknown")
        and d.category in ("A", "B")
        and d.age_band in PREPUBESCENT
    )
    return Mapped(vics, ncmec, baseline)


def prefill_from_bank(category: int | None, label: str | None) -> dict[str, str]:
    """Form values suggested by a bank match (empty when the bank gives no category)."""
    if category is None or category not in FROM_VICS:
        return {}
    values = {"outcome": FROM_VICS[category]}
    if values["outcome"] != Outcome.NOT_ILLEGAL and label:
        m = _LABEL_CATEGORY.match(label)
        if m:
            values["category"] = m.group(1).upper()
    return values


JUDGEMENT_CALLS: tuple[str, ...] = (
    *(f"VICS {r.outcome} -> {r.value}: {r.judgement}" for r in VICS if r.judgement),
    f"NCMEC: {PREPUBESCENT_JUDGEMENT}",
    f"NCMEC: {NCMEC_JUDGEMENT}",
    f"INTERPOL: {INTERPOL_JUDGEMENT}",
    f"Bank pre-fill: {FROM_VICS_JUDGEMENT}",
)
