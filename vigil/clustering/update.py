"""Build or update a case's clusters after a scan, over a narrow repository interface.

:func:`update_clusters` holds no SQL: it reads what it needs through a
:class:`ClusterRepository` (implemented by :class:`vigil.store.clusters.ClusterStore`) and
writes back a plan made by the pure functions of this package. The CLI and (later) the web
app both call it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.clustering.near_duplicates import (
    Candidate,
    ClusterParams,
    ClusterPlan,
    Representative,
    plan_update,
)
from vigil.clustering.series import GenerationInfo, Series, group_series


class ClusterRepository(Protocol):
    def unclustered_media(self) -> list[Candidate]:
        """Media in no near-duplicate cluster yet."""
        ...

    def representatives(self) -> list[Representative]:
        """Representatives of the existing clusters new media may join (not singletons
        kept apart for low quality or a missing hash)."""
        ...

    def apply_plan(self, plan: ClusterPlan, threshold: int) -> None: ...

    def generation_info(self) -> list[GenerationInfo]: ...

    def replace_series(self, series: Sequence[Series]) -> None: ...

    def count_clusters(self, kind: str) -> int: ...


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    new_media: int
    joined_existing: int
    new_clusters: int
    singletons: int
    near_duplicate_clusters: int
    series: int
    threshold: int
    min_quality: int
    elapsed_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "new_media": self.new_media,
            "joined_existing": self.joined_existing,
            "new_clusters": self.new_clusters,
            "singletons": self.singletons,
            "near_duplicate_clusters": self.near_duplicate_clusters,
            "series": self.series,
            "threshold": self.threshold,
            "min_quality": self.min_quality,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def update_clusters(repo: ClusterRepository, params: ClusterParams | None = None) -> UpdateSummary:
    """Put every unclustered media in a near-duplicate cluster (joining an existing one or
    forming new ones; existing clusters are never merged), then regroup the series."""
    params = params or ClusterParams()
    start = time.perf_counter()
    new = repo.unclustered_media()
    plan = plan_update(new, repo.representatives() if new else [], params)
    repo.apply_plan(plan, params.threshold)
    series = group_series(repo.generation_info())
    repo.replace_series(series)
    return UpdateSummary(
        new_media=len(new),
        joined_existing=len(plan.joins),
        new_clusters=sum(1 for c in plan.new_clusters if c.reason is None),
        singletons=sum(1 for c in plan.new_clusters if c.reason is not None),
        near_duplicate_clusters=repo.count_clusters("near-duplicate"),
        series=len(series),
        threshold=params.threshold,
        min_quality=params.min_quality,
        elapsed_seconds=time.perf_counter() - start,
    )
