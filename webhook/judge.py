"""One judgement: read both arms from the metrics backend, run the checks, combine the verdict.

`judge()` is what the service, the `judge` command and the demo all call.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from kernel import contract
from kernel.contract import CheckName
from kernel.errors import AgentRolloutsError
from webhook.backends import MetricsBackend, PartialDataError, Series
from webhook.deadline import Deadline, query_all
from webhook.models import CheckResult, Judgement, JudgementRequest, Samples, Window
from webhook.stats.checks import (
    CHECK_WEIGHT,
    DEFAULT_TOLERANCES,
    ArmCounts,
    CheckOutcome,
    Context,
    Levels,
    Reference,
    Verdict,
    evaluate_check,
    reference_from_run,
)
from webhook.stats.counters import first_timestamp, stratified_increase, sum_increase
from webhook.stats.histograms import Cells, Histogram, cells_from_series, from_series

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


@dataclass(frozen=True)
class JudgeConfig:
    """Error levels and limits; the service builds one from its settings."""

    # Bound on the chance that any look of a whole rollout ever fails a canary that is not worse
    # (docs/judge.md: 0.0099 here and at most 0.0001 for the background safety nets make 1 %).
    alpha_fail: float = 0.0099
    alpha_pass: float = 0.05  # bound on the chance of ever passing a canary worse than tolerance
    min_requests: int = 30
    lookback_seconds: int = 86_400  # how far back to look for the canary's current run
    start_step_seconds: int = 15
    # A canary silent for longer than this (8 scrapes at 15 s) left; what follows is a new run.
    run_gap_seconds: int = 120
    reference_seconds: int = 3600  # the baseline's data before the run that sets its thresholds
    reference_requests: int = 100
    max_window_seconds: int = 7 * 86_400
    report_base_url: str = ""
    # Every query and the decision, inside Argo's 10 s web-provider timeout with 2 s to spare.
    deadline_seconds: float = 8.0


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
    """Judge the canary against the baseline; raises BackendUnavailable when Prometheus fails and
    JudgementTimedOut when the judgement outlasts `config.deadline_seconds`."""
    return evaluate(request, backend, config or JudgeConfig()).judgement


def evaluate(
    request: JudgementRequest, backend: MetricsBackend, config: JudgeConfig, now: float | None = None
) -> Evaluation:
    """Judge and keep the series read, for the report page."""
    deadline = Deadline.after(config.deadline_seconds)
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
            run = Run(start, start, None, "start given by the request")
        else:
            found = _current_run(backend, selectors["canary"], end, config, deadline)
            if found is None:
                return _missing(request, config, end, end, "canary", selectors["canary"])
            run = found
        metrics = sorted({m for check in request.selected_checks() for m in METRICS[check]} | {REQUESTS})
        read_from = {
            "canary": min(run.cut, run.before_gap or run.cut) - SLACK_SECONDS,
            "baseline": run.cut - config.reference_seconds - SLACK_SECONDS,
        }
        queries = {
            (arm, m): f"{m}{selectors[arm]}[{max(1, math.ceil(end - read_from[arm]))}s]"
            for arm in ARMS
            for m in metrics
        }
        series = query_all(backend, queries, end, deadline)
    except PartialDataError as exc:
        return _partial(request, config, end, str(exc))
    if request.start is None:
        first = first_timestamp(
            [
                Series(s.labels, tuple(p for p in s.points if p[0] > run.cut))
                for s in series[("canary", REQUESTS)]
            ]
        )
        # Count from just before the canary's first sample of this run: its new series start at zero.
        start = (first if first is not None else run.cut) - 0.001
    for arm in ARMS:
        if not any(p[0] > start - SLACK_SECONDS for s in series[(arm, REQUESTS)] for p in s.points):
            return _missing(request, config, start, end, arm, selectors[arm])
    deadline.check("counting the requests")
    step = _scrape_interval(series[("baseline", REQUESTS)] + series[("canary", REQUESTS)])
    edges = [start + k * step for k in range(int((end - start) // step) + 1)]
    arms = {arm: _arm_counts(series, arm, edges) for arm in ARMS}
    reference, strata, ref_window, ref_note = _reference(series, arms["baseline"], start, edges, config)
    window = Window(
        start=start,
        end=end,
        reason=run.reason,
        stratum_seconds=step,
        reference_start=ref_window[0],
        reference_end=ref_window[1],
        reference_reason=ref_note,
    )
    if reference is None:
        judgement = _judgement(request, config, window, "inconclusive", 0, ref_note, {})
        return Evaluation(request, start, end, judgement, series, arms)
    levels = Levels(config.alpha_fail, config.alpha_pass, config.min_requests)
    minutes = (edges[-1] - edges[strata.start]) / 60 if strata else 0.0
    outcomes = []
    for check in request.selected_checks():
        deadline.check(f"the {check} check")
        context = Context(strata, _tolerance(check, request), levels, minutes)
        outcomes.append(evaluate_check(check, arms["canary"], arms["baseline"], reference, context))
    checks: dict[str, CheckResult] = {
        o.name: _check_result(o, levels, [q for (_, m), q in queries.items() if m in METRICS[o.name]])
        for o in outcomes
    }
    judgement = _combine(request, config, window, checks, arms, strata)
    return Evaluation(request, start, end, judgement, series, arms)


@dataclass(frozen=True)
class Run:
    """Where the canary's current continuous run begins, and why."""

    cut: float  # the run's samples are after this time
    start_hint: float
    before_gap: float | None  # the canary's last sample before the gap, if there was one
    reason: str


