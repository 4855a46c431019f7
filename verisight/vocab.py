"""The words Verisight stores and exports, one :class:`~enum.StrEnum` per concept.

Each concept is defined here once and imported everywhere else (HTTPX's ``codes`` is the
model): a member *is* its string (``Status.FINAL == "final"``), so the database, JSON, CSV
and the web forms hold the same values as before, and ``tests/test_vocab.py`` checks that
every list in use equals the one here. Hash types are owned by
:class:`verisight.matching.signals.HashType`; the taxonomy's labels and laws by
:mod:`verisight.assessment.taxonomy`.

========================  ===============================================================
name                      what
========================  ===============================================================
:class:`Verdict`          provenance verdict of an image (:mod:`verisight.analysis.provenance`)
:data:`AI_VERDICTS`       the verdicts that say an image was made or changed by AI
:class:`Outcome`          UK legal outcome of an assessment
:data:`CRIMINAL`          the outcomes that are offences
:class:`Status`           an assessment's review status
:data:`SETTLED`           the statuses whose decision is settled (exported, propagated)
:class:`Mode`             what the current user may do with an item's decision
:class:`Stage`            the stage of one opinion (and of its audit entry)
========================  ===============================================================
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """What an image's provenance metadata declares (see ``analysis/provenance/verdict.py``)."""

    AI_DECLARED = "ai-declared"
    AI_EDITED = "ai-edited"
    CAMERA_DECLARED = "camera-declared"
    NONE = "none"


AI_VERDICTS: tuple[Verdict, ...] = (Verdict.AI_DECLARED, Verdict.AI_EDITED)
"""Verdicts of AI-generated or AI-edited images."""
NOT_CHECKED = "not-checked"
"""Statistics only: media whose provenance was not read (videos, older scans)."""


class Outcome(StrEnum):
    """The UK legal outcome of an assessment (labels and laws: ``assessment/taxonomy.py``)."""

    NOT_ILLEGAL = "not-illegal"
    INDECENT_PHOTOGRAPH = "indecent-photograph"
    PSEUDO_PHOTOGRAPH = "pseudo-photograph"
    PROHIBITED_IMAGE = "prohibited-image"


CRIMINAL: tuple[Outcome, ...] = (
    Outcome.INDECENT_PHOTOGRAPH,
    Outcome.PSEUDO_PHOTOGRAPH,
    Outcome.PROHIBITED_IMAGE,
)
"""Outcomes that are offences (a severity category is asked for these)."""


class Status(StrEnum):
    """An assessment's review status."""

    FINAL = "final"
    AWAITING_REVIEW = "awaiting-review"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


SETTLED: tuple[Status, ...] = (Status.FINAL, Status.RESOLVED)
"""Statuses whose decision stands: exported by default, propagated to a cluster."""


class Mode(StrEnum):
    """What the current user may do with one item's decision."""

    ASSESS = "assess"
    EDIT = "edit"
    SECOND_OPINION = "second-opinion"
    RESOLVE = "resolve"
    READ = "read"


class Stage(StrEnum):
    """The stage of one opinion, as stored and audited."""

    FIRST = "first"
    EDIT = "edit"
    SECOND = "second"
    RESOLUTION = "resolution"
    PROPAGATED = "propagated"
    """Received from a cluster's representative."""
