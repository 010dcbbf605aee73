"""Per-client token buckets: 429 with Retry-After once a client's burst is spent."""

from agents_support import auth_headers

from agents.providers.local import LocalProvider
from kernel.ratelimit import RateLimiter, retry_after_header
from tools.loadgen import sample_payload

URL = "/api/agents/knowledge-qna/execute"
BODY = sample_payload("knowledge-qna", 0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == 0.5  # one token refills in 1/rate seconds
    assert limiter.acquire("b") == 0.0  # clients have separate buckets
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"


def test_service_answers_429_with_retry_after_per_client(make_client) -> None:
    with make_client(rate_limit_rps=0.5, rate_limit_burst=2) as client:
        statuses = [client.post(URL, json=BODY, headers=auth_headers("alice")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = client.post(URL, json=BODY, headers=auth_headers("alice"))
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Another subject is not limited by alice's traffic.
        assert client.post(URL, json=BODY, headers=auth_headers("bob")).status_code == 200


def test_default_limits_let_a_demo_load_of_50_requests_per_second_through(make_client) -> None:
    instant = LocalProvider("baseline", seed=2, sleep=lambda _: None)
    with make_client(provider=instant) as client:
        statuses = [client.post(URL, json=BODY, headers=auth_headers("demo")).status_code for _ in range(150)]
    # None is limited (429); the baseline's 0.5 % of provider failures answer 502.
    assert set(statuses) <= {200, 502} and statuses.count(200) >= 145
