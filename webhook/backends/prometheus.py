"""Prometheus HTTP API backend with a short-lived cache of identical queries."""

import math
import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

import requests

from webhook.backends.base import BackendUnavailable, PartialDataError, Series

CACHE_SIZE = 512


def _parse_value(raw: str) -> float:
    # Prometheus encodes NaN and +Inf as strings; float() reads both, callers skip non-finite values.
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


class PrometheusBackend:
    """Runs instant queries against `/api/v1/query`; every failure becomes `BackendUnavailable`."""

    def __init__(self, url: str, *, timeout: float = 3.0, cache_ttl: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"prometheus URL must be http(s)://host[:port][/path], got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self._session = requests.Session()
        self._cache: OrderedDict[tuple[str, float], tuple[float, list[Series]]] = OrderedDict()
        self._lock = threading.Lock()

    def query(self, promql: str, at: float) -> list[Series]:
        """Evaluate `promql` at `at`, answering repeated identical queries from the cache."""
        key = (promql, at)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < self.cache_ttl:
                return cached[1]
        result = self._fetch(promql, at)
        with self._lock:
            self._cache[key] = (now, result)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def is_online(self) -> bool:
        """Whether Prometheus evaluates `vector(1)` right now."""
        try:
            self._fetch("vector(1)", time.time())
        except (BackendUnavailable, PartialDataError):
            return False
        return True

    def _fetch(self, promql: str, at: float) -> list[Series]:
        try:
            response = self._session.post(
                f"{self.url}/api/v1/query",
                data={"query": promql, "time": f"{at:.3f}", "timeout": f"{int(self.timeout * 1000)}ms"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise BackendUnavailable(
                f"Prometheus at {self.url} is unreachable: {type(exc).__name__}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise BackendUnavailable(
                f"Prometheus answered HTTP {response.status_code} without JSON to {promql!r}"
            ) from None
        if response.status_code != 200 or body.get("status") != "success":
            error = body.get("error") or f"HTTP {response.status_code}"
            raise BackendUnavailable(f"Prometheus rejected {promql!r}: {error}")
        if body.get("warnings"):
            raise PartialDataError(f"Prometheus warned about {promql!r}: {'; '.join(body['warnings'])}")
        return _parse_result(body.get("data", {}))


def _parse_result(data: dict[str, object]) -> list[Series]:
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return [Series({}, ((float(result[0]), _parse_value(result[1])),))]
    if not isinstance(result, list):
        return []
    series: list[Series] = []
    for item in result:
        labels = dict(item.get("metric", {}))
        if kind == "matrix":
            points = tuple((float(t), _parse_value(v)) for t, v in item.get("values", []))
        else:
            t, v = item.get("value", (0, "NaN"))
            points = ((float(t), _parse_value(v)),)
        series.append(Series(labels, points))
    return series
