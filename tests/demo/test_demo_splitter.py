"""The traffic splitter sends the step's weight to the canary and counts each service apart."""

import time

from tools.demo.splitter import TrafficSplitter

STABLE, CANARY, NEXT_CANARY = "http://stable", "http://canary-1", "http://canary-2"


def answer(url: str, index: int) -> int:
    """Stands in for the HTTP call: the canary fails every tenth request."""
    return 502 if url.startswith("http://canary") and index % 10 == 0 else 200


def test_weight_routes_that_share_and_counts_are_per_service() -> None:
    with TrafficSplitter(STABLE, answer, rps=400, seed=3) as traffic:
        traffic.route(CANARY, 25)
        time.sleep(1.0)
        traffic.route(NEXT_CANARY, 50)
        stable_then, first_then = traffic.totals(STABLE)[0], traffic.totals(CANARY)[0]
        time.sleep(0.5)
        traffic.route(None, 0)
        sent_before_abort = sum(traffic.totals(url)[0] for url in (CANARY, NEXT_CANARY))
        time.sleep(0.3)
    stable, stable_failed = traffic.totals(STABLE)
    first, first_failed = traffic.totals(CANARY)
    second, _ = traffic.totals(NEXT_CANARY)
    assert stable_failed == 0 and 0 < first_failed < first
    assert 0.15 < first_then / (first_then + stable_then) < 0.35  # 25 % for the first second
    assert first - first_then <= 8  # then none, but for requests in flight
    assert second > 0.5 * first  # 50 % for half a second
    assert stable > stable_then
    assert sum(traffic.totals(url)[0] for url in (CANARY, NEXT_CANARY)) <= sent_before_abort + 8  # in flight
