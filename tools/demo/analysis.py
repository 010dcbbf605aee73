"""AnalysisRuns as Argo Rollouts runs them: the web and prometheus providers, limits, and phases.

Rules mirrored from Argo Rollouts v1.9.1 (`analysis/analysis.go`, `utils/analysis`,
`metricproviders/`): a metric without `interval` measures once; errors do not count towards
`count` and are retried after 10s; limits are assessed after every measurement (`assess`). The
first failed, errored or inconclusive metric terminates the run, whose phase is the worst of its
metrics.
"""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from tools.demo.conditions import Phase, measurement_phase
from tools.demo.plan import duration_seconds

ERROR_RETRY_SECONDS = 10.0  # Argo retries an errored measurement after a fixed 10s
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
_WORST_LAST = (Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.ERROR, Phase.FAILED)


@dataclass
class Measurement:
    phase: Phase
    value: Any
    message: str
    at: float = field(default_factory=time.time)


@dataclass
class MetricState:
    spec: dict[str, Any]
    due: float
    measurements: list[Measurement] = field(default_factory=list)
    phase: Phase | None = None

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def counted(self, phase: Phase) -> int:
        return sum(1 for m in self.measurements if m.phase == phase)

    def consecutive(self, phase: Phase) -> int:
        """How many of the latest measurements in a row had `phase`."""
        streak = 0
        for measurement in reversed(self.measurements):
            if measurement.phase != phase:
                break
            streak += 1
        return streak


def assess(state: MetricState) -> Phase | None:
    """The metric's phase after its latest measurement, or None while it keeps measuring.

    Follows `assessMetricStatus` of Argo Rollouts v1.9.1 line by line, including its quirks:
    a later limit overrides an earlier one (errors over inconclusive over failed), and reaching
    `count` with `consecutiveSuccessLimit` unmet is Inconclusive (Failed if failureLimit < 0).
    """
    spec = state.spec
    failure_limit = int(spec.get("failureLimit", 0))
    phase = None
    if failure_limit >= 0 and state.counted(Phase.FAILED) > failure_limit:
        phase = Phase.FAILED
    if state.counted(Phase.INCONCLUSIVE) > int(spec.get("inconclusiveLimit", 0)):
        phase = Phase.INCONCLUSIVE
    if state.consecutive(Phase.ERROR) > int(
        spec.get("consecutiveErrorLimit", DEFAULT_CONSECUTIVE_ERROR_LIMIT)
    ):
        phase = Phase.ERROR
    if phase is not None:
        return phase
    success_limit = int(spec.get("consecutiveSuccessLimit", 0))
    if success_limit > 0 and state.consecutive(Phase.SUCCESSFUL) >= success_limit:
        return Phase.SUCCESSFUL
    count = int(spec["count"]) if "count" in spec else (None if "interval" in spec else 1)
    if count is not None and len(state.measurements) - state.counted(Phase.ERROR) >= count:
        if success_limit > 0:
            return Phase.INCONCLUSIVE if failure_limit >= 0 else Phase.FAILED
        return Phase.SUCCESSFUL
    return None


def _json_path(data: Any, path: str) -> Any:
    """The subset of kubectl JSONPath the templates use: `{$}` and `{$.a.b}`."""
    inner = path.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise ValueError(f"jsonPath {path!r} is not of the form {{$...}}")
    inner = inner[1:-1].strip()
    if not inner.startswith("$"):
        raise ValueError(f"jsonPath {path!r} does not start at $")
    for key in filter(None, inner[1:].split(".")):
        if not isinstance(data, dict) or key not in data:
            raise ValueError(f"Could not find JSONPath in body: {path}")
        data = data[key]
    return data


