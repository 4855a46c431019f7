"""Build or update a case's clusters after a scan, over a narrow repository interface.

:func:`update_clusters` holds no SQL: it reads what it needs through a
:class:`ClusterRepository` (implemented by :class:`verisight.store.clusters.ClusterStore`) and
writes back a plan made by the pure functions of this package. The CLI and (later) the web
app both call it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from verisight.clustering.crops import CROP, Runner, plan_crops
from verisight.clustering.near_duplicates import (
    Candidate,
    ClusterParams,
    ClusterPlan,
    Representative,
    plan_update,
)
from verisight.clustering.series import GenerationInfo, Series, group_series
from verisight.clustering.videos import (
    VPDQ_BASIS,
    VideoCandidate,
    VideoParams,
    VideoRepresentative,
    plan_video_update,
)


class ClusterRepository(Protocol):
    def unclustered_media(self) -> list[Candidate]:
        """Media in no near-duplicate cluster yet (not videos with frames)."""
        ...

    def unclustered_videos(self) -> list[VideoCandidate]:
        """Videos with stored frames in no near-duplicate cluster yet."""
        ...

    def video_representatives(self) -> list[VideoRepresentative]: ...

    def reopen_video_singletons(self) -> int: ...

    def luma_grids(self, shas: Sequence[str]) -> Mapping[str, bytes]:
        """Stored luma grids of ``shas`` (for the crop pass; missing ones left out)."""
        ...

    def representatives(self) -> list[Representative]:
        """Representatives of the existing clusters new media may join (not singletons
        kept apart for low quality or a missing hash)."""
        ...

    def apply_plan(self, plan: ClusterPlan, threshold: int, basis: str | None = None) -> None: ...

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
    #: Of ``new_media``, the videos (clustered by vPDQ, apart from images).
    new_videos: int = 0
    #: Of ``new_media``, those placed as crops (:mod:`verisight.clustering.crops`).
    crop_matches: int = 0
    #: New clusters whose representative became their best copy
    #: (:mod:`verisight.clustering.representative`).
    best_copies: int = 0

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
            "new_videos": self.new_videos,
            "crop_matches": self.crop_matches,
            "best_copies": self.best_copies,
        }


def update_clusters(
    repo: ClusterRepository,
    params: ClusterParams | None = None,
    video: VideoParams | None = None,
    runner: Runner | None = None,
) -> UpdateSummary:
    """Put every unclustered media in a near-duplicate cluster (joining an existing one or
    forming new ones; existing clusters are never merged), then regroup the series.

    Images are clustered by PDQ and videos (with stored frames) by vPDQ
    (:mod:`verisight.clustering.videos`), separately: an image and a video never share a
    cluster. ``video`` defaults to the frame distance and quality of ``params``. ``runner``
    runs the crop pass's screening and alignment elsewhere (a Dask cluster), same result."""
    params = params or ClusterParams()
    video = video or VideoParams(frame_threshold=params.threshold, min_quality=params.min_quality)
    start = time.perf_counter()
    repo.reopen_video_singletons()
    new = repo.unclustered_media()
    existing = repo.representatives() if new else []
    plan = plan_update(new, existing, params)
    if params.crops:
        plan = plan_crops(plan, new, existing, repo.luma_grids, params, runner)
    repo.apply_plan(plan, params.threshold)
    videos = repo.unclustered_videos()
    vplan = plan_video_update(videos, repo.video_representatives() if videos else [], video)
    repo.apply_plan(vplan, video.frame_threshold, VPDQ_BASIS)
    series = group_series(repo.generation_info())
    repo.replace_series(series)
    plans = (plan, vplan)
    return UpdateSummary(
        new_media=len(new) + len(videos),
        joined_existing=sum(len(p.joins) for p in plans),
        new_clusters=sum(1 for p in plans for c in p.new_clusters if c.reason is None),
        singletons=sum(1 for p in plans for c in p.new_clusters if c.reason is not None),
        near_duplicate_clusters=repo.count_clusters("near-duplicate"),
        series=len(series),
        threshold=params.threshold,
        min_quality=params.min_quality,
        elapsed_seconds=time.perf_counter() - start,
        new_videos=len(videos),
        crop_matches=sum(1 for j in plan.joins if j.match == CROP)
        + sum(1 for c in plan.new_clusters for m in c.members if m.match == CROP),
    )
