"""Assessment: the UK legal taxonomy as data, mappings to other schemes, queue order, second
review, welfare settings, accounts, and :class:`AssessmentService` that the CLI and the web
app both use.

Public API::

    from verisight.assessment import AssessmentService
    service = AssessmentService(case)
"""

from verisight.assessment.accounts import TooManyAttempts, temporary_password
from verisight.assessment.service import (
    AdminView,
    AssessmentService,
    AuditFilter,
    History,
    InvalidDecision,
    ItemView,
    QueueFilter,
    QueueView,
    StaleVersion,
)
from verisight.assessment.sso import Identity, SsoRefused
from verisight.errors import Forbidden
from verisight.store.users import SessionRecord, UserRecord

__all__ = [
    "AdminView",
    "AssessmentService",
    "AuditFilter",
    "Forbidden",
    "History",
    "Identity",
    "InvalidDecision",
    "ItemView",
    "QueueFilter",
    "QueueView",
    "SessionRecord",
    "SsoRefused",
    "StaleVersion",
    "TooManyAttempts",
    "UserRecord",
    "temporary_password",
]
