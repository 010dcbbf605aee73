"""Prometheus HTTP API backend with a short-lived cache of identical queries.

Each query has one total deadline covering connect, sending and reading the whole answer: a socket
timeout alone bounds each read, so a backend that trickles a byte per second would never time out.
A timer shuts the socket down when the deadline passes, wherever the request is blocked.
"""

import http.client
import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from webhook.backends.base import BackendUnavailable, PartialDataError, Series
from webhook.backends.connection import Connection
from webhook.backends.prometheus_answer import parse_answer

CACHE_SIZE = 512
# A judgement reads at most a week of raw samples of a few dozen series: far below this.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
log = logging.getLogger("webhook.backends")


class DeadlineExceeded(BackendUnavailable):
    """The query's total time ran out before the whole answer arrived."""


class PrometheusBackend:
    """Runs instant queries against `/api/v1/query`; every failure becomes `BackendUnavailable`.

    Warnings (Thanos and Mimir partial responses) raise `PartialDataError`, so no verdict is built on
    them, unless the warning contains one of `harmless_warnings`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 3.0,
        cache_ttl: float = 5.0,
        connection: Connection | None = None,
        harmless_warnings: Sequence[str] = (),
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"prometheus URL must be http(s)://host[:port][/path], got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.connection = connection or Connection()
        self.harmless_warnings = tuple(harmless_warnings)
        self._parts = parts
        try:
            self._tls = self.connection.tls_context() if parts.scheme == "https" else None
        except OSError as exc:  # ssl.SSLError is one too
            raise ValueError(f"prometheus TLS files: {exc.strerror or exc}") from None
        self._cache: OrderedDict[tuple[str, float], tuple[float, list[Series]]] = OrderedDict()
        self._lock = threading.Lock()

    def query(self, promql: str, at: float, *, deadline: float | None = None) -> list[Series]:
        """Evaluate `promql` at `at` within `timeout` seconds and before `deadline` (time.monotonic()),
        answering repeated identical queries from the cache."""
        key = (promql, at)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < self.cache_ttl:
                return cached[1]
        stop = now + self.timeout if deadline is None else min(now + self.timeout, deadline)
        result = self._fetch(promql, at, stop)
        with self._lock:
            self._cache[key] = (now, result)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def is_online(self, *, deadline: float | None = None) -> bool:
        """Whether Prometheus evaluates `vector(1)` right now, answering in the API's shape, within
        `timeout` and before `deadline` (time.monotonic())."""
        stop = time.monotonic() + self.timeout
        try:
            series = self._fetch("vector(1)", time.time(), stop if deadline is None else min(stop, deadline))
        except (BackendUnavailable, PartialDataError) as exc:
            log.warning("metrics backend not ready: %s", exc)
            return False
        if [s.points[0][1] for s in series] != [1.0]:
            log.warning("metrics backend not ready: vector(1) evaluated to %s", series)
            return False
        return True

    def _fetch(self, promql: str, at: float, deadline: float) -> list[Series]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"no time left to ask Prometheus at {self.url} for {promql!r}")
        form = {"query": promql, "time": f"{at:.3f}", "timeout": f"{max(1, int(remaining * 1000))}ms"}
        status, raw = self._post(urlencode(form).encode(), remaining)
        try:
            body = json.loads(raw)
        except ValueError:
            raise BackendUnavailable(
                f"Prometheus answered HTTP {status} without JSON to {promql!r}"
            ) from None
        series, warnings = parse_answer(status, body, promql, self.url)
        harmful = [w for w in warnings if not any(h in w for h in self.harmless_warnings)]
        if harmful:
            raise PartialDataError(f"Prometheus warned about {promql!r}: {'; '.join(harmful)}")
        for warning in warnings:
            log.info("ignoring a warning configured as harmless: %s", warning)
        return series

    def _post(self, form: bytes, remaining: float) -> tuple[int, bytes]:
        """POST the form; (HTTP status, body) or BackendUnavailable, all within `remaining` seconds."""
        host, port = self._parts.hostname or "", self._parts.port
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(host, port, timeout=remaining, context=self._tls)
            if self._tls
            else http.client.HTTPConnection(host, port, timeout=remaining)
        )
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once
                except OSError:
                    pass

        timer = threading.Timer(remaining, expire)
        timer.daemon = True
        timer.start()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            **self.connection.request_headers(),
        }
        try:
            conn.request("POST", f"{self._parts.path.rstrip('/')}/api/v1/query", body=form, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_ANSWER_BYTES + 1)
            if expired.is_set():  # the shut-down socket ended the read early: a partial answer
                raise TimeoutError
            if len(raw) > MAX_ANSWER_BYTES:
                raise BackendUnavailable(
                    f"Prometheus at {self.url} answered more than {MAX_ANSWER_BYTES} bytes"
                )
            return response.status, raw
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise DeadlineExceeded(
                    f"Prometheus at {self.url} did not answer within {remaining:.1f} s"
                ) from None
            raise BackendUnavailable(
                f"Prometheus at {self.url} is unreachable: {type(exc).__name__}"
            ) from None
        finally:
            timer.cancel()
            conn.close()
