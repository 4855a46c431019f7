"""Clustering: near-duplicate clusters, generation series, decision propagation, triage.

Pure functions over hashes and metadata (no SQL; the store and the CLI wrap them):

* :mod:`verisight.clustering.near_duplicates` — greedy leader clustering on the PDQ index
  (every member within the threshold of its representative; no chaining), incremental;
* :mod:`verisight.clustering.videos` — near-duplicate videos (vPDQ scores, same leader method);
* :mod:`verisight.clustering.series` — generation series (same model + seed, or same prompt);
* :mod:`verisight.clustering.propagation` — who may receive a representative's decision;
* :mod:`verisight.clustering.triage` — the configurable queue order;
* :mod:`verisight.clustering.update` — build or update a case's clusters through a repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verisight._lazy import lazy_exports

if TYPE_CHECKING:
    from verisight.clustering.near_duplicates import (
        DEFAULT_MIN_QUALITY,
        DEFAULT_THRESHOLD,
        Candidate,
        ClusterParams,
        ClusterPlan,
        Join,
        Member,
        NearDuplicateCluster,
        Representative,
        cluster_candidates,
        plan_update,
    )
    from verisight.clustering.propagation import (
        Propagated,
        PropagationPlan,
        PropagationRefused,
        bank_prefill,
        plan_propagation,
    )
    from verisight.clustering.series import GenerationInfo, Series, group_series, normalise_prompt
    from verisight.clustering.triage import (
        Tier,
        TriageItem,
        TriagePolicy,
        tier_of,
        triage_key,
        triage_sort,
    )
    from verisight.clustering.update import ClusterRepository, UpdateSummary, update_clusters
    from verisight.clustering.videos import (
        VideoCandidate,
        VideoParams,
        VideoRepresentative,
        plan_video_update,
    )

__all__ = [
    "DEFAULT_MIN_QUALITY",
    "DEFAULT_THRESHOLD",
    "Candidate",
    "ClusterParams",
    "ClusterPlan",
    "ClusterRepository",
    "GenerationInfo",
    "Join",
    "Member",
    "NearDuplicateCluster",
    "Propagated",
    "PropagationPlan",
    "PropagationRefused",
    "Representative",
    "Series",
    "Tier",
    "TriageItem",
    "TriagePolicy",
    "UpdateSummary",
    "VideoCandidate",
    "VideoParams",
    "VideoRepresentative",
    "bank_prefill",
    "cluster_candidates",
    "group_series",
    "normalise_prompt",
    "plan_propagation",
    "plan_update",
    "plan_video_update",
    "tier_of",
    "triage_key",
    "triage_sort",
    "update_clusters",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Candidate": "verisight.clustering.near_duplicates",
        "ClusterParams": "verisight.clustering.near_duplicates",
        "ClusterPlan": "verisight.clustering.near_duplicates",
        "ClusterRepository": "verisight.clustering.update",
        "DEFAULT_MIN_QUALITY": "verisight.clustering.near_duplicates",
        "DEFAULT_THRESHOLD": "verisight.clustering.near_duplicates",
        "GenerationInfo": "verisight.clustering.series",
        "Join": "verisight.clustering.near_duplicates",
        "Member": "verisight.clustering.near_duplicates",
        "NearDuplicateCluster": "verisight.clustering.near_duplicates",
        "Propagated": "verisight.clustering.propagation",
        "PropagationPlan": "verisight.clustering.propagation",
        "PropagationRefused": "verisight.clustering.propagation",
        "Representative": "verisight.clustering.near_duplicates",
        "Series": "verisight.clustering.series",
        "Tier": "verisight.clustering.triage",
        "TriageItem": "verisight.clustering.triage",
        "TriagePolicy": "verisight.clustering.triage",
        "UpdateSummary": "verisight.clustering.update",
        "VideoCandidate": "verisight.clustering.videos",
        "VideoParams": "verisight.clustering.videos",
        "VideoRepresentative": "verisight.clustering.videos",
        "bank_prefill": "verisight.clustering.propagation",
        "cluster_candidates": "verisight.clustering.near_duplicates",
        "group_series": "verisight.clustering.series",
        "normalise_prompt": "verisight.clustering.series",
        "plan_propagation": "verisight.clustering.propagation",
        "plan_update": "verisight.clustering.near_duplicates",
        "plan_video_update": "verisight.clustering.videos",
        "tier_of": "verisight.clustering.triage",
        "triage_key": "verisight.clustering.triage",
        "triage_sort": "verisight.clustering.triage",
        "update_clusters": "verisight.clustering.update",
    },
)
