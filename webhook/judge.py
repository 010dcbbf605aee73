"""One judgement: read both arms from the metrics backend, run the checks, combine the verdict.

`judge()` is what the service, the `judge` command and the demo all call.
"""

import math
import re
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode

from kernel import contract
from kernel.contract import CheckName
from kernel.errors import AgentRolloutsError
from webhook.backends import MetricsBackend, PartialDataError, Series
from webhook.deadline import Deadline, answers_as_they_come, query_all
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
    bounds_needed,
    evaluate_check,
    reference_from_run,
)
from webhook.stats.counters import first_timestamp, stratified_increase
from webhook.stats.histograms import Cells, bucket_bound, cells_from_series, from_vector

REQUESTS = contract.REQUESTS_TOTAL
CONFIDENCE = f"{contract.CONFIDENCE}_bucket"
CONFIDENCE_SUM = f"{contract.CONFIDENCE}_sum"
DURATION = f"{contract.DURATION_SECONDS}_bucket"
COST = f"{contract.REQUEST_COST_USD}_bucket"
COST_SUM = f"{contract.REQUEST_COST_USD}_sum"
# The histogram checks: the ArmCounts field, the `_bucket` metric and the `_sum` metric they read.
HISTOGRAMS: dict[CheckName, tuple[str, str, str | None]] = {
    "confidence": ("confidence", CONFIDENCE, CONFIDENCE_SUM),
    "cost": ("cost", COST, COST_SUM),
    "latency": ("duration", DURATION, None),
}
# Every check's metrics, as its result lists their queries.
METRICS: dict[CheckName, tuple[str, ...]] = {
    "errors": (REQUESTS,),
    **{check: (buckets, sums) if sums else (buckets,) for check, (_, buckets, sums) in HISTOGRAMS.items()},
}
MEANS: tuple[CheckName, ...] = ("confidence", "cost")  # the checks that compare a mean
# Prometheus' default lookback: the sample just before `start` is inside the range read.
SLACK_SECONDS = 300
FUTURE_GRACE_SECONDS = 60
ARMS = ("canary", "baseline")
Key = TypeVar("Key", bound=Hashable)


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
    rounds: list[list[str]] = field(default_factory=list)  # the queries sent, round after round


def judge(request: JudgementRequest, backend: MetricsBackend, config: JudgeConfig | None = None) -> Judgement:
    """Judge the canary against the baseline; raises BackendUnavailable when Prometheus fails and
    JudgementTimedOut when the judgement outlasts `config.deadline_seconds`."""
    return evaluate(request, backend, config or JudgeConfig()).judgement


