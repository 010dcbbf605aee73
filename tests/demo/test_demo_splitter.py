"""The traffic splitter sends the step's weight to the canary and counts each service apart.

The test moves from phase to phase after a number of answered requests, not after a sleep: what it
checks is shares of requests, which no scheduling delay changes.
"""

import threading

from tools.demo.splitter import TrafficSplitter

STABLE, CANARY, NEXT_CANARY = "http://stable", "http://canary-1", "http://canary-2"
WORKERS = 8  # each holds at most one request it routed but has not counted yet
PHASE = 400  # requests per phase: a 25 % share is then known within about +-2 %


class Answers:
    """Stands in for the HTTP call (the canary fails every tenth request) and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._changed = threading.Condition()

    def __call__(self, url: str, index: int) -> int:
        with self._changed:
            self.calls += 1
            self._changed.notify_all()
        return 502 if url.startswith("http://canary") and index % 10 == 0 else 200

    def wait_for_more(self, n: int) -> None:
        with self._changed:
            target = self.calls + n
            assert self._changed.wait_for(lambda: self.calls >= target, timeout=60), "the splitter stalled"


def test_weight_routes_that_share_and_counts_are_per_service() -> None:
    answers = Answers()
    with TrafficSplitter(STABLE, answers, rps=2000, workers=WORKERS, seed=3) as traffic:
        traffic.route(CANARY, 25)
        stable_before, _ = traffic.totals(STABLE)
        answers.wait_for_more(PHASE)
        traffic.route(NEXT_CANARY, 50)
        stable_then, first_then = traffic.totals(STABLE)[0], traffic.totals(CANARY)[0]
        answers.wait_for_more(PHASE)
        traffic.route(None, 0)
        stable_at_abort = traffic.totals(STABLE)[0]
        sent_before_abort = sum(traffic.totals(url)[0] for url in (CANARY, NEXT_CANARY))
        answers.wait_for_more(PHASE // 2)
    stable, stable_failed = traffic.totals(STABLE)
    first, first_failed = traffic.totals(CANARY)
    second, _ = traffic.totals(NEXT_CANARY)
    assert stable_failed == 0 and 0 < first_failed < first
    # 25 % of the first phase, give or take the requests in flight at either end of it
    assert 0.18 < first_then / (first_then + stable_then - stable_before) < 0.32
    assert first - first_then <= WORKERS  # then none, but for requests in flight
    assert 0.42 < second / (second + stable_at_abort - stable_then) < 0.58  # 50 % in the second
    assert stable - stable_at_abort >= PHASE // 2 - WORKERS  # after the abort, all to stable
    assert sum(traffic.totals(url)[0] for url in (CANARY, NEXT_CANARY)) <= sent_before_abort + WORKERS
