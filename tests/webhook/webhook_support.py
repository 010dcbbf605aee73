"""Scenarios and helpers shared by the judge's tests."""

from fastapi.testclient import TestClient

from tools.traffic import HEALTHY_COST, Behaviour, TrafficArm, beta, collapse, lognormal, mixture
from webhook.app.core.config import JudgeSettings
from webhook.app.main import create_app

CANARY = "c0ffee1"
BASELINE = "ba5e11e"
TOKEN = "test-token-0123456789"
DURATION = 1800
STEP = 15
REFERENCE = 3600  # the baseline runs this long before the canary: its thresholds come from there
LONG = 4 * 3600  # the rollback scenario: the canary hash ran hours before its current run

BASE = TrafficArm(BASELINE, 6.0, pods=3)


def canary(restart_at: float | None = None, **changes: object) -> TrafficArm:
    return TrafficArm(CANARY, 3.0, Behaviour(**changes), restart_at=restart_at)  # type: ignore[arg-type]


COARSE = {"confidence_buckets": (0.25, 0.5, 0.75, 1.0), "duration_buckets": (0.1, 0.5, 1.0, 5.0, 30.0),
          "cost_buckets": (0.001, 0.01, 0.1, 1.0)}  # fmt: skip
HEAVY_TAIL = mixture((0.998, HEALTHY_COST), (0.002, lambda rng: 5.0))  # 0.2 % of requests cost $5

# Agent name -> arms. Each name is one scenario; the canary gets a third of the traffic.
SCENARIOS: dict[str, list[TrafficArm]] = {
    "no-change": [canary(restart_at=0.5), TrafficArm(BASELINE, 6.0, pods=3, restart_at=0.3)],
    "confidence-shift": [canary(confidence=beta(5, 3)), BASE],
    # The same mean confidence as the healthy build (0.857) but 15 % of answers collapse to low confidence.
    "bimodal-collapse": [canary(confidence=mixture((0.85, beta(30, 2)), (0.15, beta(4, 6)))), BASE],
    "cost-increase": [canary(cost=lognormal(0.003, 0.5)), BASE],
    "error-increase": [canary(failure_rate=0.06), BASE],
    "latency-tail": [
        canary(duration=mixture((0.85, lognormal(0.3, 0.4)), (0.15, lognormal(1.2, 0.4)))),
        BASE,
    ],
    "improvement": [
        canary(
            confidence=beta(24, 2),
            cost=lognormal(0.0015, 0.5),
            failure_rate=0.002,
            duration=lognormal(0.25, 0.4),
        ),
        BASE,
    ],
    "low-traffic": [TrafficArm(CANARY, 0.01), BASE],
    # Different bucket layouts: a healthy canary, and one whose answers collapse to low confidence.
    "layout-healthy": [TrafficArm(CANARY, 3.0, **COARSE), BASE],  # type: ignore[arg-type]
    "layout-collapse": [TrafficArm(CANARY, 3.0, Behaviour(confidence=collapse(0.3)), **COARSE), BASE],  # type: ignore[arg-type]
    # Identical builds with a heavy cost tail beyond the last cost bucket.
    "heavy-tail": [
        TrafficArm(CANARY, 3.0, Behaviour(cost=HEAVY_TAIL)),
        TrafficArm(BASELINE, 6.0, Behaviour(cost=HEAVY_TAIL), pods=3),
    ],
}

# Hashes that start minutes apart, named against their age, in two namespaces: the index must
# order them by time and link each to the one before it in its own namespace.
HASH_ORDER_AGENT = "hash-order"
HASH_ORDER = [
    (TrafficArm("ffff0001", 1.0), "agents-dev", 0),
    (TrafficArm("eeee0002", 1.0), "agents-prod", 120),
    (TrafficArm("0000aaa3", 1.0), "agents-dev", 240),
]


# Shapes beyond one steady window (each its own agent name, all in the same Prometheus). The
# canary runs for the last 30 minutes unless `runs` says otherwise; the baseline throughout.
SHAPES: dict[str, list[TrafficArm]] = {
    # A retry after an abort: the aborted run failed 20 % of requests, the retry is healthy.
    "retried": [
        TrafficArm(CANARY, 3.0, Behaviour(failure_rate=0.2), runs=((0.0, 0.3),)),
        TrafficArm(CANARY, 3.0, runs=((0.45, 1.0),)),
        BASE,
    ],
    # A provider brownout (30 % failures for 3 minutes) hitting both builds while the canary's
    # weight is 50 % instead of the 10 % it had before: pooled, the canary looks worse.
    "brownout": [
        TrafficArm(CANARY, 0.2, rate_steps=((0.5, 1.0),), brownout=(0.55, 0.65, 0.3)),
        TrafficArm(BASELINE, 1.8, pods=3, rate_steps=((0.5, 1.0),), brownout=(0.55, 0.65, 0.3)),
    ],
}
# The rollback: the hash ran healthy hours ago; its current run (the last 30 minutes) fails 6 %.
ROLLBACK = [
    TrafficArm(CANARY, 1.0, runs=((0.0, 0.1),)),
    TrafficArm(CANARY, 1.0, Behaviour(failure_rate=0.06), runs=((1 - DURATION / LONG, 1.0),)),
    TrafficArm(BASELINE, 2.0, pods=2),
]


def settings(url: str, **overrides: object) -> JudgeSettings:
    return JudgeSettings(**{"prometheus_url": url, "token": TOKEN, **overrides})  # type: ignore[arg-type]


def client(url: str, **overrides: object) -> TestClient:
    """The real app in-process, authenticated with the test token."""
    return TestClient(create_app(settings(url, **overrides)), headers={"Authorization": f"Bearer {TOKEN}"})


def body(agent: str, end: int, **extra: object) -> dict[str, object]:
    return {"agent": agent, "canary": CANARY, "baseline": BASELINE, "end": end, **extra}