def evaluate(
    request: JudgementRequest,
    backend: MetricsBackend,
    config: JudgeConfig,
    now: float | None = None,
    every_bucket: bool = False,
) -> Evaluation:
    """Judge and keep the series read, for the report page (which asks for `every_bucket` to draw
    the distributions; its verdicts are the same)."""
    deadline = Deadline.after(config.deadline_seconds)
    now = time.time() if now is None else now
    end = request.end.timestamp() if request.end else float(math.floor(now))
    if end > now + FUTURE_GRACE_SECONDS:
        raise InputError("end", "end is in the future")
    selectors = {
        "canary": selector(request.agent, request.canary, request.namespace),
        "baseline": selector(request.agent, request.baseline, request.namespace),
    }
    rounds: list[list[str]] = []

    def read(queries: dict[Key, str]) -> dict[Key, list[Series]]:
        rounds.append(list(queries.values()))
        return query_all(backend, queries, end, deadline)

    histograms = [c for c in request.selected_checks() if c in HISTOGRAMS]
    try:
        if request.start:
            start = request.start.timestamp()
            if end - start > config.max_window_seconds:
                raise InputError("start", f"the window is longer than {config.max_window_seconds} s")
            run = Run(start, start, None, "start given by the request")
        else:
            found = _current_run(read, selectors["canary"], config)
            if found is None:
                return _missing(request, config, end, end, "canary", selectors["canary"])
            run = found
        # Round 2: both arms' requests as raw samples (the strata) and the baseline's reference
        # hour, summed by Prometheus.
        read_from = {
            "canary": min(run.cut, run.before_gap or run.cut) - SLACK_SECONDS,
            "baseline": run.cut - SLACK_SECONDS,
        }
        requests_read = {arm: _range(REQUESTS, selectors[arm], read_from[arm], end) for arm in ARMS}
        before = (run.cut - config.reference_seconds, run.cut)
        second = read(
            {
                **{(arm, REQUESTS): requests_read[arm] for arm in ARMS},
                **_reference_queries(histograms, selectors["baseline"], *before),
            }
        )
    except PartialDataError as exc:
        return _partial(request, config, end, str(exc))
    series = {key: found for key, found in second.items() if key[0] in ARMS}
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
    counted = {arm: _request_counts(series[(arm, REQUESTS)], edges) for arm in ARMS}
    before_run = _requests(second[("reference", REQUESTS)])
    reference = _reference(second, histograms) if before_run[0] >= config.reference_requests else None
    # Round 3: per pod, only the buckets the checks use (all of them for the report, or when the
    # thresholds come from the run itself); a fourth round reads every bucket of a check whose
    # canary turns out to have other buckets than the baseline.
    needed = {
        c: bounds_needed(c, reference, _tolerance(c, request)) if reference and not every_bucket else None
        for c in histograms
    }
    spelled = {c: _spellings(second[("reference", HISTOGRAMS[c][1])]) for c in histograms}
    levels = Levels(config.alpha_fail, config.alpha_pass, config.min_requests)
    strata = range(0, max(len(edges) - 1, 0))
    cells: dict[tuple[str, str], Cells] = {}
    outcomes: dict[CheckName, CheckOutcome] = {}

    def counts(arm: str) -> ArmCounts:
        found = {attr: c for (a, attr), c in cells.items() if a == arm}
        return ArmCounts(tuple(counted[arm][0]), tuple(counted[arm][1]), **found)

    def decide(check: CheckName, judged: range, reference: Reference) -> None:
        deadline.check(f"the {check} check")
        minutes = (edges[-1] - edges[judged.start]) / 60 if judged else 0.0
        context = Context(judged, _tolerance(check, request), levels, minutes)
        outcomes[check] = evaluate_check(check, counts("canary"), counts("baseline"), reference, context)

    shapes_read: dict[tuple[str, str], list[Series]] = {}
    cells_read = _cell_queries(histograms, selectors, read_from, end, needed, spelled)
    # The means' checks also need each arm's whole histogram over the strata judged.
    shaped = [c for c in MEANS if needed.get(c) is not None]
    third: dict[tuple[str, str], str] = {
        **cells_read,
        **{
            (arm, c): _summed(HISTOGRAMS[c][1], selectors[arm], edges[0], edges[-1])
            for c in shaped
            for arm in ARMS
        },
    }
    waiting = {c: {key for key in third if key[1] in (*METRICS[c], c)} for c in request.selected_checks()}
    differ: list[CheckName] = []

    def settle(check: CheckName) -> None:
        del waiting[check]
        if check in HISTOGRAMS:
            _count_cells(check, series, shapes_read, edges, cells)
            if _lacks(check, needed[check], cells):
                differ.append(check)
                return
        if reference is not None:
            decide(check, strata, reference)

    rounds.append(list(third.values()))
    try:
        # Each check is decided as soon as its answers are in, while the others are still coming.
        for key, answer in answers_as_they_come(backend, third, end, deadline):
            (series if key in cells_read else shapes_read)[key] = answer
            for check in [c for c, keys in waiting.items() if keys <= series.keys() | shapes_read.keys()]:
                settle(check)
        for check in list(waiting):  # those that read nothing in this round, if nothing was read
            settle(check)
        if differ:
            every = _cell_queries(differ, selectors, read_from, end, dict.fromkeys(differ), spelled)
            series.update(read(every))
            cells_read.update(every)
            for check in differ:
                _count_cells(check, series, {}, edges, cells)
                if reference is not None:
                    decide(check, strata, reference)
    except PartialDataError as exc:
        return _partial(request, config, end, str(exc))
    if reference is not None:
        ref_window: tuple[float | None, float | None] = before
        ref_note = (
            f"the baseline's {before_run[0]:.0f} requests in the {_duration(config.reference_seconds)} "
            "before the canary's run"
        )
    elif found_in_run := reference_from_run(counts("baseline"), before_run[0], config.reference_requests):
        reference, first_judged = found_in_run
        ref_window = (edges[0], edges[first_judged])
        strata = range(first_judged, strata.stop)
        ref_note = (
            f"the baseline had only {before_run[0]:.0f} requests before the canary's run, so its first "
            f"{reference.requests:.0f} requests in the run set the thresholds and are not judged"
        )
        for check in request.selected_checks():
            decide(check, strata, reference)
    else:
        running = before_run[0] + sum(counted["baseline"][0])
        note = (
            f"The baseline has {running:.0f} requests before and during the canary's run; its thresholds need "
            f"{config.reference_requests}: needs about {config.reference_requests - running:.0f} more baseline requests."
        )
        window = Window(start=start, end=end, reason=run.reason, stratum_seconds=step, reference_reason=note)
        judgement = _judgement(request, config, window, "inconclusive", 0, note, {})
        return Evaluation(request, start, end, judgement, series, {arm: counts(arm) for arm in ARMS}, rounds)
    window = Window(
        start=start,
        end=end,
        reason=run.reason,
        stratum_seconds=step,
        reference_start=ref_window[0],
        reference_end=ref_window[1],
        reference_reason=ref_note,
    )
    queries = {**{(arm, REQUESTS): requests_read[arm] for arm in ARMS}, **cells_read}
    checks: dict[str, CheckResult] = {
        c: _check_result(outcomes[c], levels, [q for (_, m), q in queries.items() if m in METRICS[c]])
        for c in request.selected_checks()
    }
    arms = {arm: counts(arm) for arm in ARMS}
    judgement = _combine(request, config, window, checks, arms, strata)
    return Evaluation(request, start, end, judgement, series, arms, rounds)


