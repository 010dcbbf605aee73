"""What both control-plane suites share: the agents' metrics exporter, secrets, polling."""

import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from kernel.contract import CONFIDENCE_BUCKETS, COST_BUCKETS, DURATION_BUCKETS
from tools.control_plane import State, kubectl
from tools.traffic import Behaviour, beta

AGENT = "data-standardization"
ROLLOUT = f"{AGENT}-agent"
RATE = 300.0  # requests per second: the e2e compresses a release into minutes
HEALTHY = Behaviour(failure_rate=0.001)
REGRESSED = Behaviour(failure_rate=0.001, confidence=beta(2, 5))


def digest(release: int) -> str:
    """The image digest of the n-th release, as CI would publish it."""
    return "sha256:" + f"{release:02d}" * 32


@dataclass
class Traffic:
    """Pods of each (namespace, hash), emitting the metric contract at a steady request rate."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    arms: dict[tuple[str, str], Behaviour] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        pod = ["agent_name", "namespace", "pod", "rollouts_pod_template_hash"]
        self.requests = Counter("agent_requests", "", [*pod, "status"], registry=self.registry)
        self.confidence = Histogram(
            "agent_confidence", "", pod, buckets=CONFIDENCE_BUCKETS, registry=self.registry
        )
        self.cost = Histogram("agent_request_cost_usd", "", pod, buckets=COST_BUCKETS, registry=self.registry)
        self.duration = Histogram(
            "agent_duration_seconds", "", pod, buckets=DURATION_BUCKETS, registry=self.registry
        )
        self.rng = random.Random(1)

    def add(self, namespace: str, pod_hash: str, arm: Behaviour) -> None:
        """Start a hash's traffic; its series exist at zero first, as the agents' do."""
        labels = (AGENT, namespace, f"{ROLLOUT}-{pod_hash}-0", pod_hash)
        with self.lock:
            for status in ("success", "failure"):
                self.requests.labels(*labels, status)
            for histogram in (self.confidence, self.cost, self.duration):
                histogram.labels(*labels)
            self.arms[(namespace, pod_hash)] = arm

    def tick(self, seconds: float) -> None:
        with self.lock:
            for (namespace, pod_hash), arm in self.arms.items():
                labels = (AGENT, namespace, f"{ROLLOUT}-{pod_hash}-0", pod_hash)
                expected = RATE * seconds
                for _ in range(int(expected) + (self.rng.random() < expected % 1)):
                    failed = self.rng.random() < arm.failure_rate
                    self.requests.labels(*labels, "failure" if failed else "success").inc()
                    self.confidence.labels(*labels).observe(min(1.0, max(0.0, arm.confidence(self.rng))))
                    self.cost.labels(*labels).observe(arm.cost(self.rng))
                    self.duration.labels(*labels).observe(arm.duration(self.rng))


def create_namespace(state: State, namespace: str, judge_token: str) -> None:
    """The namespace and the Secrets the agent's manifests reference."""
    kubectl(state, "create", "namespace", namespace)
    secrets_by_name = {
        "agent-rollouts-judge-token": ("token", judge_token),
        f"{AGENT}-llm-credentials": ("api-key", secrets.token_hex(16)),
        "agent-rollouts-jwt": ("secret", secrets.token_hex(32)),
    }
    for name, (key, value) in secrets_by_name.items():
        kubectl(state, "-n", namespace, "create", "secret", "generic", name, f"--from-literal={key}={value}")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 180.0) -> Any:
    """Poll until `check` returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def judge_verdicts(run: dict[str, Any]) -> list[str]:
    """The judge's verdicts that a `web` metric of the run recorded."""
    verdicts = []
    for result in run.get("status", {}).get("metricResults", []):
        for measurement in result.get("measurements", []):
            value = measurement.get("value", "")
            if value.startswith("{"):
                verdicts.append(json.loads(value)["verdict"])
    return verdicts
