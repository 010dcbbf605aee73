"""Steady traffic split between stable and canary by the current canary weight."""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

# (base_url, request index) -> HTTP status, 0 when no answer came back (tools.loadgen.send).
Send = Callable[[str, int], int]


class TrafficSplitter:
    """Threads that send `rps` requests per second, `weight`% of them to the canary."""

    def __init__(self, stable_url: str, send: Send, *, rps: float, workers: int = 8, seed: int = 7) -> None:
        self.stable_url = stable_url
        self.canary_url: str | None = None
        self.weight = 0
        self.counts: Counter[tuple[str, int]] = Counter()  # (url, status) -> requests
        self._send = send
        self._interval = 1.0 / rps
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._next_slot = time.monotonic()
        self._sent = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    def route(self, canary_url: str | None, weight: int) -> None:
        """Send `weight`% of new requests to `canary_url` (0 sends everything to stable)."""
        with self._lock:
            self.canary_url, self.weight = canary_url, weight

    def totals(self, url: str) -> tuple[int, int]:
        """(requests, failed requests) sent to one service so far."""
        with self._lock:
            sent = sum(n for (u, _), n in self.counts.items() if u == url)
            failed = sum(n for (u, status), n in self.counts.items() if u == url and not 200 <= status < 400)
        return sent, failed

    def _claim(self) -> tuple[str, int, float]:
        with self._lock:
            slot = self._next_slot = max(self._next_slot + self._interval, time.monotonic() - 1.0)
            self._sent += 1
            to_canary = self._random.random() * 100 < self.weight
            url = self.canary_url if to_canary and self.canary_url else self.stable_url
            return url, self._sent, slot

    def _work(self) -> None:
        while not self._stop.is_set():
            url, index, slot = self._claim()
            if self._stop.wait(max(0.0, slot - time.monotonic())):
                return
            status = self._send(url, index)
            with self._lock:
                self.counts[(url, status)] += 1

    def __enter__(self) -> "TrafficSplitter":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