@dataclass(frozen=True)
class Run:
    """Where the canary's current continuous run begins, and why."""

    cut: float  # the run's samples are after this time
    start_hint: float
    before_gap: float | None  # the canary's last sample before the gap, if there was one
    reason: str


def _current_run(
    read: Callable[[dict[str, str]], dict[str, list[Series]]], canary: str, config: JudgeConfig
) -> Run | None:
    """The canary's current run: its samples after the last gap longer than `run_gap_seconds`.

    A retried hash (after an abort) or a rollback to a hash that ran earlier comes back on new
    pods after a gap; only the new run is judged.
    """
    step = config.start_step_seconds
    latest = f"max(timestamp({REQUESTS}{canary}))"
    answers = read({"history": f"{latest}[{config.lookback_seconds}s:{step}s]", "now": latest})
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


def _range(metric: str, arm: str, start: float, end: float, matchers: str = "") -> str:
    """Raw samples of one arm from `start` (the selector's closing brace takes extra matchers)."""
    return f"{metric}{arm[:-1]}{matchers}}}[{max(1, math.ceil(end - start))}s]"


def _summed(metric: str, arm: str, start: float, end: float, by: str = "le") -> str:
    """What one arm's counter gained over (start, end], summed by Prometheus (per value of `by`).

    A series new since `start` counts from zero, and one that restarted from its restart, as
    `webhook.stats.counters` counts raw samples.
    """
    at = f"{metric}{arm} @ {end:.3f}"
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (({at} - {metric}{arm} @ {start:.3f}) >= 0 or {at})"


