"""The report service: period reports, hash-list exports, evidence packages and draft
CyberTipline reports, each audited by the service itself (the caller names the ``actor``).

The rules and renderers are :mod:`verisight.reports`; the SQL is
:mod:`verisight.store.reporting`. Nothing here shows an image or contacts any service. A file
is written before its audit entry (a file system is not transactional): an export that fails
half-way is not recorded, and one that is recorded was written whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from verisight.matching import WriteResult
from verisight.reports import Report, build_report, period_spec
from verisight.reports.cybertip import CybertipResult, write_cybertip
from verisight.reports.evidence import EvidenceResult, write_evidence
from verisight.reports.hashes import SETTLED, check_filters, export_hashes
from verisight.store.audit import AuditLog
from verisight.store.reporting import BY, ReportingStore

__all__ = ["BY", "CybertipResult", "EvidenceResult", "ReportService", "WriteResult"]


class ReportService:
    """Reports and exports of one case (``case.reports``)."""

    #: What a report may break its counts down by ("source", "site", "month").
    BY = BY

    def __init__(
        self, store: ReportingStore, audit: AuditLog, resolve: Callable[[str], str]
    ) -> None:
        self._store = store
        self._audit = audit
        self._resolve = resolve

    def resolve(self, media: Sequence[str]) -> list[str]:
        """Full SHA-256s of media given as hashes or prefixes (raises MediaNotFound)."""
        return sorted({self._resolve(m) for m in media})

    def report(
        self,
        *,
        actor: str,
        format: str,
        date_from: str | None = None,
        date_to: str | None = None,
        compare_from: str | None = None,
        compare_to: str | None = None,
        by: Sequence[str] = ("site", "month"),
    ) -> Report:
        """Counts for a period (and a comparison period); audited as ``report`` with the
        ``format`` it is to be rendered in."""
        main = period_spec(date_from, date_to)
        cmp = period_spec(compare_from, compare_to) if (compare_from or compare_to) else None
        rep = build_report(self._store, main, cmp, tuple(by))
        self._audit.append(actor, "report", detail={
            "format": format, "from": date_from, "to": date_to,
            "compare_from": compare_from, "compare_to": compare_to,
        })  # fmt: skip
        return rep

    def export_hashes(
        self,
        out: TextIO,
        format: str,
        *,
        actor: str,
        outcomes: Sequence[str] = (),
        categories: Sequence[str] = (),
        include_pending: bool = False,
        vics_model: str = "Default",
    ) -> WriteResult:
        """Assessed media as a hash list written to ``out`` (settled decisions only, unless
        ``include_pending``); audited as ``export-hashes``."""
        check_filters(outcomes, categories)
        rows = self._store.iter_assessed(
            outcomes=outcomes, categories=categories,
            statuses=() if include_pending else SETTLED,
        )  # fmt: skip
        res = export_hashes(rows, out, format, vics_model=vics_model)
        self._audit.append(actor, "export-hashes", detail={
            "format": format, "written": res.written, "left_out": res.left_out,
            "outcome": list(outcomes), "category": list(categories),
        })  # fmt: skip
        return res

    def export_evidence(
        self,
        output: Path,
        *,
        actor: str,
        media: Sequence[str] = (),
        outcomes: Sequence[str] = (),
        include_originals: bool = False,
    ) -> EvidenceResult:
        """An evidence package (zip) of the given media and those assessed with the given
        outcomes; audited as ``export-evidence`` with the SHA-256 of its ``SHA256SUMS``."""
        check_filters(outcomes, ())
        shas = set(self.resolve(media))
        if outcomes:
            shas |= {r.sha256 for r in self._store.iter_assessed(outcomes=outcomes)}
        res = write_evidence(self._store, self._audit, sorted(shas), output, actor=actor,
                             include_originals=include_originals)  # fmt: skip
        self._audit.append(actor, "export-evidence", detail={
            "file": str(output), "media": len(shas), "sha256sums": res.sums_sha256,
            "originals": res.originals_included,
        })  # fmt: skip
        return res

    def export_cybertip(self, output: Path, *, actor: str, media: Sequence[str]) -> CybertipResult:
        """A draft NCMEC CyberTipline report (XML) in ``output``; nothing is sent. Audited as
        ``export-cybertip``."""
        shas = self.resolve(media)
        res = write_cybertip([self._store.evidence(s) for s in shas], output)
        self._audit.append(actor, "export-cybertip", detail={
            "folder": str(output), "media": len(shas),
        })  # fmt: skip
        return res
