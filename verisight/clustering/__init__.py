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
