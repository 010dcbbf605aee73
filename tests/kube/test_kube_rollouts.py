"""Reading a Rollout's state from the API's objects: phase, step, weight, gates, next step, verification.

The objects are shaped as Argo Rollouts v1.9 writes them (labels on AnalysisRuns, pauseConditions);
tests/cluster/test_release_flow_e2e.py checks the same readings against the real controller.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kube.errors import NotVerified
from kube.rollouts import describe, parse_duration, verify

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
STEPS = [
    {"setWeight": 10},
    {"pause": {"duration": "5m"}},
    {"analysis": {"templates": [{"templateName": "agent-quality"}]}},
    {"setWeight": 25},
    {"pause": {}},
    {"setWeight": 100},
]
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"ghcr.io/agent-rollouts/code-analysis@{DIGEST}"


def rollout(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "code-analysis-agent", "namespace": "agents-prod", "generation": 3},
        "spec": {
            "strategy": {"canary": {"steps": STEPS}},
            "template": {"spec": {"containers": [{"name": "agent", "image": IMAGE}]}},
        },
        "status": {"stableRS": "stable1", "currentPodHash": "canary1", **status},
    }


def run(
    name: str, step: int | None, phase: str, verdict: str | None = None, created: str = "2025-01-01T11:50:00Z"
) -> dict[str, Any]:
    labels = {
        "rollouts-pod-template-hash": "canary1",
        "rollout-type": "Step" if step is not None else "Background",
    }
    if step is not None:
        labels["step-index"] = str(step)
    measurement: dict[str, Any] = {"phase": phase}
    if verdict:
        measurement["value"] = json.dumps(
            {
                "verdict": verdict,
                "reason": f"{verdict}: confidence",
                "report_url": f"https://judge/reports?run={name}",
            }
        )
    else:
        measurement["value"] = "[0.002]"
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": labels,
            "ownerReferences": [{"kind": "Rollout", "name": "code-analysis-agent"}],
        },
        "status": {
            "phase": phase,
            "metricResults": [{"name": "agent-quality", "phase": phase, "measurements": [measurement]}],
        },
    }


IMAGES = {"stable1": ["ghcr.io/agent-rollouts/code-analysis@sha256:" + "01" * 32], "canary1": [IMAGE]}


def test_a_timed_pause_says_how_long_to_wait() -> None:
    started = (NOW - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = describe(
        rollout(
            phase="Paused",
            currentStepIndex=1,
            pauseConditions=[{"reason": "CanaryPauseStep", "startTime": started}],
        ),
        [],
        IMAGES,
        NOW,
    )
    assert (status.phase, status.step, status.steps, status.weight) == ("Paused", 1, 6, 10)
    assert status.canary_hash == "canary1" and status.canary_image == IMAGE
    assert status.next_step == "wait 3 min: step 2's pause ends then"


def test_the_manual_gate_says_promote() -> None:
    status = describe(
        rollout(
            phase="Paused",
            currentStepIndex=4,
            pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2025-01-01T11:00:00Z"}],
        ),
        [run("r-2", 2, "Successful", "pass")],
        IMAGES,
        NOW,
    )
    assert status.weight == 25
    assert "kubectl argo rollouts promote code-analysis-agent -n agents-prod" in status.next_step


def test_an_inconclusive_analysis_links_its_report() -> None:
    status = describe(
        rollout(phase="Paused", currentStepIndex=2, pauseConditions=[{"reason": "InconclusiveAnalysisRun"}]),
        [run("r-2", 2, "Inconclusive", "inconclusive")],
        IMAGES,
        NOW,
    )
    assert "report: https://judge/reports?run=r-2" in status.next_step and "promote" in status.next_step


def test_a_background_fail_during_an_inconclusive_pause_says_to_abort() -> None:
    status = describe(
        rollout(phase="Paused", currentStepIndex=2, pauseConditions=[{"reason": "InconclusiveAnalysisRun"}]),
        [run("r-2", 2, "Inconclusive", "inconclusive"), run("r-bg", None, "Failed", "fail")],
        IMAGES,
        NOW,
    )
    assert status.next_step == (
        "the background judge failed the canary while an inconclusive analysis held it paused; "
        "report: https://judge/reports?run=r-bg: "
        "`kubectl argo rollouts abort code-analysis-agent -n agents-prod`"
    )


def test_an_aborted_canary_shows_the_failed_gate_and_its_verdict() -> None:
    runs = [
        run("r-old", 2, "Successful", "pass", created="2025-01-01T11:00:00Z"),
        run("r-new", 2, "Failed", "fail", created="2025-01-01T11:10:00Z"),
        run("r-bg", None, "Failed"),
    ]
    status = describe(
        rollout(phase="Degraded", abort=True, currentStepIndex=2, message="RolloutAborted: metric failed"),
        runs,
        IMAGES,
        NOW,
    )
    assert status.aborted and status.weight == 0
    assert [(g.name, g.run, g.phase) for g in status.gates] == [
        ("background", "r-bg", "Failed"),
        ("step 3", "r-new", "Failed"),
    ]
    judged = status.gates[1].metrics[0]
    assert (judged.verdict, judged.reason) == ("fail", "fail: confidence")
    assert status.gates[0].metrics[0].reason == "measured [0.002]"
    assert "aborted" in status.next_step and "r-new" in status.next_step
    with pytest.raises(NotVerified, match="is Degraded \\(aborted\\): RolloutAborted"):
        verify(status, DIGEST)


def test_runs_of_another_rollout_are_not_its_gates() -> None:
    foreign = run("other", 2, "Failed", "fail")
    foreign["metadata"]["ownerReferences"] = [{"kind": "Rollout", "name": "knowledge-qna-agent"}]
    assert describe(rollout(phase="Progressing", currentStepIndex=2), [foreign], IMAGES, NOW).gates == []


def promoted(runs: list[dict[str, Any]], image: str = IMAGE) -> Any:
    obj = rollout(phase="Healthy", currentStepIndex=6, stableRS="canary1")
    return describe(obj, runs, {"canary1": [image]}, NOW)


def test_verify_accepts_the_healthy_stable_with_successful_gates() -> None:
    status = promoted([run("r-2", 2, "Successful", "pass"), run("r-bg", None, "Successful")])
    assert status.canary_hash is None and status.weight is None
    assert verify(status, DIGEST) == "code-analysis-agent Healthy r-bg,r-2"


@pytest.mark.parametrize(
    ("runs", "image", "message"),
    [
        ([], IMAGE, "no AnalysisRun measured stable canary1"),
        ([run("r-2", 2, "Inconclusive", "inconclusive")], IMAGE, "step 3 AnalysisRun r-2 is Inconclusive"),
        (
            [run("r-2", 2, "Successful", "pass")],
            "ghcr.io/agent-rollouts/code-analysis@sha256:" + "02" * 32,
            "not " + DIGEST,
        ),
    ],
)
def test_verify_refuses_without_evidence(runs: list[dict[str, Any]], image: str, message: str) -> None:
    with pytest.raises(NotVerified, match=message):
        verify(promoted(runs, image), DIGEST)


def test_verify_refuses_a_canary_in_flight() -> None:
    status = describe(rollout(phase="Progressing", currentStepIndex=3), [], IMAGES, NOW)
    with pytest.raises(NotVerified, match="is Progressing"):
        verify(status, DIGEST)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("8s", 8.0), ("1m30s", 90.0), ("2h", 7200.0), ("", None), ("5x", None), ("1m 5s", None)],
)
def test_parse_duration(text: object, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_the_table_for_people_shows_the_row_its_gates_and_the_next_step() -> None:
    import io

    from agent_rollouts.commands.day_two import _print_table, _row
    from agent_rollouts.console import Console
    from gitops.images import parse_image

    status = describe(
        rollout(phase="Degraded", abort=True, currentStepIndex=2, message="RolloutAborted: metric failed"),
        [run("r-new", 2, "Failed", "fail")],
        IMAGES,
        NOW,
    )
    out = io.StringIO()
    _print_table([_row("prod", "code-analysis", parse_image(IMAGE), status, "")], Console(stdout=out))
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["ENV", "AGENT", "PINNED", "PHASE"]
    assert lines[1].split() == [
        "prod",
        "code-analysis",
        "abababababab",
        "Degraded*",
        "2/6",
        "0%",
        "stable1",
        "canary1",
    ]
    assert "step 3      r-new Failed" in lines[2] and "agent-quality: fail: fail: confidence" in lines[3]
    assert lines[-1].startswith("    next: the canary was aborted")
