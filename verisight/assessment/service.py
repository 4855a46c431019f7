"""The assessment service: the one place the CLI and the web app get their rules from.

Built from a :class:`verisight.case.Case`. Every method takes the acting user, checks the user's
role (:mod:`verisight.assessment.roles`) and writes an audit entry for each view, reveal,
assessment, review and export. The web layer only translates HTTP to these calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from argon2 import PasswordHasher
from PIL import Image

from verisight.assessment import derivatives, review
from verisight.assessment import video as vid
from verisight.assessment.accounts import Accounts, RateLimiter
from verisight.assessment.clusters import (
    PROPAGATED,
    ClusterDecisions,
    PropagationResult,
    triage_ranks,
)
from verisight.assessment.mappings import map_decision, prefill_from_bank
from verisight.assessment.roles import Perm, can
from verisight.assessment.sso import SingleSignOn
from verisight.assessment.taxonomy import CRIMINAL, DEFAULTS
from verisight.clustering.propagation import PropagationPlan
from verisight.clustering.triage import TriagePolicy
from verisight.errors import Forbidden, MediaNotFound, UsageError
from verisight.store import MediaView
from verisight.store.assessments import (
    AssessmentRecord,
    Assessments,
    BankMatch,
    Decision,
    StaleVersion,
)
from verisight.store.audit import AuditFilter, AuditLog, AuditRecord, AuditReport
from verisight.store.clusters import ClusterStore, ClusterView
from verisight.store.identities import Identities
from verisight.store.queue import QueueFilters, QueueStore
from verisight.store.users import UserRecord, Users
from verisight.vocab import Mode, Stage, Status

if TYPE_CHECKING:
    from verisight.apikeys import NewKey
    from verisight.assessment.dashboard import DashboardView, TierProgress
    from verisight.case import Case
    from verisight.reports import Report
    from verisight.store.apikeys import ApiKeyView

from verisight.assessment.views import (
    AdminView,
    History,
    InvalidDecision,
    ItemView,
    QueueEntry,
    QueueFilter,
    QueueView,
    parse_decision,
)

__all__ = [
    "AdminView",
    "AssessmentService",
    "AuditFilter",
    "Forbidden",
    "History",
    "InvalidDecision",
    "ItemView",
    "QueueEntry",
    "QueueFilter",
    "QueueView",
    "StaleVersion",
]


@dataclass(frozen=True)
class OpenedOriginal:
    """An original video opened for streaming; the caller closes ``file``."""

    file: BinaryIO
    stat: os.stat_result
    mime: str


#: A Play grant lasts at most this long (the video route refuses afterwards: play again).
PLAY_GRANT = timedelta(hours=4)


class AssessmentService:
    def __init__(
        self,
        case: Case,
        *,
        limiter: RateLimiter | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        engine = case.store.engine
        self.case = case
        self.transaction = case.transaction
        self.users = Users(engine)
        self.audit = AuditLog(engine)
        self.assessments = Assessments(engine)
        self.queued = QueueStore(engine)
        self.accounts = Accounts(self.users, self.audit, limiter, hasher, case.transaction)
        self.sso = SingleSignOn(self.users, Identities(engine), self.audit, case.transaction)
        self.clusters = ClusterDecisions(
            self.assessments, self.audit, ClusterStore(engine),
            lambda sha: case.thumbnail(sha) is not None, case.transaction,
        )  # fmt: skip

    # permissions and policy
    def require(self, user: UserRecord, perm: Perm) -> None:
        """Raise :class:`Forbidden` (and audit the refusal) unless the user's role allows it."""
        self.accounts.require(user, perm)

    def review_policy(self) -> review.ReviewPolicy:
        return review.ReviewPolicy.from_setting(self.users.org_setting("qa"))

    def set_review_policy(self, admin: UserRecord, sample_rate: float) -> None:
        self.require(admin, Perm.MANAGE)
        if not 0.0 <= sample_rate <= 1.0:
            raise UsageError("the second-review share is between 0 and 1")
        with self.transaction() as conn:
            self.users.bind(conn).set_org_setting("qa", {"sample_rate": sample_rate})
            self.audit.bind(conn).append(admin.name, "org-settings", detail={"qa": sample_rate})

    def triage_policy(self) -> TriagePolicy:
        """The queue's tier order: org setting ``triage`` ``{"order": [tier, ...]}``."""
        names = self.users.org_setting("triage").get("order")
        try:
            return TriagePolicy.from_names(names) if names else TriagePolicy()
        except (TypeError, ValueError):
            return TriagePolicy()

    # the form
    @staticmethod
    def parse_decision(form: Mapping[str, str]) -> Decision:
        """The decision a submitted form describes; raises :class:`InvalidDecision`."""
        return parse_decision(form)

    # queue
    def queue(self, user: UserRecord, filt: QueueFilter, limit: int | None = 50) -> QueueView:
        self.require(user, Perm.VIEW_MEDIA)
        if filt.provenance and filt.provenance not in review.PROVENANCE_VERDICTS:
            raise UsageError(f"provenance: one of {', '.join(review.PROVENANCE_VERDICTS)}")
        entries, total = self._decisions(filt, limit)
        pending = self.assessments.by_status((Status.AWAITING_REVIEW,))
        seconds = [a for a in pending if a.analyst != user.name]
        disputes = (
            self.assessments.by_status((Status.DISPUTED,)) if can(user.role, Perm.RESOLVE) else []
        )
        return QueueView(entries, total, seconds, disputes)

    def _decisions(self, filt: QueueFilter, limit: int | None) -> tuple[list[QueueEntry], int]:
        """A page of the decisions left, in the queue's order, and how many are left: by
        triage policy once the case has clusters, by review priority before (both ordered and
        counted by the database, over the whole case)."""
        filters = QueueFilters(filt.provenance, filt.bank, filt.source)
        if not self.clusters.is_clustered():
            rows, total = self.queued.page(
                review.priority_ranks(), filters, order="priority", limit=limit
            )
            return [
                QueueEntry(r.sha256, -r.rank, r.provenance, r.matched, r.bank_category,
                           r.first_seen)
                for r in rows
            ], total  # fmt: skip
        policy = self.triage_policy()
        rows, total = self.queued.page(
            triage_ranks(policy), filters, order="triage",
            largest_first=policy.largest_clusters_first, limit=limit,
        )  # fmt: skip
        return [
            QueueEntry(t.sha256, review.priority(t.candidate),
                       t.candidate.provenance, t.candidate.matched,
                       t.candidate.bank_category, t.candidate.first_seen, t.tier.value,
                       t.placement.size if t.placement else 1, None,
                       t.undecided, t.awaiting_apply, t.variants)
            for t in self.clusters.triage(rows, policy)
        ], total  # fmt: skip

    def next_item(
        self, user: UserRecord, filt: QueueFilter, after: str | None = None
    ) -> str | None:
        view = self.queue(user, filt, limit=2)
        for e in view.to_assess:
            if e.sha256 != after:
                return e.sha256
        for a in view.second_reviews + view.disputes:
            if a.media_sha256 != after:
                return a.media_sha256
        return None

    # one media
    def _media(self, sha256: str) -> MediaView:
        if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
            raise MediaNotFound(f"no media {sha256[:80]!r}")
        return self.case.media_show(sha256)

    def _bank_category(self, matches: list[BankMatch]) -> tuple[int | None, str | None]:
        for m in matches:
            if m.category is not None:
                return m.category, m.label
        return None, None

    def _mode(self, user: UserRecord, a: AssessmentRecord | None) -> Mode:
        if a is None:
            return Mode.ASSESS if can(user.role, Perm.ASSESS) else Mode.READ
        if a.status == Status.AWAITING_REVIEW and a.analyst != user.name:
            return Mode.SECOND_OPINION if can(user.role, Perm.SECOND_OPINION) else Mode.READ
        if a.status == Status.DISPUTED:
            if can(user.role, Perm.RESOLVE) and not self._gave_opinion(user, a.media_sha256):
                return Mode.RESOLVE
            return Mode.READ
        if a.status == Status.RESOLVED and not can(user.role, Perm.RESOLVE):
            return Mode.READ
        return Mode.EDIT if can(user.role, Perm.ASSESS) else Mode.READ

    def _gave_opinion(self, user: UserRecord, sha256: str) -> bool:
        """Whether the user gave one of the media's opinions (first, edit or second): such a
        user may not resolve its dispute, which would be judging her own call."""
        return any(o.user == user.name for o in self.assessments.opinions(sha256))

    def visible_current(
        self, user: UserRecord, current: AssessmentRecord | None
    ) -> AssessmentRecord | None:
        """What a user whose save lost a race may see of the decision that won: nothing
        while she would give it a blind second opinion (the 409 page must not unblind her)."""
        if current is not None and self._mode(user, current) == Mode.SECOND_OPINION:
            return None
        return current

    def item(
        self, user: UserRecord, sha256: str, filt: QueueFilter | None = None, *, via: str = "item"
    ) -> ItemView:
        """Everything shown on the item page (``via="grid"``: a grid cell, without the next
        item); audited as a view; closes the user's open reveals (navigation reverts them)."""
        self.require(user, Perm.VIEW_MEDIA)
        media = self._media(sha256)
        matches = self.assessments.bank_matches(sha256)
        bank_cat, bank_label = self._bank_category(matches)
        a = self.assessments.get(sha256)
        mode = self._mode(user, a)
        form: dict[str, str] = dict(DEFAULTS)
        from_bank = False
        if a is not None and mode != Mode.SECOND_OPINION:
            form |= {k: v for k, v in asdict(a.decision).items() if v is not None}
        elif a is None:
            bank = prefill_from_bank(bank_cat, bank_label)
            from_bank = bool(bank)
            form |= bank
        with self.transaction() as conn:
            self.users.bind(conn).conceal_all(user.id, datetime.now(UTC))
            self.audit.bind(conn).append(user.name, "view", sha256, {"mode": mode, "via": via})
        return ItemView(
            media=media,
            provenance=self.assessments.provenance(sha256),
            matches=matches,
            bank_category=bank_cat,
            assessment=a,
            opinions=[] if mode == Mode.SECOND_OPINION else self.assessments.opinions(sha256),
            form=form,
            prefilled_from_bank=from_bank,
            mode=mode,
            mapped=map_decision(a.decision) if a else None,
            has_image=self._preview(media) is not None,
            next_sha=(
                self.next_item(user, filt or QueueFilter(), after=sha256) if via == "item" else None
            ),
            cluster=self.clusters.context(sha256) if via == "item" else None,
            video=self._video_facts(media) if via == "item" else None,
        )

    def _video_facts(self, media: MediaView) -> vid.VideoFacts | None:
        return vid.video_facts(media, self.case.contact_sheet(media.sha256) is not None)

    # images and reveals
    def _preview(self, media: MediaView) -> Path | None:
        """What the item shows: a video's contact sheet, else the thumbnail."""
        if media.video is not None:
            sheet = self.case.contact_sheet(media.sha256)
            if sheet is not None:
                return sheet
        return self.case.thumbnail(media.sha256)

    def _thumb(self, sha256: str) -> Path:
        path = self._preview(self._media(sha256))
        if path is None:
            raise MediaNotFound(f"no image for media {sha256}")
        return path

    def image(self, user: UserRecord, sha256: str, *, revealed: bool = False) -> bytes:
        """The shielded derivative, or the revealed one while a reveal is open."""
        self.require(user, Perm.VIEW_MEDIA)
        path = self._thumb(sha256)
        settings = self.accounts.welfare(user)
        if not revealed:
            return derivatives.shielded(path, settings)
        if not self.users.open_reveal(user.id, sha256):
            raise Forbidden("reveal the item first (an audited request)")
        return derivatives.revealed(path, settings)

    def frame(self, user: UserRecord, sha256: str, index: int, *, revealed: bool = False) -> bytes:
        """Tile ``index`` of a video's contact sheet, shielded, or clear while revealed."""
        self.require(user, Perm.VIEW_MEDIA)
        media = self._media(sha256)
        sheet = self.case.contact_sheet(sha256)
        if media.video is None or sheet is None:
            raise MediaNotFound(f"no contact sheet for media {sha256}")
        count = len(vid.sheet_frame_indices(len(media.video.frames)))
        settings = self.accounts.welfare(user)
        if revealed and not self.users.open_reveal(user.id, sha256):
            raise Forbidden("reveal the item first (an audited request)")
        with Image.open(sheet) as im:
            try:
                tile = vid.crop_tile(im.convert("RGB"), index, count)
            except IndexError:
                raise MediaNotFound(f"no frame {index} on the contact sheet") from None
        if revealed:
            return derivatives.reveal_image(tile, settings)
        return derivatives.shield_image(tile, settings)

    def play(self, user: UserRecord, sha256: str) -> None:
        """Open playback of a video (audited as ``play``; counts as exposure like a reveal).

        The original must be a plain file whose content is still this media (SHA-256
        checked); the video route serves it only while this play is open."""
        self.require(user, Perm.VIEW_MEDIA)
        media = self._media(sha256)
        path, why = vid.playable_original(media)
        if path is None:
            raise Forbidden(f"playback unavailable: {why}")
        identity = vid.verify_original(path, sha256)
        if identity is None:
            raise Forbidden("playback unavailable: the original file has changed")
        now = datetime.now(UTC)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            if not users.open_reveal(user.id, sha256):
                users.record_reveal(user.id, sha256, now)
            self.audit.bind(conn).append(
                user.name, "play", sha256, {"path": str(path), "file": identity.as_list()}
            )

    def video_file(self, user: UserRecord, sha256: str) -> OpenedOriginal:
        """The original video, opened, to stream while a play is open: the very file whose
        SHA-256 Play checked (see :mod:`verisight.assessment.video`), else Forbidden."""
        self.require(user, Perm.VIEW_MEDIA)
        media = self._media(sha256)
        entry = self._play_entry(user, sha256)
        if entry is None:
            raise Forbidden("press Play first (an audited request)")
        identity = vid.FileIdentity.from_detail(entry.detail.get("file"))
        opened = (
            vid.open_verified(Path(str(entry.detail.get("path"))), identity) if identity else None
        )
        if opened is None:
            raise Forbidden("the original file changed since Play: press Play again")
        return OpenedOriginal(opened[0], opened[1], media.mime)

    def _play_entry(self, user: UserRecord, sha256: str) -> AuditRecord | None:
        """The ``play`` by this user that opened or joined an open reveal of the media."""
        now = datetime.now(UTC)
        opened = [
            r.revealed_at
            for r in self.users.exposures(user.id, now - PLAY_GRANT)
            if r.media_sha256 == sha256 and r.concealed_at is None
        ]
        if not opened:
            return None
        since = min(opened)
        for e in self.audit.entries(media_sha256=sha256, limit=500):
            if e.at < since:
                break
            if e.actor == user.name and e.action == "play":
                return e
        return None

    def reveal(self, user: UserRecord, sha256: str) -> None:
        self.require(user, Perm.VIEW_MEDIA)
        self._thumb(sha256)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            if not users.open_reveal(user.id, sha256):
                users.record_reveal(user.id, sha256, datetime.now(UTC))
                self.audit.bind(conn).append(user.name, "reveal", sha256)

    def conceal(self, user: UserRecord, sha256: str) -> None:
        self.require(user, Perm.VIEW_MEDIA)
        with self.transaction() as conn:
            if self.users.bind(conn).record_conceal(user.id, sha256, datetime.now(UTC)):
                self.audit.bind(conn).append(user.name, "conceal", sha256)

    # decisions
    def submit(
        self, user: UserRecord, sha256: str, decision: Decision, expected_version: int
    ) -> AssessmentRecord:
        """Assess, edit, give a second opinion or resolve, depending on the media's state.

        Raises :class:`StaleVersion` when ``expected_version`` is not the stored version.
        """
        self._media(sha256)
        a = self.assessments.get(sha256)
        stored = a.version if a is not None else 0
        if stored != expected_version:
            raise StaleVersion(a)
        mode = self._mode(user, a)
        if mode == Mode.READ:
            self.require(user, Perm.ASSESS)
            raise Forbidden(f"the {user.role} role may not change this decision")
        bank_cat, _ = self._bank_category(self.assessments.bank_matches(sha256))
        current: Decision | None = None
        analyst_id: int | None = None
        reason: str | None = None
        if mode in (Mode.ASSESS, Mode.EDIT):
            self.require(user, Perm.ASSESS)
            reason = review.review_reason(sha256, decision, bank_cat, self.review_policy())
            status = Status.AWAITING_REVIEW if reason else Status.FINAL
            stage = Stage.FIRST if a is None else Stage.EDIT
            analyst_id = user.id
        elif mode == Mode.SECOND_OPINION:
            assert a is not None
            self.require(user, Perm.SECOND_OPINION)
            reason = a.review_reason
            status = Status.FINAL if review.agrees(a.decision, decision) else Status.DISPUTED
            stage, current = Stage.SECOND, a.decision
        else:
            assert a is not None
            self.require(user, Perm.RESOLVE)
            if self._gave_opinion(user, sha256):  # _mode says READ; kept as a second guard
                raise Forbidden("a dispute is resolved by someone who gave neither opinion")
            reason, status, stage = a.review_reason, Status.RESOLVED, Stage.RESOLUTION
        replaces = stage == Stage.EDIT and (
            self.assessments.latest_stages([sha256]).get(sha256) == PROPAGATED
        )
        detail = asdict(decision) | {"stage": stage, "status": status, "reason": reason}
        if replaces:
            detail["replaces"] = PROPAGATED  # an override of a propagated decision
        with self.transaction() as conn:  # the decision and its audit entry, or neither
            self.assessments.bind(conn).save(
                sha256,
                decision,
                user_id=user.id,
                stage=stage,
                expected_version=expected_version,
                status=status,
                review_reason=reason,
                bank_category=bank_cat,
                analyst_id=analyst_id,
                current=current,
            )
            self.audit.bind(conn).append(
                user.name, "assess" if stage in (Stage.FIRST, Stage.EDIT) else "review", sha256,
                detail | {"version": expected_version + 1},
            )  # fmt: skip
        saved = self.assessments.get(sha256)
        assert saved is not None
        return saved

    # near-duplicate clusters
    def propagation_preview(
        self, user: UserRecord, sha256: str, selected: set[str]
    ) -> tuple[ClusterView, PropagationPlan, AssessmentRecord]:
        """What applying ``sha256``'s decision to the selected members would do, and that
        decision (changes nothing; the confirmation page shows it)."""
        self.require(user, Perm.ASSESS)
        self._media(sha256)
        cluster, plan = self.clusters.plan(user.name, sha256, selected, confirmed=True)
        a = self.assessments.get(sha256)
        assert a is not None  # the plan requires a settled decision
        return cluster, plan, a

    def propagate(
        self, user: UserRecord, sha256: str, selected: set[str], *, confirmed: bool
    ) -> PropagationResult:
        """Apply the representative ``sha256``'s settled decision to the selected members of
        its near-duplicate cluster that have none of their own; one audit entry per member.
        Needs ``confirmed`` (the analyst's explicit confirmation)."""
        self.require(user, Perm.ASSESS)
        self._media(sha256)
        if not confirmed:
            self.clusters.plan(user.name, sha256, selected, confirmed=False)  # raises
        return self.clusters.apply(user, sha256, selected)

    def set_representative(self, user: UserRecord, sha256: str) -> ClusterView:
        """Make ``sha256`` the representative of its near-duplicate cluster (reviewers), with
        an audit entry ``representative`` in the same transaction. Refused, saying why, when
        a member would lie beyond the threshold of it or when members hold decisions
        propagated from the current representative (their source must not change)."""
        self.require(user, Perm.RESOLVE)
        self._media(sha256)
        c = self.clusters.clusters.near_duplicate_of(sha256)
        if c is None or len(c.members) < 2:
            raise UsageError("this media is in no cluster of several")
        if c.representative == sha256:
            raise UsageError("this media already represents its cluster")
        if c.basis is not None:
            raise UsageError("the representative of a video cluster cannot be changed")
        stages = self.assessments.latest_stages([m.sha256 for m in c.members])
        if any(stage == PROPAGATED for stage in stages.values()):
            raise UsageError(
                f"kept {c.representative[:12]}: members hold decisions propagated from it"
            )
        r = self.case.clusters.rebase(c.id, sha256)
        if r.refused is not None:
            raise UsageError(f"kept {c.representative[:12]}: {r.refused}")
        with self.transaction() as conn:
            self.case.clusters.set_representative(conn, c.id, r)
            self.audit.bind(conn).append(user.name, "representative", sha256, {
                "cluster": c.id, "from": c.representative, "to": sha256,
                "distances": {k[:12]: v for k, v in sorted(r.distances.items())},
            })  # fmt: skip
        return self.case.clusters.show(c.id)

    def dashboard(
        self, user: UserRecord, date_from: str | None = None, date_to: str | None = None
    ) -> DashboardView:
        """The case dashboard for this user's role (:mod:`verisight.assessment.dashboard`)."""
        from verisight.assessment import dashboard

        return dashboard.build(self, user, date_from, date_to)

    def triage_progress(self) -> list[TierProgress]:
        """Decisions made and left by tier (the dashboard's figures; counts only, no media)."""
        from verisight.assessment import dashboard

        return dashboard.triage_progress(self)

    def history(self, user: UserRecord, sha256: str) -> History:
        self.require(user, Perm.READ_HISTORY)
        self._media(sha256)
        a = self.assessments.get(sha256)
        if a is not None and self._mode(user, a) == Mode.SECOND_OPINION:
            raise Forbidden("a second opinion is given blind: the history opens after it")
        self.audit.append(user.name, "history", sha256)
        return History(
            self.assessments.get(sha256),
            self.assessments.opinions(sha256),
            list(self.audit.entries(media_sha256=sha256)),
        )

    def admin_view(self, admin: UserRecord) -> AdminView:
        """Users and organisation settings (needs the ``manage`` permission)."""
        self.require(admin, Perm.MANAGE)
        return AdminView(self.users.all(), self.accounts.org_welfare(), self.review_policy())

    def export(self, user: UserRecord) -> list[dict[str, Any]]:
        """Every assessment with its mappings to other schemes (audited).

        A user who could still be asked for a blind second opinion (the ``second-opinion``
        permission, i.e. analysts and reviewers) gets only what she may already see: settled
        decisions and disputes, and her own pending ones; decisions awaiting someone's second
        opinion are withheld (counted in the audit entry). Auditors and admins get them all."""
        self.require(user, Perm.EXPORT)
        blind = can(user.role, Perm.SECOND_OPINION)
        withheld = 0
        rows: list[dict[str, Any]] = []
        offset = 0
        while page := self.assessments.assessed_page(offset, 500):
            offset += len(page)
            for sha in page:
                a = self.assessments.get(sha)
                if a is None:
                    continue
                if blind and a.status == Status.AWAITING_REVIEW and a.analyst != user.name:
                    withheld += 1
                    continue
                m = map_decision(a.decision)
                rows.append(
                    {"media": sha, **asdict(a.decision), "status": a.status,
                     "analyst": a.analyst, "version": a.version,
                     "updated_at": a.updated_at.isoformat(),
                     "vics": m.vics, "ncmec": m.ncmec, "interpol_baseline": m.interpol_baseline}
                )  # fmt: skip
        self.audit.append(
            user.name, "export", detail={"assessments": len(rows), "withheld": withheld}
        )
        return rows

    def audit_log(
        self,
        user: UserRecord,
        limit: int = 200,
        *,
        filt: AuditFilter | None = None,
        offset: int = 0,
    ) -> list[AuditRecord]:
        """Audit entries, newest first, matching ``filt`` (admins and auditors, read-only)."""
        self.require(user, Perm.READ_AUDIT)
        return list(self.audit.search(filt, offset=offset, limit=limit))

    # the platform API's keys (``verisight apikey``), managed by admins
    def api_keys(self, admin: UserRecord) -> list[ApiKeyView]:
        self.require(admin, Perm.MANAGE)
        return self.case.api_keys.all()

    def create_api_key(self, admin: UserRecord, name: str, scopes: list[str]) -> NewKey:
        """A new key: its text is in the result only, never stored or shown again."""
        self.require(admin, Perm.MANAGE)
        return self.case.api_keys.create(name.strip(), scopes, actor=admin.name)

    def revoke_api_key(self, admin: UserRecord, name: str) -> ApiKeyView:
        self.require(admin, Perm.MANAGE)
        return self.case.api_keys.revoke(name, actor=admin.name)

    # period reports (``verisight report``)
    def report(
        self,
        user: UserRecord,
        format: str,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Report:
        """A period report (counts only, no media) for roles that may export; audited."""
        self.require(user, Perm.EXPORT)
        return self.case.reports.report(
            actor=user.name, format=format, date_from=date_from, date_to=date_to
        )

    def verify_audit(self) -> AuditReport:
        return self.audit.verify()


def is_criminal(outcome: str) -> bool:
    return outcome in CRIMINAL
