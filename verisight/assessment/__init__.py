"""Assessment: the UK legal taxonomy as data, mappings to other schemes, queue order, second
review, welfare settings, accounts, and :class:`AssessmentService` that the CLI and the web
app both use.

Public API::

    from verisight.assessment import AssessmentService
    service = AssessmentService(case)
"""

from verisight.assessment.service import AssessmentService, Forbidden, InvalidDecision, StaleVersion

__all__ = ["AssessmentService", "Forbidden", "InvalidDecision", "StaleVersion"]
