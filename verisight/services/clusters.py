"""The cluster service: build or update a case's near-duplicate clusters and generation
series, backfill the luma grids the crop pass needs, list and show clusters.

The rules are :mod:`verisight.clustering` (pure) and :mod:`verisight.backfill`; the SQL is
:mod:`verisight.store.clusters`. Decisions per cluster (propagation) belong to the assessment
service.
"""

from __future__ import annotations

from collections.abc import Iterator

from verisight.backfill import GridBackfill, backfill_grids
from verisight.clustering import ClusterParams
from verisight.clustering.update import UpdateSummary, update_clusters
from verisight.errors import UsageError
from verisight.store.clusters import KINDS, ClusterStore, ClusterView

__all__ = ["KINDS", "ClusterService", "ClusterView", "GridBackfill", "UpdateSummary"]


class ClusterService:
    """Clusters of one case (``case.clusters``)."""

    #: The kinds of cluster: "near-duplicate" and "series".
    KINDS = KINDS

    def __init__(self, store: ClusterStore) -> None:
        self._store = store

    def update(
        self, params: ClusterParams | None = None, *, dask: str | None = None
    ) -> UpdateSummary:
        """New media join existing clusters or form new ones (existing ones never merge).

        ``dask``: run the crop pass's screening and alignment on that Dask cluster
        (``tcp://host:8786`` or ``local:N``; the clusters are those of a local run)."""
        if dask is None:
            return update_clusters(self._store, params)
        from verisight.distributed import DaskExecutor

        with DaskExecutor(dask) as runner:
            return update_clusters(self._store, params, runner=runner)

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
