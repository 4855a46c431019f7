"""User names: one normal form, and refusal of look-alikes.

A name is stored in Unicode NFKC form (so full-width ``ａｌｉｃｅ`` is ``alice``). A new name is
refused when it mixes scripts (Latin ``lice`` with a Cyrillic ``а``) or when its *skeleton*
equals an existing user's: the skeleton is the casefolded name with common Cyrillic and Greek
look-alikes mapped to the Latin letters they imitate, so ``Alice`` and an all-Cyrillic
``аѕе``-style spelling of an existing ``ase`` collide. This is a deliberately small rule, not
the full Unicode confusables table: mixed-script names are the usual attack and are refused
outright, and the table covers the letters that pass for Latin in a single script.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 100

#: Cyrillic and Greek letters (after casefolding) that look like Latin ones.
_LOOKALIKE = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "α": "a", "β": "b",
        "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
        "0": "o", "1": "l", "|": "l",
    }
)  # fmt: skip


def normalise(name: str) -> str:
    """The stored form of a submitted name: NFKC (no casefolding: the name keeps its case)."""
    return unicodedata.normalize("NFKC", name)


def valid(name: str) -> bool:
    """1 to :data:`MAX_NAME` printable characters without surrounding spaces (NFKC form)."""
    return 0 < len(name) <= MAX_NAME and name.isprintable() and name == name.strip()


def scripts(name: str) -> set[str]:
    """The scripts of the name's letters (``LATIN``, ``CYRILLIC``, …; digits and marks aside)."""
    found: set[str] = set()
    for ch in name:
        if ch.isalpha():
            found.add(unicodedata.name(ch, "UNKNOWN").split(" ")[0])
    return found


def skeleton(name: str) -> str:
    """What the name looks like: casefolded, look-alikes mapped to Latin, marks dropped."""
    folded = unicodedata.normalize("NFKD", normalise(name).casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return bare.translate(_LOOKALIKE)


def problem(name: str, existing: list[str]) -> str | None:
    """Why ``name`` (already normalised) may not be added next to ``existing``, or None."""
    if not valid(name):
        return f"a user name is 1 to {MAX_NAME} printable characters"
    if len(scripts(name)) > 1:
        return "a user name may not mix scripts (look-alike letters)"
    mine = skeleton(name)
    for other in existing:
        if other == name:
            return f"a user named {name!r} already exists"
        if skeleton(other) == mine:
            return f"{name!r} looks like the existing user {other!r}"
    return None
