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

import time
from typing import Any

import pytest
from cluster_support import (
    DEV,
    EXAMPLE,
    HEALTHY,
    PROD,
    REGRESSED,
    REPLICAS,
    ROLLOUT,
    Stack,
    Traffic,
    analysis_runs,
    current_weight,
    deploy_first,
    healthy_on,
    judge_verdicts,
    of_type,
    plugin,
    prod_like_overlay,
    release,
    replica_counts,
    rollout,
    wait_for,
    wait_for_all_on_stable,
)

FINAL_PHASES = ("Successful", "Failed", "Error", "Inconclusive")
# Building the first release and walking two canaries takes minutes, not the default 300 s.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


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

    def finished() -> list[dict[str, Any]] | None:
        # The background run is terminated a reconcile after the Rollout turns Healthy.
        found = analysis_runs(stack, namespace, canary)
        return (
            found if found and all(r.get("status", {}).get("phase") in FINAL_PHASES for r in found) else None
        )

    runs = wait_for("release 2's analysis runs to finish", finished)
    step_runs = of_type(runs, "Step")
    assert len(step_runs) == 3, [r["metadata"]["name"] for r in runs]
    # The background judge looked too, every interval, and never said `fail`.
    [background] = of_type(runs, "Background")
    assert judge_verdicts(background) and "fail" not in judge_verdicts(background)
    phases = {r["metadata"]["name"]: r["status"]["phase"] for r in runs}
    assert set(phases.values()) == {"Successful"}, phases
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