def measure_web(spec: dict[str, Any], session: requests.Session) -> tuple[Any, str]:
    """One call of Argo's web provider; returns (result, message) or raises on an error."""
    if "body" in spec and "jsonBody" in spec:
        raise ValueError("use either body or jsonBody, not both")
    headers = {h["key"]: h["value"] for h in spec.get("headers") or []}
    timeout = float(spec.get("timeoutSeconds") or 10)
    response = session.request(
        spec.get("method", "GET"),
        spec["url"],
        headers=headers,
        json=spec.get("jsonBody"),
        data=spec.get("body"),
        timeout=timeout,
    )
    if not 200 <= response.status_code < 300:
        raise ValueError(f"received non 2xx response code: {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        # Argo v1.9 passes a non-JSON body without evaluating conditions (argo-rollouts#4535).
        return None, "non-JSON body: Argo v1.9 would count it as Successful"
    return _json_path(body, spec.get("jsonPath", "{$}")), ""


def measure_prometheus(spec: dict[str, Any], session: requests.Session) -> tuple[Any, str]:
    """One instant query of Argo's prometheus provider: a vector becomes a list of floats."""
    timeout = float(spec.get("timeout") or 30)
    response = session.get(
        spec["address"].rstrip("/") + "/api/v1/query", params={"query": spec["query"]}, timeout=timeout
    )
    payload = response.json()
    if payload.get("status") != "success":
        raise ValueError(f"prometheus: {payload.get('error', response.status_code)}")
    data = payload["data"]
    if data["resultType"] == "vector":
        return [float(sample["value"][1]) for sample in data["result"]], ""
    if data["resultType"] == "scalar":
        return float(data["result"][1]), ""
    raise ValueError(f"prometheus: unsupported result type {data['resultType']}")


PROVIDERS: dict[str, Callable[[dict[str, Any], requests.Session], tuple[Any, str]]] = {
    "web": measure_web,
    "prometheus": measure_prometheus,
}


def measure(metric: dict[str, Any], session: requests.Session) -> Measurement:
    """Take one measurement of a metric and judge it with the metric's conditions."""
    provider = metric.get("provider") or {}
    kinds = [k for k in provider if k in PROVIDERS]
    if len(kinds) != 1:
        return Measurement(Phase.ERROR, None, f"unsupported provider {sorted(provider)}")
    try:
        result, message = PROVIDERS[kinds[0]](provider[kinds[0]], session)
    except (requests.RequestException, ValueError, KeyError) as exc:
        return Measurement(Phase.ERROR, None, f"{type(exc).__name__}: {exc}")
    if message:
        return Measurement(Phase.SUCCESSFUL, result, message)
    phase = measurement_phase(result, metric.get("successCondition"), metric.get("failureCondition"))
    return Measurement(phase, result, "")


@dataclass
class RunResult:
    phase: Phase
    metrics: list[MetricState]

    def message(self) -> str:
        """The metric that decided the run, and why, in one line."""
        for state in self.metrics:
            if state.phase == self.phase and state.measurements:
                return f"{state.name} {self.phase}: {describe(state.measurements[-1])}"
        return str(self.phase)


def describe(measurement: Measurement) -> str:
    """A measurement in words: the judge's reason when there is one, else the raw result."""
    value = measurement.value
    if isinstance(value, dict) and "reason" in value:
        return f"{value.get('verdict', '?')}: {value['reason']}"
    return measurement.message or f"result {json.dumps(value)[:200]}"


OnMeasurement = Callable[[str, Measurement], None]


def run_analysis(
    metrics: list[dict[str, Any]],
    *,
    time_scale: float,
    stop: threading.Event,
    on_measurement: OnMeasurement,
    min_interval: float = 1.0,
) -> RunResult:
    """Run metrics on their intervals until each completes, one ends the run, or `stop` is set."""

    def scaled(seconds: float) -> float:
        return max(min_interval, seconds * time_scale) if seconds > 0 else 0.0

    start = time.monotonic()
    states = [MetricState(m, start + scaled(duration_seconds(m.get("initialDelay", 0)))) for m in metrics]
    session = requests.Session()
    while True:
        active = [s for s in states if s.phase is None]
        decisive = [s for s in states if s.phase in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE)]
        if not active or decisive or stop.is_set():
            for state in active:  # terminated: a metric with no verdict yet counts as Successful
                state.phase = Phase.SUCCESSFUL
            worst = max((s.phase or Phase.SUCCESSFUL for s in states), key=_WORST_LAST.index)
            return RunResult(worst, states)
        state = min(active, key=lambda s: s.due)
        if stop.wait(max(0.0, state.due - time.monotonic())):
            continue
        measurement = measure(state.spec, session)
        state.measurements.append(measurement)
        on_measurement(state.name, measurement)
        state.phase = assess(state)
        if measurement.phase == Phase.ERROR:
            state.due = time.monotonic() + scaled(ERROR_RETRY_SECONDS)
        else:
            state.due = time.monotonic() + scaled(duration_seconds(state.spec.get("interval", 0)))
