"""Metrics backends, chosen by type like Flagger's provider factory."""

from collections.abc import Callable

from webhook.backends.base import (
    BackendError,
    BackendUnavailable,
    MetricsBackend,
    PartialDataError,
    Point,
    Series,
)
from webhook.backends.prometheus import PrometheusBackend

__all__ = [
    "BackendError",
    "BackendUnavailable",
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


def create_backend(kind: str, url: str, *, timeout: float, cache_ttl: float) -> MetricsBackend:
    """A backend of type `kind`; unknown types are an error rather than a silent fallback."""
    try:
        factory = BACKENDS[kind]
    except KeyError:
        raise ValueError(f"unknown metrics backend {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None
    return factory(url, timeout=timeout, cache_ttl=cache_ttl)
