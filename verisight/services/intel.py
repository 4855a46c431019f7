"""The intel service: models and LoRAs in use, term-list hits, model-name imports.

The rules are :mod:`verisight.intel`; the SQL is :mod:`verisight.store.intel`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from verisight import intel
from verisight.intel import ModelUse
from verisight.store.intel import IntelStore

__all__ = ["IntelService", "ModelUse", "TermHit"]


class TermHit(NamedTuple):
    """A media whose extracted prompt contains terms of the list."""

    sha256: str
    #: Where it was first seen.
    path: str | None
    terms: list[str]

    def to_json(self) -> dict[str, Any]:
        """As ``verisight intel terms --json`` prints it."""
        return {"sha256": self.sha256, "terms": self.terms, "path": self.path}


class IntelService:
    """Generator intelligence of one case (``case.intel``)."""

    def __init__(self, store: IntelStore) -> None:
        self._store = store

    def models(self) -> list[ModelUse]:
        """Every model and LoRA seen in generator metadata, most used first."""
        return intel.models(self._store)

    def terms(self, term_list: Path) -> Iterator[TermHit]:
        """Media whose prompt contains a term or phrase of the file (one a line)."""
        words = intel.read_terms(term_list)
        for sha, path, hits in intel.match_terms(self._store, words):
            yield TermHit(sha, path, hits)

    def import_models(self, path: Path) -> int:
        """Names and URLs for model/LoRA hashes from a ``hash,name[,url][,kind]`` CSV."""
        return intel.import_models(self._store, path)
