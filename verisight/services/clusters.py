"""The cluster service: build or update a case's near-duplicate clusters and generation
series, backfill the luma grids the crop pass needs, list and show clusters.

The rules are :mod:`verisight.clustering` (pure) and :mod:`verisight.backfill`; the SQL is
:mod:`verisight.store.clusters`. Decisions per cluster (propagation) belong to the assessment
service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from sqlalchemy import Connection

from verisight.backfill import GridBackfill, backfill_grids
from verisight.clustering import ClusterParams
from verisight.clustering.representative import (
    Copy,
    Rebased,
    RepresentativeRule,
    best_copy,
    rebase,
)
from verisight.clustering.update import UpdateSummary, update_clusters
from verisight.errors import UsageError
from verisight.store.clusters import KINDS, ClusterStore, ClusterView, MemberFacts

__all__ = [
    "KINDS",
    "ClusterService",
    "ClusterView",
    "GridBackfill",
    "Rebased",
    "RepresentativeRule",
    "UpdateSummary",
]


class ClusterService:
    """Clusters of one case (``case.clusters``)."""

    #: The kinds of cluster: "near-duplicate" and "series".
    KINDS = KINDS

    def __init__(
        self, store: ClusterStore, rule: Callable[[], RepresentativeRule] = RepresentativeRule
    ) -> None:
        self._store = store
        self._rule = rule

    def update(
        self, params: ClusterParams | None = None, *, dask: str | None = None
    ) -> UpdateSummary:
        """New media join existing clusters or form new ones (existing ones never merge);
        each new cluster is then represented by its best copy where every member lies within
        the threshold of it (:mod:`verisight.clustering.representative`).

        ``dask``: run the crop pass's screening and alignment on that Dask cluster
        (``tcp://host:8786`` or ``local:N``; the clusters are those of a local run)."""
        before = self._store.last_cluster_id()
        if dask is None:
            summary = update_clusters(self._store, params)
        else:
            from verisight.distributed import DaskExecutor

            with DaskExecutor(dask) as runner:
                summary = update_clusters(self._store, params, runner=runner)
        rule = self._rule()
        if rule.auto:
            rebased = 0
            for cid, threshold in self._store.clusters_since(before):
                copies = self.copies(cid)
                best = best_copy(copies, rule)
                current = self._store.get_cluster(cid).representative
                if best == current:
                    continue
                r = rebase(copies, best, threshold, self._grids(copies))
                if r.refused is None:
                    with self._store.engine.begin() as conn:
                        self.set_representative(conn, cid, r)
                    rebased += 1
            summary = replace(summary, best_copies=rebased)
        return summary

    def copies(self, cluster_id: int) -> list[Copy]:
        """The members of a cluster as :func:`best_copy` and :func:`rebase` see them."""
        return [_copy(m) for m in self._store.member_facts([cluster_id]).get(cluster_id, [])]

    def best_copy(self, cluster_id: int) -> str:
        """The cluster's best copy by the case's rule."""
        return best_copy(self.copies(cluster_id), self._rule())

    def rebase(self, cluster_id: int, sha256: str) -> Rebased:
        """The distances if ``sha256`` represented the cluster, or why it may not."""
        c = self._store.get_cluster(cluster_id)
        copies = self.copies(cluster_id)
        return rebase(copies, sha256, c.threshold or 31, self._grids(copies))

    def _grids(self, copies: list[Copy]) -> dict[str, bytes]:
        return dict(self._store.luma_grids([c.sha256 for c in copies]))

    def set_representative(self, conn: Connection, cluster_id: int, r: Rebased) -> None:
        """Apply an accepted :class:`Rebased` in the caller's transaction."""
        if r.refused is not None:
            raise UsageError(r.refused)
        self._store.set_representative(conn, cluster_id, r.representative, r.distances, r.crops)

    def grids(self) -> GridBackfill:
        """Compute the luma grids of media scanned before scans kept them."""
        return backfill_grids(self._store)

    def list(self, kind: str | None = None) -> Iterator[ClusterView]:
        """Every cluster (or every one of ``kind``), by id, with its members (streamed)."""
        if kind is not None and kind not in KINDS:
            raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
        return self._store.iter_clusters(kind)

    def show(self, cluster_id: int) -> ClusterView:
        """One cluster; raises a :class:`verisight.errors.VerisightError` if there is none."""
        return self._store.get_cluster(cluster_id)


def _copy(m: MemberFacts) -> Copy:
    return Copy(m.sha256, m.pdq, m.pdq_quality, m.width, m.height, m.format, m.size,
                tuple(h for h in (m.pdq_trimmed, *m.pdq_variants) if h), m.pdq_trimmed,
                m.match)  # fmt: skip
