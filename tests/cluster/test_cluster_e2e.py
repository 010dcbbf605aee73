"""The real Argo Rollouts controller runs our rendered Rollout on a local control plane.

`agent-rollouts cluster up` (built by `make cluster`) starts etcd, kube-apiserver, the
controller-manager, the scheduler, kwok and the Argo Rollouts v1.9.1 controller on loopback.
The judge service and the prometheus provider read a real Prometheus on loopback.

Two stand-ins, because kwok's pods run no containers: the agents' metrics come from a small
exporter in this test that emits the metric contract for each pod-template hash the controller
creates (labelled as the PodMonitor would), and the AnalysisTemplates' default URLs point at the
loopback judge and Prometheus instead of in-cluster Services. To keep the test short, the
rendered manifests are patched here: pauses of 8 s instead of minutes, analysis intervals and
initial delays of 3 s, and 10 replicas (prod has 6) so each setWeight shows as a distinct canary replica count.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_support import (
    AGENT,
    HEALTHY,
    REGRESSED,
    ROLLOUT,
    Traffic,
    create_namespace,
    digest,
    judge_verdicts,
    wait_for,
)

from ci.render import kustomize_build
from kernel import catalog
from kernel.toolpaths import REPO_ROOT
from tools.control_plane import State, cluster_binary, kubectl, stop_all, up
from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn
from tools.traffic import Behaviour

# Building the first release and walking two canaries takes minutes, not the default 300 s.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

DEV, PROD = catalog.namespace("dev"), catalog.namespace("prod")
EXAMPLE = REPO_ROOT / "rollouts" / "examples" / "replica-weighted"
PROD_LIKE_COMPONENTS = ("components/prod",)  # prod's steps and gate, without the Istio component
REPLICAS = 10


# --- the stack ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    state: State
    judge_url: str
    prometheus_url: str
    workdir: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, traffic: tuple[Traffic, str]) -> Iterator[Stack]:
    """Control plane, Prometheus scraping the exporter, and the judge service."""
    for name in ("kube-apiserver", "rollouts-controller", "kubectl-argo-rollouts", "kwok"):
        cluster_binary(name)  # fails with "run `make cluster`" when missing
    workdir = tmp_path_factory.mktemp("cluster-e2e")
    state = State(workdir / "cluster")
    token = secrets.token_hex(16)
    token_file = workdir / "judge-token"
    token_file.write_text(token)
    try:
        up(state)
        with run_prometheus(workdir / "prometheus", [ScrapeTarget(traffic[1])]) as prometheus_url:
            port = free_port()
            judge = [sys.executable, "-m", "agent_rollouts", "serve", "--prometheus-url", prometheus_url]
            judge += ["--token-file", str(token_file), "--host", LOOPBACK, "--port", str(port)]
            with spawn(judge, log=workdir / "judge.log", ready_url=f"http://{LOOPBACK}:{port}/readyz"):
                stack = Stack(state, f"http://{LOOPBACK}:{port}/api/v1/judgements", prometheus_url, workdir)
                for name in (DEV, PROD):
                    create_namespace(state, name, token)
                yield stack
    finally:
        stop_all(state)


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


def plugin(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [cluster_binary("kubectl-argo-rollouts"), f"--kubeconfig={stack.state.kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- the tests ----------------------------------------------------------------------------------


def test_canary_walks_its_steps_with_the_judge_then_a_regression_aborts(
    stack: Stack, traffic: tuple[Traffic, str]
) -> None:
    namespace = DEV
    feed = traffic[0]
    deploy_first(stack, EXAMPLE, namespace, feed)
    steps = rollout(stack, namespace)["spec"]["strategy"]["canary"]["steps"]
    canary = release(stack, EXAMPLE, 2, namespace, feed, HEALTHY)

    seen: dict[int, int] = {}  # weight -> most canary pods seen Ready at that weight

    def walked() -> dict[str, Any] | None:
        status = rollout(stack, namespace)["status"]
        weight = current_weight(steps, status.get("currentStepIndex", 0))
        ready = replica_counts(stack, namespace).get(canary, 0)
        seen[weight] = max(seen.get(weight, 0), ready)
        assert not status.get("abort"), status.get("message")
        return healthy_on(stack, namespace, canary)

    wait_for("release 2 to become stable", walked, timeout=300)
    # Replica-weighted canary: ceil(weight% of 10) canary pods at each step.
    assert seen == {10: 1, 25: 3, 50: 5, 100: REPLICAS}
    runs = analysis_runs(stack, namespace, canary)
    step_runs = [r for r in runs if judge_verdicts(r)]
    assert len(step_runs) == 3, [r["metadata"]["name"] for r in runs]
    assert all(r["status"]["phase"] == "Successful" for r in runs)
    # The templates let a step through on one `pass` and no `fail` among their looks: an early look
    # may still be `inconclusive` (few requests yet), which the test must not mistake for a pass.
    verdicts = [judge_verdicts(r) for r in step_runs]
    assert all("pass" in v and "fail" not in v for v in verdicts), verdicts

    regressed = release(stack, EXAMPLE, 3, namespace, feed, REGRESSED)

    def aborted() -> dict[str, Any] | None:
        status = rollout(stack, namespace)["status"]
        return status if status.get("abort") and status.get("phase") == "Degraded" else None

    status = wait_for("the regressed release to be aborted", aborted)
    assert status["stableRS"] == canary
    failed = [r for r in analysis_runs(stack, namespace, regressed) if r["status"]["phase"] == "Failed"]
    assert failed and "fail" in judge_verdicts(failed[0])
    wait_for_all_on_stable(stack, namespace, canary, regressed, "traffic back on the stable ReplicaSet")


def test_prod_gate_waits_for_promote_and_abort_returns_to_stable(
    stack: Stack, traffic: tuple[Traffic, str]
) -> None:
    namespace = PROD
    feed = traffic[0]
    overlay = prod_like_overlay(stack)
    deploy_first(stack, overlay, namespace, feed)
    steps = rollout(stack, namespace)["spec"]["strategy"]["canary"]["steps"]
    gate = next(i for i, s in enumerate(steps) if s.get("pause") == {})
    canary = release(stack, overlay, 2, namespace, feed, HEALTHY)

    def at_gate() -> dict[str, Any] | None:
        status = rollout(stack, namespace)["status"]
        assert not status.get("abort"), status.get("message")
        paused = status.get("currentStepIndex") == gate and status.get("pauseConditions")
        return status if paused else None

    wait_for("the manual gate", at_gate, timeout=300)
    time.sleep(15)  # longer than every shortened pause: the gate has no duration
    status = rollout(stack, namespace)["status"]
    assert status["currentStepIndex"] == gate and status["phase"] == "Paused"
    assert replica_counts(stack, namespace).get(canary) == 5

    plugin(stack, "promote", ROLLOUT, "-n", namespace)
    wait_for("the promoted release to be stable", lambda: healthy_on(stack, namespace, canary), timeout=120)
    assert replica_counts(stack, namespace).get(canary) == REPLICAS

    aborting = release(stack, overlay, 3, namespace, feed, HEALTHY)
    wait_for("the next canary's pods", lambda: replica_counts(stack, namespace).get(aborting, 0) >= 1)
    plugin(stack, "abort", ROLLOUT, "-n", namespace)
    wait_for_all_on_stable(stack, namespace, canary, aborting, "abort to return every replica to stable")
    status = rollout(stack, namespace)["status"]
    assert status["abort"] and status["stableRS"] == canary
