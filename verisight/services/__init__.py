"""The services :class:`verisight.case.Case` exposes to its shells (the CLI, the web app, the
coming platform API): each holds the rules of one area, owns its stores and transactions, and
audits what it does. A shell reaches them only through the case::

    with Case(directory) as case:
        case.clusters.update(ClusterParams())
        case.reports.export_hashes(sys.stdout, "sha256", actor=os_actor())
        case.audit.verify()

Banks are :class:`verisight.banking.Banking` (``case.banking``), assessment is
:class:`verisight.assessment.AssessmentService` (``case.assessment``).
"""

from verisight.services.audit import AuditService, os_actor
from verisight.services.clusters import ClusterService
from verisight.services.intel import IntelService
from verisight.services.reports import ReportService

__all__ = ["AuditService", "ClusterService", "IntelService", "ReportService", "os_actor"]
