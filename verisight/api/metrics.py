"""Prometheus metrics of one API process (``GET /metrics``).

Each app has its own registry (several apps may run in one process, as in the tests).
With ``--workers N`` each worker process counts its own requests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from verisight.curation import MatchOutcome


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "verisight_api_requests", "Requests by route, method and status",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "verisight_api_request_seconds", "Request latency by route", ["route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )  # fmt: skip
        self.key_requests = Counter(
            "verisight_api_key_requests", "Requests by API key name", ["key"], registry=r
        )
        self.matches = Counter(
            "verisight_api_matches", "Matches returned, by bank", ["bank"], registry=r
        )
        self.index_size = Gauge("verisight_api_index_size", "PDQ hashes in the index", registry=r)
        self.index_age = Gauge(
            "verisight_api_index_age_seconds", "Seconds since the index last followed the database",
            registry=r,
        )  # fmt: skip
        self.index_rebuilds = Gauge(
            "verisight_api_index_rebuilds", "Full rebuilds of the index", registry=r
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def update_index(self, size: int, last_refresh: float, rebuilds: int) -> None:
        self.index_size.set(size)
        self.index_age.set(max(0.0, time.time() - last_refresh) if last_refresh else -1)
        self.index_rebuilds.set(rebuilds)


def count_matches(request: Request, outcome: MatchOutcome) -> None:
    metrics: ApiMetrics = request.app.state.metrics
    for found in outcome.matches:
        for m in found:
            metrics.matches.labels(m.content.bank).inc()


def route_of(scope: Mapping[str, Any]) -> str:
    """The route's path template (``/c/bank/{bank_name}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
