"""What the control-plane suites share: the agents' metrics, the stack, releases and reading the controller.

See test_cluster_e2e.py for the stand-ins (a metrics exporter per pod-template hash, loopback URLs)
and the shortened pauses.
"""

import json
import os
import random
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram

from ci.render import kustomize_build
from kernel import catalog
from kernel.contract import CONFIDENCE_BUCKETS, COST_BUCKETS, DURATION_BUCKETS
from kernel.toolpaths import REPO_ROOT
from tools.control_plane import State, cluster_binary, kubectl
from tools.traffic import Behaviour, beta

AGENT = "data-standardization"
DEV, PROD = catalog.namespace("dev"), catalog.namespace("prod")
ROLLOUT = f"{AGENT}-agent"
EXAMPLE = REPO_ROOT / "rollouts" / "examples" / "replica-weighted"
PROD_LIKE_COMPONENTS = ("components/prod",)  # prod's steps and gate, without the Istio component
REPLICAS = 10
RATE = 300.0  # requests per second: the e2e compresses a release into minutes
HEALTHY = Behaviour(failure_rate=0.001)
REGRESSED = Behaviour(failure_rate=0.001, confidence=beta(2, 5))


def digest(release: int) -> str:
    """The image digest of the n-th release, as CI would publish it."""
    return "sha256:" + f"{release:02d}" * 32


# --- the agents' metrics ------------------------------------------------------------------------


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


# --- the stack ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    state: State
    judge_url: str
    prometheus_url: str
    workdir: Path


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


# --- rendering a release ------------------------------------------------------------------------


def relative(target: Path, folder: Path) -> str:
    """Kustomize refuses absolute paths to other kustomizations."""
    return os.path.relpath(target, folder)


def release_manifests(stack: Stack, overlay: Path, release: int) -> str:
    """Render `overlay` with the n-th image digest (what `agent-rollouts release` writes), shortened."""
    folder = stack.workdir / f"{overlay.name}-release-{release}"
    folder.mkdir(exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [relative(overlay, folder)],
        "images": [{"name": catalog.image_repository(AGENT), "digest": digest(release)}],
    }
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    docs = [doc for doc in yaml.safe_load_all(kustomize_build(folder)) if doc]
    return yaml.safe_dump_all([shorten(doc, stack) for doc in docs])


def prod_like_overlay(stack: Stack) -> Path:
    """The agent with prod's component (steps, manual gate) and no mesh, in agents-prod."""
    folder = stack.workdir / "prod-like"
    folder.mkdir(exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": PROD,
        "resources": [relative(REPO_ROOT / "rollouts" / "agents" / AGENT, folder)],
        "components": [relative(REPO_ROOT / "rollouts" / c, folder) for c in PROD_LIKE_COMPONENTS],
    }
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return folder


def shorten(doc: dict[str, Any], stack: Stack) -> dict[str, Any]:
    """Test-only changes (module docstring): loopback URLs, seconds instead of minutes, 10 replicas."""
    if doc["kind"] == "AnalysisTemplate":
        for arg in doc["spec"]["args"]:
            if arg["name"] == "judge-url":
                arg["value"] = stack.judge_url
            if arg["name"] == "prometheus-address":
                arg["value"] = stack.prometheus_url
        for metric in doc["spec"]["metrics"]:
            metric["interval"] = "3s"
            if "initialDelay" in metric:
                metric["initialDelay"] = "3s"
    if doc["kind"] == "Rollout":
        doc["spec"]["replicas"] = REPLICAS
        for step in doc["spec"]["strategy"]["canary"]["steps"]:
            if step.get("pause", {}).get("duration"):
                step["pause"]["duration"] = "8s"
    return doc


def apply(stack: Stack, manifests: str) -> None:
    """Client-side apply, as Argo CD syncs by default (server-side would conflict with the fields
    the Rollouts controller owns, such as spec.selector)."""
    kubectl(stack.state, "apply", "-f", "-", stdin=manifests)


