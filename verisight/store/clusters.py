"""Tables and SQL for clusters: near-duplicate clusters and generation series.

``cluster`` holds one row per cluster (``kind`` "near-duplicate" or "series") with its
representative; ``cluster_member`` one row per member, with the PDQ distance to the
representative for near-duplicates. A media is in at most one cluster of each kind (a
unique constraint on ``(kind, media_sha256)``). :class:`ClusterStore` implements
:class:`verisight.clustering.ClusterRepository` and returns dataclasses, never ORM rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from verisight.analysis.luma import layout_key
from verisight.clustering.series import GenerationInfo, Series
from verisight.errors import UsageError
from verisight.names import stored_locator
from verisight.store.db import insert_ignoring_conflicts
from verisight.store.schema import Base, Media, MediaLuma, Sighting, UTCDateTime
from verisight.store.video import VideoFrameRow

if TYPE_CHECKING:  # numpy-backed; imported where used so that opening a case stays light
    from verisight.clustering.near_duplicates import (
        Candidate,
        ClusterPlan,
        NearDuplicateCluster,
        Representative,
    )
    from verisight.clustering.videos import VideoCandidate, VideoRepresentative

NEAR_DUPLICATE = "near-duplicate"
SERIES = "series"
KINDS = (NEAR_DUPLICATE, SERIES)
_CHUNK = 2000


class Cluster(Base):
    """A near-duplicate cluster or a generation series."""

    __tablename__ = "cluster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "near-duplicate" | "series"
    kind: Mapped[str] = mapped_column(String(16), index=True)
    representative_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    #: The PDQ distance threshold it was built with (near-duplicates).
    threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: For a singleton kept apart: "low-quality" | "no-pdq"; null otherwise.
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: For a series: the links that made it, e.g. "prompt,seed".
    basis: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClusterMember(Base):
    """One media in one cluster (the representative is a member too, at distance 0)."""

    __tablename__ = "cluster_member"
    __table_args__ = (UniqueConstraint("kind", "media_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("cluster.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    #: PDQ distance to the representative (near-duplicates); null for series.
    distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: How it matched when not by whole-image PDQ: "crop" (the distance is then between
    #: the member and the window of the representative it shows); null otherwise.
    match: Mapped[str | None] = mapped_column(String(16), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


_CLUSTER: Table = Cluster.__table__  # type: ignore[assignment]
_MEMBER: Table = ClusterMember.__table__  # type: ignore[assignment]
_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_FRAME: Table = VideoFrameRow.__table__  # type: ignore[assignment]
_LUMA: Table = MediaLuma.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
#: A media of kind "video" with stored frames: clustered by vPDQ, apart from images.
_IS_VIDEO = (_MEDIA.c.kind == "video") & exists().where(_FRAME.c.media_sha256 == _MEDIA.c.sha256)


class ClusterNotFound(UsageError):
    """No cluster with that id in the case."""


@dataclass(frozen=True, slots=True)
class ClusterMemberView:
    sha256: str
    distance: int | None
    #: "crop" when it joined as a crop of (or containing) the representative.
    match: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterView:
    id: int
    kind: str
    representative: str
    #: The representative first, then by distance and SHA-256.
    members: tuple[ClusterMemberView, ...]
    threshold: int | None
    reason: str | None
    basis: str | None
    created_at: datetime

    def as_near_duplicate(self) -> NearDuplicateCluster:
        """The library's view, for :func:`verisight.clustering.plan_propagation`."""
        from verisight.clustering.near_duplicates import Member, NearDuplicateCluster

        return NearDuplicateCluster(
            self.representative,
            tuple(Member(m.sha256, m.distance or 0, m.match) for m in self.members),
            self.reason,
        )

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape (``verisight cluster list --json``): keys are only added."""
        return {
            "cluster": self.id,
            "kind": self.kind,
            "representative": self.representative,
            "members": [m.sha256 for m in self.members],
            "distances": [m.distance for m in self.members],
            "matches": [m.match for m in self.members],
            "threshold": self.threshold,
            "reason": self.reason,
            "basis": self.basis.split(",") if self.basis else None,
        }


class ClusterStore:
    """SQL for clusters over an engine (implements ``ClusterRepository``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -------------------------------------------------------------- reads for clustering

    def unclustered_media(self) -> list[Candidate]:
        from verisight.clustering.near_duplicates import Candidate

        clustered = select(_MEMBER.c.media_sha256).where(_MEMBER.c.kind == NEAR_DUPLICATE)
        cols = (
            _MEDIA.c.sha256,
            _MEDIA.c.pdq,
            _MEDIA.c.pdq_quality,
            _MEDIA.c.pdq_variants,
            _MEDIA.c.pdq_trimmed,
            _LUMA.c.key,
        )
        q = (
            select(*cols)
            .outerjoin(_LUMA, _LUMA.c.sha256 == _MEDIA.c.sha256)
            .where(_MEDIA.c.sha256.not_in(clustered), ~_IS_VIDEO)
        )
        with self.engine.connect() as conn:
            return [
                Candidate(s, p, q, tuple(v.split(",")) if v else (), t, k)
                for s, p, q, v, t, k in conn.execute(q)
            ]

    def luma_grids(self, shas: Sequence[str]) -> dict[str, bytes]:
        """The stored luma grids of ``shas`` (media without one are left out)."""
        out: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(shas), 500):
                chunk = list(shas[start : start + 500])
                q = select(_LUMA.c.sha256, _LUMA.c.grid).where(_LUMA.c.sha256.in_(chunk))
                out.update((str(s), bytes(g)) for s, g in conn.execute(q))
        return out

    def media_without_grids(self) -> dict[str, GridlessMedia]:
        """Image media with a PDQ hash but no stored luma grid (scanned before grids were
        kept), each with the places it was seen, in the order they were recorded."""
        cols = (
            _SIGHTING.c.chain,
            _SIGHTING.c.locator,
            _SIGHTING.c.locator_raw,
            _SIGHTING.c.depth,
            _SIGHTING.c.path,
        )
        q = (
            select(_MEDIA.c.sha256, _MEDIA.c.size, *cols)
            .outerjoin(_LUMA, _LUMA.c.sha256 == _MEDIA.c.sha256)
            .outerjoin(_SIGHTING, _SIGHTING.c.media_sha256 == _MEDIA.c.sha256)
            .where(_LUMA.c.sha256.is_(None), _MEDIA.c.pdq.is_not(None), ~_IS_VIDEO)
            .order_by(_MEDIA.c.sha256, _SIGHTING.c.id)
        )
        out: dict[str, GridlessMedia] = {}
        with self.engine.connect() as conn:
            for sha, size, chain, locator, raw, depth, path in conn.execute(q):
                m = out.setdefault(sha, GridlessMedia(sha, size, []))
                links = json.loads(chain) if chain else []
                if links:
                    loc = stored_locator(locator, raw)
                    m.places.append(SeenAt(str(links[0]), loc, int(depth), path))
        return out

    def store_grids(self, grids: Mapping[str, bytes]) -> None:
        """Store luma grids (with their layout keys) for media that have none."""

        rows = [{"sha256": s, "key": layout_key(g), "grid": g} for s, g in grids.items()]
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                insert_ignoring_conflicts(conn, _LUMA, rows[start : start + _CHUNK], "sha256")

    def unclustered_videos(self) -> list[VideoCandidate]:
        """Videos with stored frames in no near-duplicate cluster yet."""
        from verisight.clustering.videos import VideoCandidate

        clustered = select(_MEMBER.c.media_sha256).where(_MEMBER.c.kind == NEAR_DUPLICATE)
        shas = select(_MEDIA.c.sha256).where(_IS_VIDEO, _MEDIA.c.sha256.not_in(clustered))
        with self.engine.connect() as conn:
            frames = self._frames(conn, shas)
        return [VideoCandidate(s, f) for s, f in frames.items()]

    def video_representatives(self) -> list[VideoRepresentative]:
        """Representatives of the existing video clusters (basis "vpdq"), with frames."""
        from verisight.clustering.videos import VPDQ_BASIS, VideoRepresentative

        q = (
            select(_CLUSTER.c.id, _CLUSTER.c.representative_sha256)
            .where(
                _CLUSTER.c.kind == NEAR_DUPLICATE,
                _CLUSTER.c.reason.is_(None),
                _CLUSTER.c.basis == VPDQ_BASIS,
            )
            .order_by(_CLUSTER.c.id)
        )
        with self.engine.connect() as conn:
            reps = [(int(i), str(s)) for i, s in conn.execute(q)]
            frames = self._frames(conn, [s for _, s in reps])
        return [VideoRepresentative(i, s, frames.get(s, ())) for i, s in reps]

    def reopen_video_singletons(self) -> int:
        """Dissolve "no-pdq" singletons of videos that have frames (placed before video
        clustering existed) so that they are clustered by vPDQ; returns how many."""
        q = (
            select(_CLUSTER.c.id)
            .join(_MEDIA, _MEDIA.c.sha256 == _CLUSTER.c.representative_sha256)
            .where(_CLUSTER.c.kind == NEAR_DUPLICATE, _CLUSTER.c.reason == "no-pdq", _IS_VIDEO)
        )
        with self.engine.begin() as conn:
            ids = [int(i) for i in conn.execute(q).scalars()]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(delete(_MEMBER).where(_MEMBER.c.cluster_id.in_(chunk)))
                conn.execute(delete(_CLUSTER).where(_CLUSTER.c.id.in_(chunk)))
        return len(ids)

    @staticmethod
    def _frames(conn: Connection, shas: Any) -> dict[str, tuple[tuple[str, int], ...]]:
        """``(pdq, quality)`` of the stored frames of ``shas`` (a list or a subquery)."""
        out: dict[str, list[tuple[str, int]]] = {}
        chunks = (
            [shas[i : i + 500] for i in range(0, len(shas), 500)]
            if isinstance(shas, list)
            else [shas]
        )
        for chunk in chunks:
            q = (
                select(_FRAME.c.media_sha256, _FRAME.c.pdq, _FRAME.c.quality)
                .where(_FRAME.c.media_sha256.in_(chunk))
                .order_by(_FRAME.c.media_sha256, _FRAME.c.number)
            )
            for sha, pdq, quality in conn.execute(q):
                out.setdefault(sha, []).append((pdq, int(quality)))
        return {s: tuple(f) for s, f in out.items()}

    def representatives(self) -> list[Representative]:
        from verisight.clustering.near_duplicates import Representative

        q = (
            select(
                _CLUSTER.c.id,
                _CLUSTER.c.representative_sha256,
                _MEDIA.c.pdq,
                _MEDIA.c.pdq_trimmed,
                _LUMA.c.key,
            )
            .join(_MEDIA, _MEDIA.c.sha256 == _CLUSTER.c.representative_sha256)
            .outerjoin(_LUMA, _LUMA.c.sha256 == _MEDIA.c.sha256)
            .where(
                _CLUSTER.c.kind == NEAR_DUPLICATE,
                _CLUSTER.c.reason.is_(None),
                _MEDIA.c.pdq.is_not(None),
            )
            .order_by(_CLUSTER.c.id)
        )
        with self.engine.connect() as conn:
            return [Representative(i, s, p, t, k) for i, s, p, t, k in conn.execute(q)]

    def generation_info(self) -> list[GenerationInfo]:
        cols = (
            _MEDIA.c.sha256,
            _MEDIA.c.generator_model,
            _MEDIA.c.generator_seed,
            _MEDIA.c.generator_prompt,
        )
        q = select(*cols).where(
            (_MEDIA.c.generator_prompt.is_not(None))
            | (_MEDIA.c.generator_model.is_not(None) & _MEDIA.c.generator_seed.is_not(None))
        )
        with self.engine.connect() as conn:
            return [GenerationInfo(*row) for row in conn.execute(q)]

    def near_duplicate_of(self, sha256: str) -> ClusterView | None:
        """The near-duplicate cluster a media belongs to (None: not clustered yet)."""
        for c in self.clusters_of(sha256):
            if c.kind == NEAR_DUPLICATE:
                return c
        return None

    def count_clusters(self, kind: str) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).where(_CLUSTER.c.kind == kind)).scalar_one()
        return int(n)

    # -------------------------------------------------------------- writes

    def apply_plan(self, plan: ClusterPlan, threshold: int, basis: str | None = None) -> None:
        """Write joins and new near-duplicate clusters in one transaction (``basis``
        "vpdq" for clusters of videos, whose ``threshold`` is the frame distance)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            joins = [
                {
                    "cluster_id": j.cluster_id,
                    "kind": NEAR_DUPLICATE,
                    "media_sha256": j.sha256,
                    "distance": j.distance,
                    "match": j.match,
                    "added_at": now,
                }
                for j in plan.joins
            ]
            _insert_chunked(conn, _MEMBER, joins)
            rows = [
                {
                    "kind": NEAR_DUPLICATE,
                    "representative_sha256": c.representative,
                    "threshold": threshold,
                    "reason": c.reason,
                    "basis": basis,
                    "created_at": now,
                }
                for c in plan.new_clusters
            ]
            ids = _insert_returning_ids(conn, rows)
            members = [
                {
                    "cluster_id": cid,
                    "kind": NEAR_DUPLICATE,
                    "media_sha256": m.sha256,
                    "distance": m.distance,
                    "match": m.match,
                    "added_at": now,
                }
                for cid, c in zip(ids, plan.new_clusters, strict=True)
                for m in c.members
            ]
            _insert_chunked(conn, _MEMBER, members)

    def replace_series(self, series: Sequence[Series]) -> None:
        """Series are derived afresh from the generation metadata on each update."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(_MEMBER).where(_MEMBER.c.kind == SERIES))
            conn.execute(delete(_CLUSTER).where(_CLUSTER.c.kind == SERIES))
            rows = [
                {
                    "kind": SERIES,
                    "representative_sha256": s.representative,
                    "threshold": None,
                    "reason": None,
                    "basis": ",".join(s.basis),
                    "created_at": now,
                }
                for s in series
            ]
            ids = _insert_returning_ids(conn, rows)
            members = [
                {
                    "cluster_id": cid,
                    "kind": SERIES,
                    "media_sha256": sha,
                    "distance": None,
                    "added_at": now,
                }
                for cid, s in zip(ids, series, strict=True)
                for sha in s.members
            ]
            _insert_chunked(conn, _MEMBER, members)

    # -------------------------------------------------------------- reading clusters

    def iter_clusters(self, kind: str | None = None) -> Iterator[ClusterView]:
        """Every cluster, by id, with its members (streamed)."""
        cq = select(_CLUSTER).order_by(_CLUSTER.c.id)
        mq = select(
            _MEMBER.c.cluster_id, _MEMBER.c.media_sha256, _MEMBER.c.distance, _MEMBER.c.match
        ).order_by(_MEMBER.c.cluster_id)
        if kind is not None:
            cq = cq.where(_CLUSTER.c.kind == kind)
            mq = mq.where(_MEMBER.c.kind == kind)
        with self.engine.connect() as c1, self.engine.connect() as c2:
            members = iter(c2.execution_options(yield_per=5000).execute(mq))
            pending = next(members, None)
            for row in c1.execution_options(yield_per=2000).execute(cq):
                found: list[ClusterMemberView] = []
                while pending is not None and pending.cluster_id <= row.id:
                    if pending.cluster_id == row.id:
                        found.append(
                            ClusterMemberView(pending.media_sha256, pending.distance, pending.match)
                        )
                    pending = next(members, None)
                yield _view(row, found)

    def get_cluster(self, cluster_id: int) -> ClusterView:
        with self.engine.connect() as conn:
            row = conn.execute(select(_CLUSTER).where(_CLUSTER.c.id == cluster_id)).first()
            if row is None:
                raise ClusterNotFound(f"no cluster {cluster_id} in this case")
            found = [
                ClusterMemberView(s, d, m)
                for s, d, m in conn.execute(
                    select(_MEMBER.c.media_sha256, _MEMBER.c.distance, _MEMBER.c.match).where(
                        _MEMBER.c.cluster_id == cluster_id
                    )
                )
            ]
        return _view(row, found)

    def clusters_of(self, sha256: str) -> list[ClusterView]:
        """The clusters (at most one of each kind) a media belongs to."""
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(_MEMBER.c.cluster_id)
                .where(_MEMBER.c.media_sha256 == sha256)
                .order_by(_MEMBER.c.cluster_id)
            ).scalars()
            wanted = list(ids)
        return [self.get_cluster(i) for i in wanted]

    def placements(self, shas: Sequence[str]) -> dict[str, Placement]:
        """The near-duplicate cluster of each of ``shas`` that is clustered (for the queue)."""
        where: dict[str, tuple[int, str]] = {}
        sizes: dict[int, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(shas), 500):
                q = (
                    select(
                        _MEMBER.c.media_sha256,
                        _MEMBER.c.cluster_id,
                        _CLUSTER.c.representative_sha256,
                    )
                    .join(_CLUSTER, _CLUSTER.c.id == _MEMBER.c.cluster_id)
                    .where(
                        _MEMBER.c.kind == NEAR_DUPLICATE,
                        _MEMBER.c.media_sha256.in_(list(shas[start : start + 500])),
                    )
                )
                for sha, cid, rep in conn.execute(q):
                    where[sha] = (int(cid), rep)
            ids = sorted({cid for cid, _ in where.values()})
            for start in range(0, len(ids), 500):
                q2 = (
                    select(_MEMBER.c.cluster_id, func.count())
                    .where(_MEMBER.c.cluster_id.in_(ids[start : start + 500]))
                    .group_by(_MEMBER.c.cluster_id)
                )
                sizes.update((int(cid), int(n)) for cid, n in conn.execute(q2))
        return {sha: Placement(cid, rep, sizes.get(cid, 1)) for sha, (cid, rep) in where.items()}

    def last_cluster_id(self) -> int:
        """The highest cluster id (0 without clusters): clusters above it are newer."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(_CLUSTER.c.id))).scalar() or 0)

    def clusters_since(self, after_id: int) -> list[tuple[int, int]]:
        """(id, threshold) of the near-duplicate clusters of several members created after
        ``after_id``."""
        sizes = (
            select(_MEMBER.c.cluster_id)
            .group_by(_MEMBER.c.cluster_id)
            .having(func.count() > 1)
            .scalar_subquery()
        )
        q = select(_CLUSTER.c.id, _CLUSTER.c.threshold).where(
            _CLUSTER.c.id > after_id,
            _CLUSTER.c.kind == NEAR_DUPLICATE,
            _CLUSTER.c.basis.is_(None),
            _CLUSTER.c.id.in_(sizes),
        )
        with self.engine.connect() as conn:
            return [(int(i), int(t or 31)) for i, t in conn.execute(q)]

    def set_representative(
        self,
        conn: Connection,
        cluster_id: int,
        sha256: str,
        distances: Mapping[str, int],
        crops: Set[str] = frozenset(),
    ) -> None:
        """Make ``sha256`` the representative, with every member's distance to it (in the
        caller's transaction, so the change and its audit entry commit together)."""
        from verisight.clustering.crops import CROP

        conn.execute(
            update(_CLUSTER).where(_CLUSTER.c.id == cluster_id).values(representative_sha256=sha256)
        )
        for sha, d in distances.items():
            conn.execute(
                update(_MEMBER)
                .where(_MEMBER.c.cluster_id == cluster_id, _MEMBER.c.media_sha256 == sha)
                .values(distance=d, match=CROP if sha in crops else None)
            )

    def member_facts(self, cluster_ids: Sequence[int]) -> dict[int, list[MemberFacts]]:
        """What the queue shows of each cluster's members: format, size in pixels, PDQ
        quality, how each matched (one query per 500 clusters)."""
        out: dict[int, list[MemberFacts]] = {}
        ids = sorted(set(cluster_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                q = (
                    select(
                        _MEMBER.c.cluster_id,
                        _MEMBER.c.media_sha256,
                        _MEMBER.c.distance,
                        _MEMBER.c.match,
                        _MEDIA.c.format,
                        _MEDIA.c.width,
                        _MEDIA.c.height,
                        _MEDIA.c.pdq_quality,
                        _MEDIA.c.pdq.label("pdq_hash"),
                        _MEDIA.c.pdq_trimmed.label("trimmed"),
                        _MEDIA.c.pdq_variants.label("variants"),
                        _MEDIA.c.size.label("bytes"),
                    )
                    .join(_MEDIA, _MEDIA.c.sha256 == _MEMBER.c.media_sha256)
                    .where(_MEMBER.c.cluster_id.in_(ids[start : start + 500]))
                    .order_by(_MEMBER.c.cluster_id, _MEMBER.c.media_sha256)
                )
                for r in conn.execute(q):
                    out.setdefault(int(r.cluster_id), []).append(
                        MemberFacts(r.media_sha256, r.format, r.width, r.height,
                                    r.pdq_quality, r.distance, r.match, r.pdq_hash, r.trimmed,
                                    tuple(r.variants.split(",")) if r.variants else (),
                                    int(r.bytes or 0))
                    )  # fmt: skip
        return out


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """A cluster member as the queue and the choice of representative see it."""

    sha256: str
    format: str | None
    width: int | None
    height: int | None
    pdq_quality: int | None
    distance: int | None
    match: str | None
    pdq: str | None = None
    pdq_trimmed: str | None = None
    pdq_variants: tuple[str, ...] = ()
    size: int = 0


@dataclass(frozen=True, slots=True)
class SeenAt:
    """A place a media was seen: ``root`` is the scanned file (the container chain's first
    link), ``locator`` the item inside it, ``depth`` 0 for the file itself."""

    root: str
    locator: str
    depth: int
    path: str


@dataclass(frozen=True, slots=True)
class GridlessMedia:
    """A media without a stored luma grid, with its size and the places it was seen."""

    sha256: str
    size: int
    places: list[SeenAt]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a media sits among near-duplicates: its cluster, representative and size."""

    cluster_id: int
    representative: str
    size: int


def _view(row: Any, members: list[ClusterMemberView]) -> ClusterView:
    rep = row.representative_sha256
    members.sort(key=lambda m: (m.sha256 != rep, m.distance or 0, m.sha256))
    return ClusterView(
        row.id,
        row.kind,
        rep,
        tuple(members),
        row.threshold,
        row.reason,
        row.basis,
        row.created_at,
    )


def _insert_chunked(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(table), rows[start : start + _CHUNK])


def _insert_returning_ids(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    stmt = insert(_CLUSTER).returning(_CLUSTER.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), _CHUNK):
        ids.extend(conn.execute(stmt, rows[start : start + _CHUNK]).scalars())
    return ids
