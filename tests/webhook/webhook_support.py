"""Scenarios and helpers shared by the judge's tests."""

from fastapi.testclient import TestClient

from tools.traffic import Behaviour, TrafficArm, beta, lognormal, mixture
from webhook.app.core.config import JudgeSettings
from webhook.app.main import create_app

CANARY = "c0ffee1"
BASELINE = "ba5e11e"
TOKEN = "test-token-0123456789"
DURATION = 1800
STEP = 15

BASE = TrafficArm(BASELINE, 6.0, pods=3)


def canary(restart_at: float | None = None, **changes: object) -> TrafficArm:
    return TrafficArm(CANARY, 3.0, Behaviour(**changes), restart_at=restart_at)  # type: ignore[arg-type]


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
}

# Hashes that start minutes apart, named against their age, in two namespaces: the index must
# order them by time and link each to the one before it in its own namespace.
HASH_ORDER_AGENT = "hash-order"
HASH_ORDER = [
    (TrafficArm("ffff0001", 1.0), "agents-dev", 0),
    (TrafficArm("eeee0002", 1.0), "agents-prod", 120),
    (TrafficArm("0000aaa3", 1.0), "agents-dev", 240),
]


def settings(url: str, **overrides: object) -> JudgeSettings:
    return JudgeSettings(**{"prometheus_url": url, "token": TOKEN, **overrides})  # type: ignore[arg-type]


def client(url: str, **overrides: object) -> TestClient:
    """The real app in-process, authenticated with the test token."""
    return TestClient(create_app(settings(url, **overrides)), headers={"Authorization": f"Bearer {TOKEN}"})


def body(agent: str, end: int, **extra: object) -> dict[str, object]:
    return {"agent": agent, "canary": CANARY, "baseline": BASELINE, "end": end, **extra}
