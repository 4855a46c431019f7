"""The case dashboard: the landing page of reviewers and admins (analysts see their own part).

What it gathers, each from the code that already owns it:

* the report's figures for a chosen period (:meth:`verisight.services.ReportService.report`,
  audited as ``report`` with format ``dashboard``): media, bank matches, provenance, the top
  generator models, outcomes;
* triage progress: decisions made and left, by tier (left as the queue counts them, a cluster
  once; made: media with a decision, their own or propagated);
* recent scans with their status and failures by reason;
* exposure per analyst per day (the last 7 days) and for the week, for welfare leads
  (reviewers and admins); an analyst sees only their own.

Who sees what is decided here (:func:`parts_for`), so the web route only renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from verisight.assessment import welfare as wf
from verisight.assessment.clusters import triage_ranks
from verisight.assessment.roles import Perm, can
from verisight.errors import Forbidden
from verisight.reports.statistics import Report
from verisight.store.users import UserRecord

if TYPE_CHECKING:
    from verisight.assessment.service import AssessmentService

#: Days of exposure shown per analyst.
EXPOSURE_DAYS = 7
#: Scans listed, newest first.
RECENT_SCANS = 10


@dataclass(frozen=True)
class Parts:
    """What the user may see."""

    figures: bool
    scans: bool
    #: "all" (welfare leads), "own" (analysts) or None.
    exposure: str | None


def parts_for(role: str) -> Parts:
    lead = can(role, Perm.RESOLVE) or can(role, Perm.MANAGE)
    if lead:
        return Parts(figures=True, scans=True, exposure="all")
    if can(role, Perm.ASSESS):
        return Parts(figures=False, scans=False, exposure="own")
    return Parts(figures=can(role, Perm.EXPORT), scans=False, exposure=None)


@dataclass(frozen=True)
class TierProgress:
    tier: str
    made: int
    left: int


@dataclass(frozen=True)
class ScanRow:
    id: int
    roots: list[str]
    started_at: datetime
    status: str
    seen: int | None
    failed: int | None
    errors_by_reason: dict[str, int]
    clustered: int | None


@dataclass(frozen=True)
class ExposureRow:
    analyst: str
    #: (day, items revealed, minutes revealed), oldest first.
    days: list[tuple[date, int, float]]
    week_items: int
    week_minutes: float


@dataclass(frozen=True)
class DashboardView:
    parts: Parts
    date_from: str | None
    date_to: str | None
    progress: list[TierProgress]
    report: Report | None = None
    scans: list[ScanRow] = field(default_factory=list)
    exposure: list[ExposureRow] = field(default_factory=list)

    @property
    def made(self) -> int:
        return sum(p.made for p in self.progress)

    @property
    def left(self) -> int:
        return sum(p.left for p in self.progress)

    def figure(self, name: str) -> Any:
        return self.report.main.figures[name].value if self.report else None


def build(
    service: AssessmentService,
    user: UserRecord,
    date_from: str | None = None,
    date_to: str | None = None,
) -> DashboardView:
    parts = parts_for(user.role)
    if not (parts.figures or parts.exposure):
        raise Forbidden(f"the role {user.role!r} has no dashboard")
    report = (
        service.case.reports.report(
            actor=user.name, format="dashboard", date_from=date_from, date_to=date_to
        )
        if parts.figures
        else None
    )
    return DashboardView(
        parts, date_from, date_to, triage_progress(service), report,
        _scans(service) if parts.scans else [],
        _exposure(service, user, parts.exposure) if parts.exposure else [],
    )  # fmt: skip


def triage_progress(service: AssessmentService) -> list[TierProgress]:
    """Decisions made (per media) and left (per decision: a cluster counts once) by tier,
    counted by the database over the whole case."""
    policy = service.triage_policy()
    order, ranks = policy.order, triage_ranks(policy)
    left = service.queued.rank_counts(ranks)
    made = service.queued.rank_counts(ranks, decided=True)
    return [TierProgress(t.value, made.get(i, 0), left.get(i, 0)) for i, t in enumerate(order)]


def _scans(service: AssessmentService) -> list[ScanRow]:
    rows = []
    for s in reversed(service.case.store.scans()[-RECENT_SCANS:]):
        summary = s.summary or {}
        clustering = summary.get("clustering") or {}
        rows.append(
            ScanRow(
                s.id,
                s.roots,
                s.started_at,
                s.status,
                summary.get("seen"),
                summary.get("failed"),
                dict(summary.get("errors_by_reason") or {}),
                clustering.get("new_media"),
            )
        )
    return rows


def _exposure(service: AssessmentService, user: UserRecord, which: str) -> list[ExposureRow]:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=EXPOSURE_DAYS - 1)
    people = (
        [u for u in service.users.all() if can(u.role, Perm.VIEW_MEDIA)]
        if which == "all"
        else [user]
    )
    out = []
    for person in sorted(people, key=lambda u: u.name):
        reveals = [
            (r.media_sha256, r.revealed_at, r.concealed_at)
            for r in service.users.exposures(person.id, first)
        ]
        days = []
        for i in range(EXPOSURE_DAYS):
            start = first + timedelta(days=i)
            end = min(start + timedelta(days=1), now)
            one = wf.summarise(start, end, [r for r in reveals if start <= r[1] < end])
            days.append((start.date(), one.items_revealed, round(one.seconds_revealed / 60, 1)))
        week = wf.summarise(first, now, reveals)
        out.append(
            ExposureRow(
                person.name, days, week.items_revealed, round(week.seconds_revealed / 60, 1)
            )
        )
    return out
