"""One judgement: read both arms from the metrics backend, run the checks, combine the verdict.

`judge()` is what the service, the `judge` command and the demo all call.
"""

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

from kernel import contract
from kernel.contract import CheckName
from kernel.errors import AgentRolloutsError
from webhook.backends import MetricsBackend, PartialDataError, Series
from webhook.models import CheckResult, Judgement, JudgementRequest, Samples, Window
from webhook.stats.checks import (
    DEFAULT_TOLERANCES,
    ArmCounts,
    CheckOutcome,
    Levels,
    Verdict,
    evaluate_check,
)
from webhook.stats.counters import first_timestamp, sum_increase
from webhook.stats.histograms import Histogram, from_series

REQUESTS = contract.REQUESTS_TOTAL
CONFIDENCE = f"{contract.CONFIDENCE}_bucket"
CONFIDENCE_SUM = f"{contract.CONFIDENCE}_sum"
DURATION = f"{contract.DURATION_SECONDS}_bucket"
COST = f"{contract.REQUEST_COST_USD}_bucket"
COST_SUM = f"{contract.REQUEST_COST_USD}_sum"
METRICS: dict[CheckName, tuple[str, ...]] = {
    "confidence": (CONFIDENCE, CONFIDENCE_SUM),
    "cost": (COST, COST_SUM),
    "errors": (REQUESTS,),
    "latency": (DURATION,),
}
# Prometheus' default lookback: the sample just before `start` is inside the range read.
SLACK_SECONDS = 300
FUTURE_GRACE_SECONDS = 60
ARMS = ("canary", "baseline")

# Shared by all judgements so concurrent calls do not each start their own threads.
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="promql")


@dataclass(frozen=True)
class JudgeConfig:
    """Error levels and limits; the service builds one from its settings."""

    alpha_fail: float = 0.01  # bound on the chance of ever failing a canary that is not worse
    alpha_pass: float = 0.05  # bound on the chance of ever passing a canary worse than tolerance
    min_requests: int = 30
    lookback_seconds: int = 86_400  # how far back to look for the canary's first sample
    start_step_seconds: int = 15
    max_window_seconds: int = 7 * 86_400
    report_base_url: str = ""