def _reference_queries(
    histograms: Sequence[CheckName], baseline: str, start: float, end: float
) -> dict[tuple[str, str], str]:
    """The baseline's requests and histograms over (start, end], summed by Prometheus; the cost's
    `_sum` too, for the reference's mean cost."""
    queries = {("reference", REQUESTS): _summed(REQUESTS, baseline, start, end, "status")}
    for c in histograms:
        queries[("reference", HISTOGRAMS[c][1])] = _summed(HISTOGRAMS[c][1], baseline, start, end)
    if "cost" in histograms:
        queries[("reference", COST_SUM)] = _summed(COST_SUM, baseline, start, end, "")
    return queries


def _requests(vector: Sequence[Series]) -> tuple[float, float]:
    """(requests, failures) from an answer summed by status."""
    counts = {s.labels.get("status"): s.points[-1][1] for s in vector if s.points}
    return sum(counts.values()), counts.get("failure", 0.0)


def _reference(answers: Mapping[tuple[str, str], list[Series]], histograms: Sequence[CheckName]) -> Reference:
    requests, failures = _requests(answers[("reference", REQUESTS)])
    shaped = {
        HISTOGRAMS[c][0]: from_vector(
            answers[("reference", HISTOGRAMS[c][1])],
            answers.get(("reference", COST_SUM), []) if c == "cost" else (),
        )
        for c in histograms
    }
    return Reference(requests, failures, **shaped)


def _spellings(vector: Sequence[Series]) -> dict[float, set[str]]:
    """Each bound as the baseline spells its `le` label, and as other clients do ("1", "1.0")."""
    spelled: dict[float, set[str]] = {}
    for s in vector:
        bound = bucket_bound(s)
        if math.isfinite(bound):
            spelled[bound] = {s.labels["le"], repr(bound), f"{bound:g}"}
    return spelled


def _cell_queries(
    histograms: Sequence[CheckName],
    selectors: dict[str, str],
    read_from: dict[str, float],
    end: float,
    needed: dict[CheckName, tuple[float, ...] | None],
    spelled: dict[CheckName, dict[float, set[str]]],
) -> dict[tuple[str, str], str]:
    """The raw reads of each arm's histograms, only at the `le` values `needed` (all where None),
    and their `_sum`."""
    queries = {}
    for c in histograms:
        _, buckets, sums = HISTOGRAMS[c]
        bounds = needed[c]
        matchers = ""
        if bounds is not None:
            labels = sorted({"+Inf"}.union(*(spelled[c].get(b, {repr(b)}) for b in bounds)))
            # A regex in a PromQL string: each backslash of re.escape doubled.
            matchers = ',le=~"' + "|".join(re.escape(le).replace("\\", "\\\\") for le in labels) + '"'
        for arm in ARMS:
            queries[(arm, buckets)] = _range(buckets, selectors[arm], read_from[arm], end, matchers)
            if sums:
                queries[(arm, sums)] = _range(sums, selectors[arm], read_from[arm], end)
    return queries


def _request_counts(requests: Sequence[Series], edges: Sequence[float]) -> tuple[list[float], list[float]]:
    return (
        stratified_increase(requests, edges),
        stratified_increase([s for s in requests if s.labels.get("status") == "failure"], edges),
    )


def _count_cells(
    check: CheckName,
    series: dict[tuple[str, str], list[Series]],
    shapes: dict[tuple[str, str], list[Series]],
    edges: Sequence[float],
    cells: dict[tuple[str, str], Cells],
) -> None:
    """Both arms' per-pod, per-stratum cells of one histogram check, into `cells`."""
    attr, buckets, sums = HISTOGRAMS[check]
    for arm in ARMS:
        shape = from_vector(shapes[(arm, check)]) if (arm, check) in shapes else None
        sums_read = series.get((arm, sums), []) if sums else ()
        cells[(arm, attr)] = cells_from_series(series[(arm, buckets)], sums_read, edges, shape)


def _lacks(check: CheckName, needed: tuple[float, ...] | None, cells: dict[tuple[str, str], Cells]) -> bool:
    """Whether an arm's pods lack a bound the check was read for: they have other buckets."""
    attr = HISTOGRAMS[check][0]
    return needed is not None and any(not set(needed) <= set(cells[(arm, attr)].bounds) for arm in ARMS)


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
