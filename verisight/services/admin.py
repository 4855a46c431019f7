"""The administration pages' service: banks, scans and exports from the browser.

Every method takes the acting user, checks the role (``manage`` for banks and scans, ``export``
for exports, refusals audited) and calls the same code as the CLI: ``case.banking`` for bank
imports (the atomic, skip-invalid import of ``verisight bank import``), ``case.curation`` to
disable one entry, :meth:`verisight.case.Case.scan` for scans (run in a background thread on a
case of its own) and ``case.reports`` for the evidence package and VICS export. Each action
writes an audit entry under the user's name.

Scans start only under the roots the operator configured (``verisight serve --scan-root``):
the requested path is resolved (symlinks and ``..``) on the server, then checked against the
resolved roots. One scan runs at a time per case.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verisight.assessment.roles import Perm
from verisight.errors import Forbidden, UsageError, VerisightError
from verisight.store import Status
from verisight.store.content import DISABLED, ENABLED

if TYPE_CHECKING:
    from verisight.assessment import AssessmentService, UserRecord
    from verisight.banking import ImportResult
    from verisight.matching.entry import BankEntry
    from verisight.reports.evidence import EvidenceResult
    from verisight.scanning import ScanSummary
    from verisight.store.banks import BankView

__all__ = ["AdminService", "BankEntryRow", "ScanJob", "ScanState"]

#: Failed items listed per scan on the page.
FAILED_SHOWN = 200


@dataclass(frozen=True)
class BankEntryRow:
    id: int
    entry: BankEntry
    enabled: bool


@dataclass
class ScanJob:
    """The scan this app started (at most one at a time), as the progress endpoint shows it."""

    path: str
    actor: str
    started: float = field(default_factory=time.time)
    state: str = "running"  # running, finished, failed
    scan: int | None = None
    resumed: bool = False
    seen: int = 0
    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None

    def update(self, s: ScanSummary) -> None:
        self.scan, self.resumed = s.scan, s.resumed
        self.seen, self.analysed = s.seen, s.analysed
        self.failed, self.skipped = s.failed, s.skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "state": self.state, "scan": self.scan, "resumed": self.resumed,
            "seen": self.seen, "analysed": self.analysed, "failed": self.failed,
            "skipped": self.skipped, "error": self.error,
            "elapsed": round(time.time() - self.started, 1),
        }  # fmt: skip


@dataclass(frozen=True)
class ScanState:
    """What the scans page shows: the roots, the current job, recent scans, failed items."""

    roots: list[Path]
    job: ScanJob | None
    scans: list[Any]
    failed: list[Any]


class AdminService:
    """Administration over the web app's :class:`AssessmentService` (its case and its checks)."""

    def __init__(
        self,
        assessment: AssessmentService,
        scan_roots: Sequence[Path] = (),
        *,
        scan_workers: int | None = None,
    ) -> None:
        self.assessment = assessment
        self.case = assessment.case
        self.scan_roots = [Path(r).resolve() for r in scan_roots]
        self.scan_workers = scan_workers
        self._lock = threading.Lock()
        self._job: ScanJob | None = None
        self._thread: threading.Thread | None = None

    def _audit(self, user: UserRecord, action: str, detail: dict[str, Any]) -> None:
        self.assessment.audit.append(user.name, action, detail=detail)

    # -- banks ---------------------------------------------------------------------------

    def banks(self, user: UserRecord) -> list[BankView]:
        self.assessment.require(user, Perm.MANAGE)
        return self.case.banking.banks()

    def bank_entries(self, user: UserRecord, name: str, limit: int = 200) -> list[BankEntryRow]:
        """A bank's first entries with their ids and whether each is enabled."""
        self.assessment.require(user, Perm.MANAGE)
        disabled = self.case.curation.content.disabled()
        return [
            BankEntryRow(i, e, disabled.get(i, ENABLED) == ENABLED)
            for i, e in self.case.banking.entry_page(name, limit)
        ]

    def import_bank(
        self,
        user: UserRecord,
        upload: Path,
        name: str,
        *,
        format: str = "auto",
        label: str | None = None,
        kind: str = "match",
        pdq_threshold: int | None = None,
        skip_invalid: bool = False,
    ) -> ImportResult:
        """``verisight bank import`` on an uploaded file: one transaction, refused whole on an
        invalid row unless ``skip_invalid``; audited as ``bank-import``."""
        self.assessment.require(user, Perm.MANAGE)
        res = self.case.banking.import_file(
            upload, name, format=format, label=label or None, kind=kind,
            pdq_threshold=pdq_threshold, skip_invalid=skip_invalid,
        )  # fmt: skip
        self._audit(user, "bank-import", {
            "bank": name, "file": upload.name, "format": res.format, "read": res.read,
            "added": res.added, "skipped": len(res.skipped),
            "already_imported": res.already_imported,
        })  # fmt: skip
        return res

    def configure_bank(
        self, user: UserRecord, name: str, *, kind: str, pdq_threshold: int | None
    ) -> BankView:
        """Set a bank's kind (match or negative) and PDQ threshold; audited as ``bank-settings``."""
        self.assessment.require(user, Perm.MANAGE)
        bank = self.case.banking.configure(name, kind=kind, pdq_threshold=pdq_threshold)
        self._audit(user, "bank-settings",
                    {"bank": name, "kind": kind, "pdq_threshold": bank.pdq_threshold})  # fmt: skip
        return bank

    def set_entry_enabled(self, user: UserRecord, name: str, entry_id: int, enabled: bool) -> None:
        """Disable or enable one entry (the platform API's ``disable_until_ts``); audited."""
        self.assessment.require(user, Perm.MANAGE)
        self.case.curation.update_content(
            user.name, name, entry_id, disable_until_ts=ENABLED if enabled else DISABLED
        )

    def export_bank(self, user: UserRecord, name: str, format: str) -> str:
        """A bank written out as ``verisight bank export`` writes it (CSV formula-safe)."""
        self.assessment.require(user, Perm.MANAGE)
        buf = io.StringIO(newline="")
        n = self.case.banking.export(name, buf, format)
        self._audit(user, "bank-export", {"bank": name, "format": format, "entries": n})
        return buf.getvalue()

    # -- scans ---------------------------------------------------------------------------

    def allowed_path(self, path: str) -> Path:
        """``path`` resolved (symlinks, ``..``), if it lies under a configured root."""
        if not self.scan_roots:
            raise Forbidden("scanning from the browser is off (verisight serve --scan-root DIR)")
        if not path.strip():
            raise UsageError("give a path to scan")
        try:
            real = Path(path).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise UsageError(f"no such file or folder: {path}") from None
        if not any(real == root or real.is_relative_to(root) for root in self.scan_roots):
            raise Forbidden(f"{path} is not under a configured scan root")
        return real

    def scan_state(self, user: UserRecord) -> ScanState:
        self.assessment.require(user, Perm.MANAGE)
        scans = list(reversed(self.case.store.scans()[-10:]))
        failed: list[Any] = []
        if scans:
            latest = scans[0].id
            for s in self.case.sightings(Status.FAILED):
                if s.scan_id == latest:
                    failed.append(s)
                    if len(failed) >= FAILED_SHOWN:
                        break
        return ScanState(self.scan_roots, self._job, scans, failed)

    def job(self, user: UserRecord) -> ScanJob | None:
        self.assessment.require(user, Perm.MANAGE)
        return self._job

    def start_scan(self, user: UserRecord, path: str) -> ScanJob:
        """Start ``Case.scan`` of ``path`` in the background (resuming an interrupted scan of
        the same path, as the CLI does); refused while another runs. Audited as
        ``scan-start``."""
        self.assessment.require(user, Perm.MANAGE)
        real = self.allowed_path(path)
        with self._lock:
            if self._job is not None and self._job.state == "running":
                raise UsageError("a scan is already running in this case; wait for it to finish")
            job = ScanJob(str(real), user.name)
            self._job = job
            self._audit(user, "scan-start", {"path": str(real)})
            self._thread = threading.Thread(
                target=self._run, args=(job, real), name="verisight-scan", daemon=True
            )
            self._thread.start()
        return job

    def resume_scan(self, user: UserRecord, scan_id: int) -> ScanJob:
        """Scan an unfinished scan's roots again: the scan resumes where it stopped."""
        self.assessment.require(user, Perm.MANAGE)
        found = [s for s in self.case.store.scans() if s.id == scan_id]
        if not found or found[0].finished_at is not None:
            raise UsageError(f"no interrupted scan #{scan_id}")
        if len(found[0].roots) != 1:
            raise UsageError("only a scan of one path can be resumed from the browser")
        return self.start_scan(user, found[0].roots[0])

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background scan (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, job: ScanJob, path: Path) -> None:
        from verisight.case import Case

        try:
            with Case(self.case.directory, self.case.database_url) as c:
                summary = c.scan([path], workers=self.scan_workers, on_progress=job.update)
            job.update(summary)
            job.state = "finished"
        except VerisightError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # a bug: shown on the page, logged by the thread's caller
            job.error, job.state = f"internal error: {type(exc).__name__}", "failed"
            raise

    # -- exports -------------------------------------------------------------------------

    def export_vics(
        self, user: UserRecord, *, vics_model: str = "Default", include_pending: bool = False
    ) -> str:
        """``verisight export hashes --format vics``: audited as ``export-hashes``."""
        self.assessment.require(user, Perm.EXPORT)
        if vics_model not in ("Default", "UK", "US"):
            raise UsageError("the VICS data model is Default, UK or US")
        buf = io.StringIO(newline="")
        self.case.reports.export_hashes(
            buf, "vics", actor=user.name, include_pending=include_pending, vics_model=vics_model
        )
        return buf.getvalue()

    def export_evidence(
        self,
        user: UserRecord,
        *,
        media: Sequence[str] = (),
        outcomes: Sequence[str] = (),
        include_originals: bool = False,
    ) -> tuple[bytes, EvidenceResult]:
        """``verisight export evidence``, written to a temporary zip and returned as bytes;
        audited as ``export-evidence``."""
        self.assessment.require(user, Perm.EXPORT)
        if not media and not outcomes:
            raise UsageError("give media SHA-256s or an outcome")
        with tempfile.TemporaryDirectory(prefix="verisight-evidence-") as tmp:
            out = Path(tmp) / "evidence.zip"
            res = self.case.reports.export_evidence(
                out, actor=user.name, media=media, outcomes=outcomes,
                include_originals=include_originals,
            )  # fmt: skip
            return out.read_bytes(), res
