"""What a Rollout is doing, from its object and its AnalysisRuns: phase, step, weight, gates, the next step.

Pure functions of the API's objects (`describe`), plus `read_status`, which fetches them. Argo labels
each AnalysisRun with the pod-template hash it measures, its type (`Step`, `Background`) and, for a
step, its index; the last run per gate is the one that decided it.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kube.cluster import Cluster
from kube.errors import NotVerified

HEALTHY, PROGRESSING, PAUSED, DEGRADED = "Healthy", "Progressing", "Paused", "Degraded"
_DURATION_PART = re.compile(r"([0-9]+)(h|m|s)")
_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class MetricOutcome:
    """One metric of an AnalysisRun: its phase and its last measurement (the judge's verdict if it asked one)."""

    name: str
    phase: str
    verdict: str | None = None
    reason: str | None = None
    report_url: str | None = None


@dataclass(frozen=True)
class Gate:
    """The last AnalysisRun of one gate: a canary step's analysis, or the background analysis."""

    name: str  # `step 3` (1-based, as the step counter shows it) or `background`
    run: str
    phase: str
    metrics: list[MetricOutcome]

    @property
    def report_url(self) -> str | None:
        return next((m.report_url for m in self.metrics if m.report_url), None)


@dataclass(frozen=True)
class RolloutStatus:
    namespace: str
    name: str
    phase: str
    message: str
    aborted: bool
    step: int  # steps completed (currentStepIndex); equals `steps` when the rollout is done
    steps: int
    weight: int | None  # the canary's weight now; None when no canary is in flight
    stable_hash: str | None
    canary_hash: str | None  # None when the current pod template is the stable one
    stable_image: str | None
    canary_image: str | None
    desired_image: str | None  # what the Rollout's spec asks for (what Argo CD synced)
    gates: list[Gate] = field(default_factory=list)
    next_step: str = ""

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def parse_duration(value: object) -> float | None:
    """Seconds of an Argo pause duration (`90`, `"8s"`, `"1m30s"`); None when absent or malformed."""
    if isinstance(value, int):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return float(value)
    parts = _DURATION_PART.findall(value)
    if "".join(number + unit for number, unit in parts) != value:
        return None
    return float(sum(int(number) * _SECONDS[unit] for number, unit in parts))


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _metric(result: dict[str, Any]) -> MetricOutcome:
    measurements = result.get("measurements") or []
    last = measurements[-1] if measurements else {}
    value = str(last.get("value", ""))
    phase = str(result.get("phase", last.get("phase", "Pending")))
    if value.startswith("{"):
        try:
            judged = json.loads(value)
        except ValueError:
            judged = {}
        if isinstance(judged, dict) and "verdict" in judged:
            return MetricOutcome(
                result["name"], phase, str(judged["verdict"]), judged.get("reason"), judged.get("report_url")
            )
    reason = last.get("message") or result.get("message") or (f"measured {value}" if value else None)
    return MetricOutcome(result["name"], phase, reason=reason)


def gates(runs: list[dict[str, Any]], rollout: str) -> list[Gate]:
    """The last AnalysisRun of each gate among the runs of one pod-template hash, in step order."""
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for run in runs:
        metadata = run["metadata"]
        if not any(ref.get("name") == rollout for ref in metadata.get("ownerReferences", [])):
            continue
        labels = metadata.get("labels", {})
        kind = labels.get("rollout-type", "Step")
        index = int(labels["step-index"]) if labels.get("step-index", "").isdigit() else -1
        key = (index, kind)
        order = (metadata.get("creationTimestamp", ""), metadata["name"])
        if key not in latest or order > (
            latest[key]["metadata"].get("creationTimestamp", ""),
            latest[key]["metadata"]["name"],
        ):
            latest[key] = run
    found = []
    for (index, kind), run in sorted(latest.items()):
        name = f"step {index + 1}" if kind == "Step" and index >= 0 else kind.lower()
        status = run.get("status", {})
        metrics = [_metric(result) for result in status.get("metricResults", [])]
        found.append(Gate(name, run["metadata"]["name"], str(status.get("phase", "Pending")), metrics))
    return found


def _weight(steps: list[dict[str, Any]], index: int) -> int:
    weights = [step["setWeight"] for step in steps[: index + 1] if "setWeight" in step]
    return int(weights[-1]) if weights else 0


def _next_step(rollout: dict[str, Any], status: RolloutStatus, now: datetime) -> str:
    where = f"{status.name} -n {status.namespace}"
    failed = [g for g in status.gates if g.phase in ("Failed", "Error", "Inconclusive")]
    report = next((g.report_url for g in failed + status.gates[::-1] if g.report_url), None)
    look = f"; report: {report}" if report else ""
    if status.phase == DEGRADED or status.aborted:
        return (
            "the canary was aborted: read why"
            + (look or " in the AnalysisRuns")
            + f", then release a fixed build (or `kubectl argo rollouts retry rollout {where}`)"
        )
    if status.phase == HEALTHY:
        return "nothing to do: the stable runs the desired image"
    conditions = rollout.get("status", {}).get("pauseConditions") or []
    reasons = {c.get("reason") for c in conditions}
    steps = rollout["spec"].get("strategy", {}).get("canary", {}).get("steps") or []
    current = steps[status.step] if status.step < len(steps) else {}
    background = next((g for g in status.gates if g.name == "background"), None)
    if "InconclusiveAnalysisRun" in reasons and background and background.phase == "Failed":
        # Argo acts on the background run only once this pause is lifted (docs/judge.md).
        return (
            f"the background judge failed the canary while an inconclusive analysis held it paused"
            f"{'; report: ' + background.report_url if background.report_url else ''}: "
            f"`kubectl argo rollouts abort {where}`"
        )
    if "InconclusiveAnalysisRun" in reasons:
        return (
            f"an analysis was inconclusive{look}: `kubectl argo rollouts promote {where}` "
            f"or `kubectl argo rollouts abort {where}`"
        )
    if "CanaryPauseStep" in reasons:
        duration = parse_duration((current.get("pause") or {}).get("duration"))
        if duration is None:
            return f"manual gate: `kubectl argo rollouts promote {where}` to continue, or `abort`"
        started = next((c.get("startTime") for c in conditions if c.get("reason") == "CanaryPauseStep"), None)
        elapsed = (now - _timestamp(started)).total_seconds() if started else 0.0
        return f"wait {_minutes(max(0.0, duration - elapsed))}: step {status.step + 1}'s pause ends then"
    if status.phase == PAUSED:
        return f"paused by hand: `kubectl argo rollouts promote {where}` to continue"
    running = [g for g in status.gates if g.phase in ("Running", "Pending")]
    if running:
        return f"wait: {running[0].run} is measuring the canary" + (
            f"; report: {running[0].report_url}" if running[0].report_url else ""
        )
    return "wait: the canary's pods are becoming ready"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _first(images: list[str] | None) -> str | None:
    return images[0] if images else None


def describe(
    rollout: dict[str, Any],
    runs: list[dict[str, Any]],
    images: dict[str, list[str]],
    now: datetime | None = None,
) -> RolloutStatus:
    """The status of a Rollout object, its AnalysisRuns and its ReplicaSets' images (hash -> images)."""
    now = now or datetime.now(UTC)
    metadata, spec, state = rollout["metadata"], rollout["spec"], rollout.get("status", {})
    steps = spec.get("strategy", {}).get("canary", {}).get("steps") or []
    stable, current = state.get("stableRS"), state.get("currentPodHash")
    canary = current if current and current != stable else None
    index = int(state.get("currentStepIndex", len(steps)))
    aborted = bool(state.get("abort"))
    weight = (
        None if canary is None else 0 if aborted else (100 if index >= len(steps) else _weight(steps, index))
    )
    containers = spec.get("template", {}).get("spec", {}).get("containers") or [{}]
    status = RolloutStatus(
        namespace=metadata["namespace"],
        name=metadata["name"],
        phase=str(state.get("phase", PROGRESSING)),
        message=str(state.get("message", "")),
        aborted=aborted,
        step=index,
        steps=len(steps),
        weight=weight,
        stable_hash=stable,
        canary_hash=canary,
        stable_image=_first(images.get(stable or "")),
        canary_image=_first(images.get(canary or "")),
        desired_image=containers[0].get("image"),
        gates=gates(runs, metadata["name"]),
    )
    return RolloutStatus(**{**status.__dict__, "next_step": _next_step(rollout, status, now)})


def read_status(cluster: Cluster, namespace: str, name: str) -> RolloutStatus:
    """Fetch a Rollout, the AnalysisRuns of its current pod template and its ReplicaSets' images."""
    rollout = cluster.rollout(namespace, name)
    state = rollout.get("status", {})
    hashes = {state.get("stableRS"), state.get("currentPodHash")} - {None}
    images = {h: cluster.replica_set_images(namespace, f"{name}-{h}") for h in hashes}
    runs = cluster.analysis_runs(namespace, state["currentPodHash"]) if state.get("currentPodHash") else []
    return describe(rollout, runs, images)


def verify(status: RolloutStatus, digest: str) -> str:
    """Check that `digest` runs as the Healthy stable with every gate's last analysis Successful.

    Returns the evidence for the `Verified:` trailer; raises NotVerified naming what is missing.
    """
    where = f"Rollout {status.namespace}/{status.name}"
    if status.phase != HEALTHY or status.canary_hash:
        detail = f": {status.message}" if status.message else ""
        raise NotVerified(f"{where} is {status.phase}{' (aborted)' if status.aborted else ''}{detail}")
    if not status.stable_image or not status.stable_image.endswith(f"@{digest}"):
        raise NotVerified(f"{where} runs {status.stable_image or 'no image'} as stable, not {digest}")
    if not status.gates:
        raise NotVerified(
            f"{where}: no AnalysisRun measured stable {status.stable_hash}; nothing verified it"
        )
    unfinished = [gate for gate in status.gates if gate.phase != "Successful"]
    if unfinished:
        raise NotVerified(
            f"{where}: " + ", ".join(f"{g.name} AnalysisRun {g.run} is {g.phase}" for g in unfinished)
        )
    return f"{status.name} {status.phase} {','.join(gate.run for gate in status.gates)}"
