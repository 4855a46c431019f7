"""Text normalisation shared by series grouping and term matching."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed.

    ``"A  Red\\u00a0BIKE"`` → ``"a red bike"``.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
