"""Assessment: the UK legal taxonomy as data, mappings to other schemes, queue order, second
review, welfare settings, accounts, and :class:`AssessmentService` that the CLI and the web
app both use.

Public API::

    from vigil.assessment import AssessmentService
    service = AssessmentService(case)
"""

from vigil.assessment.service import AssessmentService, Forbidden, InvalidDecision, StaleVersion

__all__ = ["AssessmentService", "Forbidden", "InvalidDecision", "StaleVersion"]
