"""The service's own Prometheus metrics, in a registry created per app."""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class ServiceMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    verdicts: Counter


def create_metrics() -> ServiceMetrics:
    registry = CollectorRegistry()
    return ServiceMetrics(
        registry=registry,
        requests=Counter(
            "judge_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "judge_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        ),
        verdicts=Counter(
            "judge_verdicts", "Judgements by agent and verdict.", ["agent", "verdict"], registry=registry
        ),
    )