def _current_run(
    backend: MetricsBackend, canary: str, end: float, config: JudgeConfig, deadline: Deadline
) -> Run | None:
    """The canary's current run: its samples after the last gap longer than `run_gap_seconds`.

    A retried hash (after an abort) or a rollback to a hash that ran earlier comes back on new
    pods after a gap; only the new run is judged.
    """
    step = config.start_step_seconds
    latest = f"max(timestamp({REQUESTS}{canary}))"
    answers = query_all(
        backend, {"history": f"{latest}[{config.lookback_seconds}s:{step}s]", "now": latest}, end, deadline
    )
    points = sorted(
        {(t, v) for found in answers.values() for s in found for t, v in s.points if math.isfinite(v)}
    )
    if not points:
        return None
    # At least four scrape intervals, for Prometheus set to scrape less often than every 30 s.
    samples = sorted({last for _, last in points})
    spacings = sorted(b - a for a, b in zip(samples, samples[1:], strict=False))
    gap = max(config.run_gap_seconds, 4 * spacings[len(spacings) // 2] if spacings else 0.0)
    for i in range(len(points) - 1, -1, -1):
        t, last = points[i]
        if t - last > gap:  # at step t the canary had been silent for longer than a gap
            return Run(t, t, last, _after_gap(t - last, last))
        if i > 0:
            previous_t, previous_last = points[i - 1]
            if t - previous_t > 1.5 * step and t - step - previous_last > gap:  # absent in between
                return Run(t - step, t, previous_last, _after_gap(t - step - previous_last, previous_last))
    first = points[0][0] - step
    return Run(
        first, first, None, f"the canary's first sample in the last {_duration(config.lookback_seconds)}"
    )


def _after_gap(length: float, last: float) -> str:
    return (
        f"the canary's current run: its first sample after a {_duration(length)} gap in its scrapes "
        f"(an earlier run of this hash, last scraped at {_iso(last)}, is not judged)"
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scrape_interval(series: Sequence[Series]) -> float:
    """The median spacing of samples within a series: the scrape interval, one stratum."""
    gaps = sorted(b[0] - a[0] for s in series for a, b in zip(s.points, s.points[1:], strict=False))
    return max(1.0, round(gaps[len(gaps) // 2])) if gaps else float(SLACK_SECONDS)


def _arm_counts(series: dict[tuple[str, str], list[Series]], arm: str, edges: Sequence[float]) -> ArmCounts:
    requests = series[(arm, REQUESTS)]

    def cells(metric: str, sums: str | None = None) -> Cells | None:
        if (arm, metric) not in series:
            return None
        return cells_from_series(series[(arm, metric)], series.get((arm, sums), []) if sums else (), edges)

    return ArmCounts(
        requests=tuple(stratified_increase(requests, edges)),
        failures=tuple(
            stratified_increase([s for s in requests if s.labels.get("status") == "failure"], edges)
        ),
        confidence=cells(CONFIDENCE, CONFIDENCE_SUM),
        duration=cells(DURATION),
        cost=cells(COST, COST_SUM),
    )


def _reference(
    series: dict[tuple[str, str], list[Series]],
    baseline: ArmCounts,
    start: float,
    edges: Sequence[float],
    config: JudgeConfig,
) -> tuple[Reference | None, range, tuple[float | None, float | None], str]:
    """The baseline's reference: the hour before the canary's run, else the run's first strata.

    Taken before the canary's run, it is the same at every look; taken from the run's first
    strata (a stable younger than the canary's run), those strata are left out of the checks.
    """
    strata = range(0, max(len(edges) - 1, 0))
    ref_start = start - config.reference_seconds
    requests = sum_increase(series[("baseline", REQUESTS)], ref_start, start)
    if requests >= config.reference_requests:

        def histogram(metric: str, sums: str | None = None) -> Histogram | None:
            if ("baseline", metric) not in series:
                return None
            return from_series(
                series[("baseline", metric)],
                ref_start,
                start,
                series.get(("baseline", sums), []) if sums else (),
            )

        failures = sum_increase(
            [s for s in series[("baseline", REQUESTS)] if s.labels.get("status") == "failure"],
            ref_start,
            start,
        )
        reference = Reference(
            requests,
            failures,
            histogram(CONFIDENCE, CONFIDENCE_SUM),
            histogram(DURATION),
            histogram(COST, COST_SUM),
        )
        note = f"the baseline's {requests:.0f} requests in the {_duration(config.reference_seconds)} before the canary's run"
        return reference, strata, (ref_start, start), note
    found = reference_from_run(baseline, requests, config.reference_requests)
    if found is not None:
        reference, first = found
        note = (
            f"the baseline had only {requests:.0f} requests before the canary's run, so its first "
            f"{reference.requests:.0f} requests in the run set the thresholds and are not judged"
        )
        return reference, range(first, strata.stop), (edges[0], edges[first]), note
    running = requests + sum(baseline.requests)
    note = (
        f"The baseline has {running:.0f} requests before and during the canary's run; its thresholds need "
        f"{config.reference_requests}: needs about {config.reference_requests - running:.0f} more baseline requests."
    )
    return None, range(0), (None, None), note


def _tolerance(check: CheckName, request: JudgementRequest) -> float:
    override = getattr(request.tolerances, check, None) if request.tolerances else None
    return DEFAULT_TOLERANCES[check] if override is None else float(override)


def _check_result(outcome: CheckOutcome, levels: Levels, promql: Sequence[str]) -> CheckResult:
    return CheckResult(
        verdict=outcome.verdict,
        reason=outcome.reason,
        measure=outcome.measure,
        evidence=(
            "one-sided e-processes, stratified by scrape interval (exact rate-ratio likelihood ratios "
            "for shares, normal mixtures for means): fail when one reaches 1/alpha with alpha "
            f"{levels.alpha_fail * CHECK_WEIGHT:.4g} for the check, split over its comparisons; pass when "
            f"every comparison's pass e-process reaches 1/{levels.alpha_pass:.4g}"
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
    window: Window,
    checks: dict[str, CheckResult],
    arms: dict[str, ArmCounts],
    strata: range,
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
        requests = {arm: sum(arms[arm].requests[k] for k in strata) for arm in ARMS}
        reason = (
            f"The canary is within tolerance on {', '.join(by_verdict['pass'])} after "
            f"{requests['canary']:.0f} canary and {requests['baseline']:.0f} baseline requests."
        )
    return _judgement(request, config, window, verdict, score, reason, checks)


def _judgement(
    request: JudgementRequest,
    config: JudgeConfig,
    window: Window,
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
        report_url=report_url(request, config, window.end),
        agent=request.agent,
        canary=request.canary,
        baseline=request.baseline,
        namespace=request.namespace,
        window=window,
    )


def _inconclusive(
    request: JudgementRequest, config: JudgeConfig, start: float, end: float, reason: str
) -> Evaluation:
    window = Window(start=start, end=end, reason="no window could be judged")
    judgement = _judgement(request, config, window, "inconclusive", 0, reason, {})
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
