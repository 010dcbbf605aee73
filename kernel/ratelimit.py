"""Per-client token buckets: `rate` requests per second on average, bursts up to `burst`."""

import math
import threading
import time
from collections.abc import Callable

# Beyond this many clients, buckets that have refilled completely are forgotten.
MAX_TRACKED_CLIENTS = 10_000


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, time of last update)
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        """Take one token for `client`: 0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                self._forget_idle(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) <= MAX_TRACKED_CLIENTS:
            return
        for client, (tokens, updated) in list(self._buckets.items()):
            if tokens + (now - updated) * self.rate >= self.burst:
                del self._buckets[client]


def retry_after_header(wait_seconds: float) -> str:
    """`Retry-After` takes whole seconds; round up so a client that waits is served."""
    return str(max(1, math.ceil(wait_seconds)))