class InputError(AgentRolloutsError, ValueError):
    """A request that parses but cannot be judged; names the field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def selector(agent: str, pod_hash: str, namespace: str | None) -> str:
    """The label matchers of one arm (values are validated to need no escaping)."""
    matchers = [f'{contract.AGENT_LABEL}="{agent}"', f'{contract.POD_TEMPLATE_HASH_LABEL}="{pod_hash}"']
    if namespace:
        matchers.append(f'namespace="{namespace}"')
    return "{" + ",".join(matchers) + "}"


@dataclass
class Evaluation:
    """A judgement with the raw series behind it, which the report page draws."""

    request: JudgementRequest
    start: float
    end: float
    judgement: Judgement
    series: dict[tuple[str, str], list[Series]] = field(default_factory=dict)
    arms: dict[str, ArmCounts] = field(default_factory=dict)


def judge(request: JudgementRequest, backend: MetricsBackend, config: JudgeConfig | None = None) -> Judgement:
    """Judge the canary against the baseline; raises BackendUnavailable when Prometheus fails."""
    return evaluate(request, backend, config or JudgeConfig()).judgement


def evaluate(
    request: JudgementRequest, backend: MetricsBackend, config: JudgeConfig, now: float | None = None
) -> Evaluation:
    """Judge and keep the series read, for the report page."""
    now = time.time() if now is None else now
    end = request.end.timestamp() if request.end else float(math.floor(now))
    if end > now + FUTURE_GRACE_SECONDS:
        raise InputError("end", "end is in the future")
    selectors = {
        "canary": selector(request.agent, request.canary, request.namespace),
        "baseline": selector(request.agent, request.baseline, request.namespace),
    }
    try:
        if request.start:
            start = request.start.timestamp()
            if end - start > config.max_window_seconds:
                raise InputError("start", f"the window is longer than {config.max_window_seconds} s")
            earliest = start
        else:
            found = _first_sample(backend, selectors["canary"], end, config)
            if found is None:
                return _missing(request, config, end, end, "canary", selectors["canary"])
            earliest = found
        metrics = sorted({m for check in request.selected_checks() for m in METRICS[check]} | {REQUESTS})
        width = max(1, math.ceil(end - earliest + SLACK_SECONDS))
        queries = {(arm, m): f"{m}{selectors[arm]}[{width}s]" for arm in ARMS for m in metrics}
        futures = {key: _POOL.submit(backend.query, promql, end) for key, promql in queries.items()}
        series = {key: future.result() for key, future in futures.items()}
    except PartialDataError as exc:
        return _partial(request, config, end, str(exc))
    if request.start is None:
        first = first_timestamp(series[("canary", REQUESTS)])
        # Count from just before the canary's first sample: its series start at zero.
        start = (first if first is not None else earliest) - 0.001
    for arm in ARMS:
        if not any(s.points for s in series[(arm, REQUESTS)]):
            return _missing(request, config, start, end, arm, selectors[arm])
    arms = {arm: _arm_counts(series, arm, start, end) for arm in ARMS}
    levels = _levels(request, config)
    outcomes = [
        evaluate_check(check, arms["canary"], arms["baseline"], _tolerance(check, request), levels)
        for check in request.selected_checks()
    ]
    checks: dict[str, CheckResult] = {
        o.name: _check_result(o, levels, [q for (_, m), q in queries.items() if m in METRICS[o.name]])
        for o in outcomes
    }
    judgement = _combine(request, config, start, end, checks, arms)
    return Evaluation(request, start, end, judgement, series, arms)


def _first_sample(backend: MetricsBackend, canary: str, end: float, config: JudgeConfig) -> float | None:
    # Subquery steps are aligned to multiples of the step, so a canary younger than one step is
    # only seen by the plain instant `timestamp(...)`.
    series = f"timestamp({REQUESTS}{canary})"
    promql = (
        f"min(min_over_time({series}[{config.lookback_seconds}s:{config.start_step_seconds}s]) or {series})"
    )
    values = [v for s in backend.query(promql, end) for _, v in s.points if math.isfinite(v)]
    # The subquery sees a sample up to one step late; read one step and the slack earlier.
    return min(values) - config.start_step_seconds if values else None


def _arm_counts(series: dict[tuple[str, str], list[Series]], arm: str, start: float, end: float) -> ArmCounts:
    requests = series[(arm, REQUESTS)]

    def histogram(metric: str, sums: str | None = None) -> Histogram | None:
        if (arm, metric) not in series:
            return None
        return from_series(series[(arm, metric)], start, end, series.get((arm, sums), []) if sums else ())

    return ArmCounts(
        requests=sum_increase(requests, start, end),
        failures=sum_increase([s for s in requests if s.labels.get("status") == "failure"], start, end),
        confidence=histogram(CONFIDENCE, CONFIDENCE_SUM),
        duration=histogram(DURATION),
        cost=histogram(COST, COST_SUM),
    )


def _tolerance(check: CheckName, request: JudgementRequest) -> float:
    override = getattr(request.tolerances, check, None) if request.tolerances else None
    return DEFAULT_TOLERANCES[check] if override is None else float(override)


def _levels(request: JudgementRequest, config: JudgeConfig) -> Levels:
    k = len(request.selected_checks())
    return Levels(config.alpha_fail / k, config.alpha_pass / k, config.min_requests)


def _check_result(outcome: CheckOutcome, levels: Levels, promql: Sequence[str]) -> CheckResult:
    return CheckResult(
        verdict=outcome.verdict,
        reason=outcome.reason,
        measure=outcome.measure,
        evidence=(
            "anytime-valid normal-mixture confidence sequence: fail when its lower bound exceeds the "
            f"tolerance (alpha {levels.alpha_fail:.4g}), pass when its upper bound is below it "
            f"(alpha {levels.alpha_pass:.4g}), alphas split evenly over the comparisons of the check"
        ),
        canary=outcome.canary,
        baseline=outcome.baseline,
        effect=outcome.effect,
        interval=(outcome.lower, outcome.upper),
        tolerance=outcome.tolerance,
        samples=Samples(canary=outcome.canary_samples, baseline=outcome.baseline_samples),
        promql=list(promql),
    )


def report_url(request: JudgementRequest, config: JudgeConfig, end: float) -> str:
    """The report page that re-runs this judgement at the same `end`."""
    params: dict[str, str] = {"agent": request.agent, "canary": request.canary, "baseline": request.baseline}
    if request.namespace:
        params["namespace"] = request.namespace
    if request.start:
        params["start"] = str(int(request.start.timestamp()))
    params["end"] = f"{end:.0f}"
    return f"{config.report_base_url.rstrip('/')}/reports?{urlencode(params)}"


def _combine(
    request: JudgementRequest,
    config: JudgeConfig,
    start: float,
    end: float,
    checks: dict[str, CheckResult],
    arms: dict[str, ArmCounts],
) -> Judgement:
    by_verdict = {
        v: [name for name, c in checks.items() if c.verdict == v] for v in ("pass", "fail", "inconclusive")
    }
    score = round(100 * (len(by_verdict["pass"]) + 0.5 * len(by_verdict["inconclusive"])) / len(checks))
    if by_verdict["fail"]:
        first = by_verdict["fail"][0]
        verdict: Verdict = "fail"
        reason = (
            f"Canary is worse than the tolerance on {', '.join(by_verdict['fail'])}: {checks[first].reason}."
        )
    elif by_verdict["inconclusive"]:
        first = by_verdict["inconclusive"][0]
        verdict = "inconclusive"
        reason = (
            f"Not enough evidence yet on {', '.join(by_verdict['inconclusive'])} "
            f"({checks[first].reason}); ask again later."
        )
    else:
        verdict = "pass"
        reason = (
            f"The canary is within tolerance on {', '.join(by_verdict['pass'])} after "
            f"{arms['canary'].requests:.0f} canary and {arms['baseline'].requests:.0f} baseline requests."
        )
    return _judgement(request, config, start, end, verdict, score, reason, checks)


def _judgement(
    request: JudgementRequest,
    config: JudgeConfig,
    start: float,
    end: float,
    verdict: Verdict,
    score: int,
    reason: str,
    checks: dict[str, CheckResult],
) -> Judgement:
    return Judgement(
        verdict=verdict,
        score=score,
        reason=reason,
        checks=checks,
        report_url=report_url(request, config, end),
        agent=request.agent,
        canary=request.canary,
        baseline=request.baseline,
        namespace=request.namespace,
        window=Window(start=start, end=end),
    )


def _inconclusive(
    request: JudgementRequest, config: JudgeConfig, start: float, end: float, reason: str
) -> Evaluation:
    judgement = _judgement(request, config, start, end, "inconclusive", 0, reason, {})
    return Evaluation(request, start, end, judgement)


def _missing(
    request: JudgementRequest, config: JudgeConfig, start: float, end: float, arm: str, arm_selector: str
) -> Evaluation:
    return _inconclusive(
        request,
        config,
        start,
        end,
        f"No {REQUESTS}{arm_selector} samples in Prometheus: the {arm} has not been scraped yet "
        "or the agent, hash or namespace is wrong.",
    )


def _partial(request: JudgementRequest, config: JudgeConfig, end: float, detail: str) -> Evaluation:
    return _inconclusive(
        request, config, end, end, f"Prometheus returned partial data, so no verdict: {detail}."
    )
