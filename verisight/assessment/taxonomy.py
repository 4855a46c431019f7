"""The UK assessment taxonomy, as data.

Every choice an analyst makes is an :class:`Option` in a :class:`Field`: a stable code (stored
in the database and exported), a label, the key that selects it in the web form and, for legal
outcomes, the law it rests on. Adding a choice means adding a row here, not a branch in code.
"""

from __future__ import annotations

from dataclasses import dataclass

from verisight.vocab import CRIMINAL as CRIMINAL  # re-exported: the form asks category for these
from verisight.vocab import Outcome


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    key: str
    law: str = ""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    options: tuple[Option, ...]
    #: Only asked for these outcomes (empty: always asked).
    only_for: tuple[str, ...] = ()

    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option:
        for o in self.options:
            if o.code == code:
                return o
        raise KeyError(code)


OUTCOME = Field(
    "outcome",
    "Legal outcome (UK)",
    (
        Option(Outcome.NOT_ILLEGAL, "Not illegal", "n"),
        Option(
            Outcome.INDECENT_PHOTOGRAPH,
            "Indecent photograph",
            "i",
            "Protection of Children Act 1978 s.1 (a real photograph)",
        ),
        Option(
            Outcome.PSEUDO_PHOTOGRAPH,
            "Pseudo-photograph",
            "p",
            "Protection of Children Act 1978 s.1 and s.7(7): made by computer graphics or "
            "otherwise, appears to be a photograph (realistic AI images)",
        ),
        Option(
            Outcome.PROHIBITED_IMAGE,
            "Prohibited image",
            "x",
            "Coroners and Justice Act 2009 s.62: non-photographic (drawn, CGI, unrealistic AI)",
        ),
    ),
)

CATEGORY = Field(
    "category",
    "Severity (Sentencing Council)",
    (
        Option("A", "A: penetrative activity, with an animal, or sadism", "a"),
        Option("B", "B: non-penetrative sexual activity", "b"),
        Option("C", "C: other indecent images", "c"),
    ),
    only_for=CRIMINAL,
)

ORIGIN = Field(
    "origin",
    "Origin",
    (
        Option("photographic", "Photographic", "h"),
        Option("ai-photorealistic", "AI, photorealistic", "g"),
        Option("ai-non-photorealistic", "AI, not photorealistic", "d"),
        Option("partially-synthetic", "Partially synthetic (a real likeness added)", "s"),
        Option("unknown", "Unknown", "o"),
    ),
)

AGE_BAND = Field(
    "age_band",
    "Youngest apparent age",
    (
        Option("0-2", "0–2", "1"),
        Option("3-6", "3–6", "2"),
        Option("7-10", "7–10", "3"),
        Option("11-13", "11–13", "4"),
        Option("14-15", "14–15", "5"),
        Option("16-17", "16–17", "6"),
        Option("unknown", "Unknown", "0"),
    ),
)

SEX = Field(
    "sex",
    "Sex",
    (
        Option("girls", "Girls", "q"),
        Option("boys", "Boys", "w"),
        Option("both", "Both", "e"),
        Option("unidentified", "Unidentified", "t"),
    ),
)

FIELDS: tuple[Field, ...] = (OUTCOME, CATEGORY, ORIGIN, AGE_BAND, SEX)

#: Defaults for a fresh form (the analyst confirms or changes them).
DEFAULTS = {"origin": "unknown", "age_band": "unknown", "sex": "unidentified"}