# --- reading the controller's state -------------------------------------------------------------


def get(stack: Stack, namespace: str, kind: str, name: str = "") -> Any:
    return json.loads(
        kubectl(stack.state, "-n", namespace, "get", kind, *([name] if name else []), "-o", "json")
    )


def wait_for(what: str, check: Callable[[], Any], timeout: float = 180.0) -> Any:
    """Poll until `check` returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def rollout(stack: Stack, namespace: str) -> dict[str, Any]:
    result: dict[str, Any] = get(stack, namespace, "rollout", ROLLOUT)
    return result


def replica_counts(stack: Stack, namespace: str) -> dict[str, int]:
    """Ready pods per pod-template hash, over the Rollout's ReplicaSets."""
    sets = get(stack, namespace, "replicasets")["items"]
    return {
        rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs["status"].get("readyReplicas", 0)
        for rs in sets
        if rs["metadata"]["name"].startswith(ROLLOUT)
    }


def healthy_on(stack: Stack, namespace: str, pod_hash: str | None = None) -> dict[str, Any] | None:
    status: dict[str, Any] = rollout(stack, namespace).get("status", {})
    if status.get("phase") != "Healthy" or (pod_hash and status.get("stableRS") != pod_hash):
        return None
    return status


def current_weight(steps: list[dict[str, Any]], index: int) -> int:
    """The setWeight in force at step `index` (0 before the first one)."""
    weights = [s["setWeight"] for s in steps[: index + 1] if "setWeight" in s]
    return weights[-1] if weights else 0


def deploy_first(stack: Stack, overlay: Path, namespace: str, traffic: Traffic) -> str:
    """Release 1 goes straight to stable (no canary for a first Rollout); returns its hash."""
    apply(stack, release_manifests(stack, overlay, 1))
    status = wait_for("the first release to be Healthy", lambda: healthy_on(stack, namespace))
    stable = str(status["stableRS"])
    traffic.add(namespace, stable, HEALTHY)
    return stable


def release(
    stack: Stack, overlay: Path, number: int, namespace: str, traffic: Traffic, arm: Behaviour
) -> str:
    """Apply release `number` and start its canary's traffic; returns the canary hash."""
    stable = rollout(stack, namespace)["status"]["stableRS"]
    apply(stack, release_manifests(stack, overlay, number))

    def new_hash() -> str | None:
        current = rollout(stack, namespace).get("status", {}).get("currentPodHash")
        return str(current) if current and current != stable else None

    canary = str(wait_for(f"release {number}'s canary ReplicaSet", new_hash, timeout=60))
    traffic.add(namespace, canary, arm)
    return canary


def wait_for_all_on_stable(stack: Stack, namespace: str, stable: str, aborted: str, what: str) -> None:
    """Every replica back on `stable`, none left on the `aborted` canary."""
    wait_for(
        what,
        lambda: (
            replica_counts(stack, namespace).get(aborted) == 0
            and replica_counts(stack, namespace).get(stable) == REPLICAS
        ),
        timeout=90,
    )


def analysis_runs(stack: Stack, namespace: str, pod_hash: str) -> list[dict[str, Any]]:
    runs = get(stack, namespace, "analysisruns")["items"]
    return [r for r in runs if r["metadata"]["labels"].get("rollouts-pod-template-hash") == pod_hash]


def of_type(runs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The runs Argo created for `kind`: "Step" (a gate) or "Background"."""
    return [r for r in runs if r["metadata"]["labels"].get("rollout-type") == kind]


def judge_verdicts(run: dict[str, Any]) -> list[str]:
    """The judge's verdicts that a `web` metric of the run recorded."""
    verdicts = []
    for result in run.get("status", {}).get("metricResults", []):
        for measurement in result.get("measurements", []):
            value = measurement.get("value", "")
            if value.startswith("{"):
                verdicts.append(json.loads(value)["verdict"])
    return verdicts


def plugin(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [cluster_binary("kubectl-argo-rollouts"), f"--kubeconfig={stack.state.kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
