"""Metrics backends, chosen by type like Flagger's provider factory."""

from collections.abc import Callable, Sequence

from webhook.backends.base import (
    BackendError,
    BackendUnavailable,
    MetricsBackend,
    PartialDataError,
    Point,
    Series,
)
from webhook.backends.connection import Connection
from webhook.backends.prometheus import DeadlineExceeded, PrometheusBackend
from webhook.backends.prometheus_answer import MalformedAnswer

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "Connection",
    "DeadlineExceeded",
    "MalformedAnswer",
    "MetricsBackend",
    "PartialDataError",
    "Point",
    "Series",
    "PrometheusBackend",
    "BACKENDS",
    "create_backend",
]

# Thanos, Mimir and VictoriaMetrics speak the Prometheus HTTP API, so one type covers them.
BACKENDS: dict[str, Callable[..., MetricsBackend]] = {"prometheus": PrometheusBackend}


def create_backend(
    kind: str,
    url: str,
    *,
    timeout: float,
    cache_ttl: float,
    connection: Connection | None = None,
    harmless_warnings: Sequence[str] = (),
) -> MetricsBackend:
    """A backend of type `kind`; unknown types are an error rather than a silent fallback."""
    try:
        factory = BACKENDS[kind]
    except KeyError:
        raise ValueError(f"unknown metrics backend {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None
    return factory(
        url, timeout=timeout, cache_ttl=cache_ttl, connection=connection, harmless_warnings=harmless_warnings
    )
