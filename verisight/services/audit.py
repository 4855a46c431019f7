"""The audit service: verify the hash-chained log, read it, and who a local shell acts as.

Services append their own entries inside their units of work; this service is for the
shells that only read or check the log (``verisight audit verify``).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator

from verisight.store.audit import AuditLog, AuditRecord, AuditReport

__all__ = ["AuditRecord", "AuditReport", "AuditService", "os_actor"]


def os_actor(shell: str = "cli") -> str:
    """The audit actor of a local command: ``<shell>:<operating-system user>``."""
    try:
        return f"{shell}:{getpass.getuser()}"
    except Exception:  # no user name (containers)
        return f"{shell}:unknown"


class AuditService:
    """Reading and verifying one case's audit log."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    def verify(self, *, decisions: bool = True) -> AuditReport:
        """Recompute the chain in order and report every break (``report.ok``), then replay
        its decision entries against the ``assessment``/``assessment_opinion`` rows (the
        check ``verisight case check`` runs): a decision edited in the database directly,
        leaving the chain intact, is a problem too. ``decisions=False``: the chain only."""
        from verisight.services.backups import decisions_disagreeing_with_audit
        from verisight.store.integrity import decision_rows

        chain = self._log.verify()
        if not decisions:
            return chain
        rows = decisions_disagreeing_with_audit(decision_rows(self._log.engine))
        return AuditReport(chain.entries, chain.head, chain.problems + rows)

    def entries(
        self, *, media: str | None = None, limit: int | None = None
    ) -> Iterator[AuditRecord]:
        """Entries, newest first (all of them, or those about one media)."""
        return self._log.entries(media_sha256=media, limit=limit)

    def count(self) -> int:
        return self._log.count()
