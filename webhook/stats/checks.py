"""The four checks as one-sided non-inferiority decisions on e-processes.

Every check is one or more comparisons of an effect (canary against baseline, oriented so that
larger is worse) with a tolerance. A comparison *fails* when its fail e-process reaches
1/alpha_i and *passes* when its pass e-process reaches 1/alpha_pass. A check fails when any of its
comparisons fails and passes only when all of them pass (an intersection-union test, so the pass
side needs no split of alpha_pass). The fail side is a union, so alpha_fail is split: each check
owns a fixed quarter of it, whichever checks a call asks for, shared evenly by its comparisons;
every call of a rollout then spends the same budget (docs/judge.md, "The rollout's budget").

The strata are scrape intervals: a comparison only ever sets canary against baseline requests
of the same interval. The baseline's thresholds (the p95 latency bound, the confidence levels,
the reference rates behind each tolerance) come from the `Reference`, the baseline's data from
before the canary's run, so they do not move from look to look.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from kernel.contract import CHECK_NAMES, CheckName
from webhook.stats.histograms import Cells, Histogram, PodCell, bucket_variance, midpoint_mean, winsorised_sum
from webhook.stats.sequential import MeanDifference, RateExcess, RateRatio, ShareDifference, Stratum

Verdict = Literal["pass", "fail", "inconclusive"]
CHECKS = CHECK_NAMES
DEFAULT_TOLERANCES: dict[CheckName, float] = {
    # Mean confidence may drop by 0.05, and each low-confidence share may rise by 5 points.
    "confidence": 0.05,
    "cost": 0.10,  # mean cost per request may rise by 10 %
    "errors": 0.01,  # failure rate may rise by 1 point
    "latency": 0.05,  # share of requests slower than the baseline's p95 bucket may rise by 5 points
}
# Server-side ceilings: at these a canary twice as bad as any plausible stable still fails
# (failing 25 points more often, answering 0.25 less confidently, slow 50 points more often,
# costing 3x); beyond them a tolerance would let any canary through.
MAX_TOLERANCES: dict[CheckName, float] = {"confidence": 0.25, "cost": 2.0, "errors": 0.25, "latency": 0.5}
CONFIDENCE_LEVELS = (0.3, 0.5, 0.7, 0.9)
# Shares are compared only in the baseline's lower half: higher up, a share is a poorly powered
# stand-in for the mean, which is compared directly.
LOW_TAIL_SHARE = 0.5
# A level missing from one build's buckets is replaced by the nearest common bound this close.
LEVEL_SLACK = 0.1
TAIL_QUANTILE = 0.95
# Requests costing more than the last common cost bucket may rise by one point: the winsorised
# mean already counts each of them at that bound, this catches how far beyond it they go.
COST_BEYOND_TOLERANCE = 0.01
MIN_COST_USD = 1e-9  # keeps the relative cost tolerance positive for agents that spend nothing
VARIANCE_PRIOR_CELLS = 20  # how many per-scrape cells the buckets' variance estimate is worth
# A count whose tolerance is over this many times the baseline's reference rate fails on the
# difference (RateExcess), not on a rate ratio: the baseline sees too few events for a ratio.
EXCESS_ABOVE_RATIO = 20.0
CHECK_WEIGHT = 1 / len(CHECKS)  # each check's share of alpha_fail, whichever checks are asked for


@dataclass(frozen=True)
class ArmCounts:
    """What one arm (a pod-template hash) did in each stratum of the window."""

    requests: tuple[float, ...] = ()
    failures: tuple[float, ...] = ()
    confidence: Cells | None = None
    duration: Cells | None = None
    cost: Cells | None = None

    def histogram(self, name: str, strata: range | None = None) -> Histogram | None:
        cells: Cells | None = getattr(self, name)
        return cells.histogram(strata) if cells else None


@dataclass(frozen=True)
class Reference:
    """The baseline before the canary's run: where its thresholds and reference rates come from."""

    requests: float
    failures: float
    confidence: Histogram | None = None
    duration: Histogram | None = None
    cost: Histogram | None = None


def reference_from_run(baseline: ArmCounts, before: float, needed: int) -> tuple[Reference, int] | None:
    """The baseline's first strata of the run as its reference, for a stable with fewer than
    `needed` requests (`before` of them) before the run; also the first stratum left to judge."""
    running = before
    for k, count in enumerate(baseline.requests):
        running += count
        if running >= needed:
            taken = range(k + 1)
            reference = Reference(
                running,
                sum(baseline.failures[i] for i in taken),
                baseline.histogram("confidence", taken),
                baseline.histogram("duration", taken),
                baseline.histogram("cost", taken),
            )
            return reference, k + 1
    return None


@dataclass(frozen=True)
class Levels:
    alpha_fail: float  # the whole judgement's (and rollout's) fail budget
    alpha_pass: float
    min_requests: int


@dataclass(frozen=True)
class CheckOutcome:
    name: CheckName
    verdict: Verdict
    reason: str
    measure: str
    tolerance: float
    canary_samples: int
    baseline_samples: int
    canary: float | None = None
    baseline: float | None = None
    effect: float | None = None
    lower: float | None = None
    upper: float | None = None


def _share(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return f"{100 * x:+.1f} points"


def _rel(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _usd(x: float) -> str:
    return f"${x:.5f}"


def _level(x: float) -> str:
    return f"{x:.3f}"


def _signed(x: float) -> str:
    return f"{x:+.3f}"


@dataclass(frozen=True)
class Comparison:
    """One effect and the e-processes that decide it.

    A count has a RateRatio (fail side, `null` the rate ratio at the tolerance, `reference` the
    baseline's reference rate: effect = reference * (ratio - 1)) and a ShareDifference (pass side,
    on the difference itself). A mean has a MeanDifference for both sides, `null` the tolerance on
    its scale and effect = difference / `reference`.
    """

    description: str
    canary: float
    baseline: float
    test: RateRatio | RateExcess | MeanDifference
    null: float
    reference: float
    tolerance: float  # in the reported effect's units
    passing: ShareDifference | None = None
    show_value: Callable[[float], str] = field(default=_share)
    show_effect: Callable[[float], str] = field(default=_pp)

    @property
    def _tau(self) -> float:
        return max(self.null, 1e-12)

    def log_e(self, side: str) -> float:
        if isinstance(self.test, MeanDifference):
            return self.test.log_e(self.null, side, self._tau)
        if side == "fail":
            return self.test.log_e(self.tolerance if isinstance(self.test, RateExcess) else self.null)
        assert self.passing is not None
        return self.passing.log_e(self.tolerance)

    def effect(self) -> float:
        if isinstance(self.test, MeanDifference):
            return self.test.d / self.reference
        return self.canary - self.baseline

    def bound(self, side: str, threshold: float) -> float:
        if isinstance(self.test, MeanDifference):
            return self.test.bound(side, self._tau, threshold) / self.reference
        if isinstance(self.test, RateExcess) and side == "fail":
            return self.test.lower_bound(threshold)
        if side == "fail":
            return self.reference * (self.test.lower_bound(threshold) - 1)
        assert self.passing is not None
        return self.passing.bound(threshold)

    def scale_needed(self, threshold: float) -> float | None:
        if isinstance(self.test, MeanDifference):
            return self.test.scale_needed(self.null, "pass", self._tau, threshold)
        assert self.passing is not None
        return self.passing.scale_needed(self.tolerance, threshold)


class Mismatch(Exception):
    """The builds' buckets have no common bound the comparison needs; names what is missing."""


@dataclass(frozen=True)
class Unmatched:
    """A comparison the buckets cannot make: it never passes, never fails, and says why."""

    reason: str


MEASURES: dict[CheckName, str] = {
    "confidence": (
        "drop in mean confidence, and rise in the share of requests at or below each confidence level "
        f"{CONFIDENCE_LEVELS} where the baseline had at most {LOW_TAIL_SHARE:.0%} of its requests"
    ),
    "cost": (
        "relative change in mean LLM cost per request, winsorised at the last common bucket bound, "
        "and the change in the share of requests beyond it"
    ),
    "errors": "difference in failure rate (failed / all requests)",
    "latency": f"difference in the share of requests slower than the baseline's p{TAIL_QUANTILE * 100:.0f} bucket",
}


@dataclass(frozen=True)
class Context:
    """Everything a check needs besides its own arm data."""

    strata: range  # the strata judged (the reference strata, if taken from the run, excluded)
    tolerance: float
    levels: Levels
    minutes: float  # the judged window's length, for "about M minutes at the current rate"


def evaluate_check(
    name: CheckName, canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context
) -> CheckOutcome:
    """Decide one check for the canary against the baseline."""
    n_canary, n_base = _samples(name, canary, context.strata), _samples(name, baseline, context.strata)
    base = {
        "name": name,
        "measure": MEASURES[name],
        "tolerance": context.tolerance,
        "canary_samples": int(n_canary),
        "baseline_samples": int(n_base),
    }
    levels = context.levels
    rate = n_canary / context.minutes if context.minutes > 0 else 0.0
    planned = _planned(name, canary, baseline, reference, context, n_canary, n_base)
    if isinstance(planned, str):
        if n_canary < levels.min_requests:  # too little canary traffic: say how much more
            planned += f"; {_more(levels.min_requests - n_canary, rate)}"
        return CheckOutcome(verdict="inconclusive", reason=planned, **base)  # type: ignore[arg-type]
    verdict, binding = decide(planned, levels)
    if isinstance(binding, Unmatched):
        return CheckOutcome(verdict=verdict, reason=binding.reason, **base)  # type: ignore[arg-type]
    comparison = binding
    fail_threshold, pass_threshold = thresholds(len(planned), levels)
    effect = comparison.effect()
    lower = comparison.bound("fail", fail_threshold)
    upper = comparison.bound("pass", pass_threshold)
    fmt, show = comparison.show_effect, comparison.show_value
    where = (
        f"{comparison.description}: canary {show(comparison.canary)}, baseline {show(comparison.baseline)}"
    )
    tolerance = comparison.tolerance
    if verdict == "fail":
        reason = f"{where}; worse by at least {fmt(lower)}, beyond the tolerance of {fmt(tolerance)}"
    elif verdict == "pass":
        reason = f"{where}; worse by at most {fmt(upper)}, within the tolerance of {fmt(tolerance)}"
    else:
        scale = comparison.scale_needed(pass_threshold)
        if scale is None:
            when = "passing needs the canary's estimate to move below the tolerance"
        else:
            when = _more(max(1.0, (scale - 1) * n_canary), rate)
        wider = f", or a tolerance of {fmt(upper)}" if math.isfinite(upper) else ""
        reason = (
            f"{where}; change {fmt(effect)} (between {fmt(lower)} and {fmt(upper)}) may still exceed "
            f"the tolerance of {fmt(tolerance)}: {when}{wider}"
        )
    return CheckOutcome(
        verdict=verdict,
        reason=reason,
        canary=_finite(comparison.canary),
        baseline=_finite(comparison.baseline),
        effect=_finite(effect),
        lower=_finite(lower),
        upper=_finite(upper),
        **base,  # type: ignore[arg-type]
    )


def check_verdict(
    name: CheckName, canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context
) -> Verdict:
    """The verdict of `evaluate_check` without its reason (whose bounds cost most of the time):
    for benchmarks that replay thousands of looks."""
    planned = _planned(
        name,
        canary,
        baseline,
        reference,
        context,
        _samples(name, canary, context.strata),
        _samples(name, baseline, context.strata),
    )
    return "inconclusive" if isinstance(planned, str) else decide(planned, context.levels)[0]


def _planned(
    name: CheckName,
    canary: ArmCounts,
    baseline: ArmCounts,
    reference: Reference,
    context: Context,
    n_canary: float,
    n_base: float,
) -> Sequence[Comparison | Unmatched] | str:
    """The check's comparisons, or why there are none (too little traffic, a bucket mismatch)."""
    needed = context.levels.min_requests
    if n_canary < needed or n_base < needed:
        short, have = ("canary", n_canary) if n_canary < needed else ("baseline", n_base)
        return f"too little traffic: the {short} has {int(have)} requests, {needed} needed"
    try:
        return COMPARISONS[name](canary, baseline, reference, context)
    except Mismatch as exc:
        return str(exc)


def thresholds(planned: int, levels: Levels) -> tuple[float, float]:
    """log(1/alpha) for one of `planned` comparisons of a check: (fail, pass).

    The fail split is over every planned comparison (fixed by the reference), made or not.
    """
    return math.log(planned / (levels.alpha_fail * CHECK_WEIGHT)), math.log(1 / levels.alpha_pass)


def decide(
    planned: Sequence[Comparison | Unmatched], levels: Levels
) -> tuple[Verdict, Comparison | Unmatched]:
    """The check's verdict and the comparison that decided it (or binds it)."""
    fail_threshold, pass_threshold = thresholds(len(planned), levels)
    comparisons = [c for c in planned if isinstance(c, Comparison)]
    scored = [(c, c.log_e("fail"), c.log_e("pass")) for c in comparisons]
    failing = [s for s in scored if s[1] >= fail_threshold]
    if failing:
        return "fail", max(failing, key=lambda s: s[1])[0]
    unmatched = [c for c in planned if isinstance(c, Unmatched)]
    if unmatched:
        return "inconclusive", unmatched[0]
    binding = min(scored, key=lambda s: s[2])[0]  # the one farthest from passing binds
    return ("pass" if all(s[2] >= pass_threshold for s in scored) else "inconclusive"), binding


def _more(requests: float, rate_per_minute: float) -> str:
    minutes = (
        f" (about {math.ceil(requests / rate_per_minute)} minutes at the current rate)"
        if rate_per_minute > 0
        else ""
    )
    return f"needs about {math.ceil(requests)} more canary requests{minutes}"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _samples(name: CheckName, arm: ArmCounts, strata: range) -> float:
    if name == "errors":
        return sum(arm.requests[k] for k in strata)
    cells = {"confidence": arm.confidence, "latency": arm.duration, "cost": arm.cost}[name]
    return sum(c.total for c in cells.cells if c.stratum in strata) if cells else 0.0


def _rare(rate: float, tolerance: float) -> bool:
    """Whether the baseline sees an event too rarely for a rate ratio (see EXCESS_ABOVE_RATIO)."""
    return (rate + tolerance) / rate > EXCESS_ABOVE_RATIO


def _smoothed(events: float, total: float) -> float:
    """The reference rate, kept off 0 and 1 so that a tolerance maps to a finite rate ratio."""
    return (events + 0.5) / (total + 1)


def _count_comparison(
    description: str,
    canary: tuple[Sequence[float], Sequence[float]],
    baseline: tuple[Sequence[float], Sequence[float]],
    reference: tuple[float, float],
    tolerance: float,
    strata: range,
) -> Comparison:
    """`canary` and `baseline` are (requests, events) per stratum; `reference` (events, requests)."""
    rows: list[Stratum] = [(canary[0][k], canary[1][k], baseline[0][k], baseline[1][k]) for k in strata]
    n_c, x_c = sum(r[0] for r in rows), sum(r[1] for r in rows)
    n_b, x_b = sum(r[2] for r in rows), sum(r[3] for r in rows)
    rate = _smoothed(*reference)
    return Comparison(
        description,
        x_c / n_c if n_c else math.nan,
        x_b / n_b if n_b else math.nan,
        RateExcess.of(rows, rate, tolerance) if _rare(rate, tolerance) else RateRatio.of(rows, 1 / rate),
        (rate + tolerance) / rate,
        rate,
        tolerance,
        ShareDifference(n_c, x_c, n_b, x_b, rate, reference[1]),
    )


def errors(
    canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context
) -> list[Comparison]:
    return [
        _count_comparison(
            "failure rate",
            (canary.requests, canary.failures),
            (baseline.requests, baseline.failures),
            (reference.failures, reference.requests),
            context.tolerance,
            context.strata,
        )
    ]


def _inputs(
    canary: Cells | None, baseline: Cells | None, reference: Histogram | None, metric: str
) -> tuple[Cells, Cells, Histogram]:
    # The traffic check before this one makes sure both arms have observations.
    assert canary is not None and baseline is not None
    if reference is None or not reference.total:
        raise Mismatch(f"no {metric} observations in the baseline's reference period")
    return canary, baseline, reference


def _common(canary: Sequence[float], baseline: Sequence[float], metric: str) -> tuple[float, ...]:
    common = tuple(b for b in canary if b in baseline)
    if not common:
        raise Mismatch(
            f"the builds' {metric} histograms share no bucket bound (canary le={_bounds(canary)}, "
            f"baseline le={_bounds(baseline)}): give both builds common buckets"
        )
    return common


def _bounds(bounds: Sequence[float]) -> str:
    return ",".join(f"{b:g}" for b in bounds) or "none"


def _mean_comparison(
    description: str,
    canary: Cells,
    baseline: Cells,
    cap: float,
    strata: range,
    worse_if_higher: bool,
    margin: float,
    reference: float,
    show_value: Callable[[float], str],
    show_effect: Callable[[float], str],
) -> Comparison:
    """Stratified difference of winsorised means; variance from the per-pod, per-scrape cells,
    shrunk towards the spread of each arm's buckets over the strata."""
    per_arm = []
    for cells in (canary, baseline):
        whole = cells.shape if cells.shape and cap in cells.shape.bounds else cells.histogram(strata)
        bucket_spread = bucket_variance(whole.bounds, whole.cumulative, whole.total, cap)
        values = [
            (c.stratum, c.total, _winsorised(cells, c, cap, whole))
            for c in cells.cells
            if c.stratum in strata
        ]
        n = sum(v[1] for v in values)
        mean = sum(v[2] for v in values) / n
        # Batch means over the per-pod, per-scrape cells: E[sum (W - n m)^2] = sigma^2 (N - sum n^2 / N).
        # With few cells that estimate is itself noisy, so it is shrunk towards the buckets'
        # estimate, worth VARIANCE_PRIOR_CELLS cells.
        effective = n - sum(v[1] ** 2 for v in values) / n
        batch = sum((w - t * mean) ** 2 for _, t, w in values) / effective if effective > 0 else 0.0
        dof = len(values) - 1
        variance = max(
            (dof * batch + VARIANCE_PRIOR_CELLS * bucket_spread) / (dof + VARIANCE_PRIOR_CELLS), 1e-18
        )
        by_stratum: dict[int, list[float]] = {}
        for k, t, w in values:
            slot = by_stratum.setdefault(k, [0.0, 0.0])
            slot[0] += t
            slot[1] += w
        per_arm.append((mean, variance, by_stratum))
    (mean_c, var_c, strata_c), (mean_b, var_b, strata_b) = per_arm
    weights = total = spread = 0.0
    for k in strata_c.keys() & strata_b.keys():
        (n_c, w_c), (n_b, w_b) = strata_c[k], strata_b[k]
        w = n_c * n_b / (n_c + n_b)
        weights += w
        total += w * (w_c / n_c - w_b / n_b)
        spread += w * w * (var_c / n_c + var_b / n_b)
    sign = 1.0 if worse_if_higher else -1.0
    d = sign * total / weights if weights else 0.0
    variance = spread / weights**2 if weights else math.inf
    return Comparison(
        description,
        mean_c,
        mean_b,
        MeanDifference(d, variance),
        margin,
        reference,
        margin / reference,
        show_value=show_value,
        show_effect=show_effect,
    )


def _winsorised(cells: Cells, cell: PodCell, cap: float, whole: Histogram) -> float:
    """One cell's sum of min(x, cap). Beyond `_sum` it needs where the observations below `cap`
    lie: at the cell's own bucket midpoints, or at the arm's when only some bounds were read."""
    below = cell.cumulative[cells.bounds.index(cap)]
    above = cell.total - below
    if above <= 0 and cell.sum is not None:
        return cell.sum
    mean_below = (
        whole.mean_at_or_below(cap) if cells.shape else midpoint_mean(cells.bounds, cell.cumulative, cap)
    )
    return winsorised_sum(below, above, cell.sum, cap, mean_below)


def _share_levels(reference: Histogram, tolerance: float) -> list[float]:
    """The confidence levels whose shares are compared: those in the baseline's lower half, less
    each one the baseline (almost) never reaches below another such level, which covers it (any
    collapse below the lower level is also below the higher) without splitting alpha_fail again."""

    def rare(level: float) -> bool:
        return _rare(_smoothed(reference.count_at_or_below(level), reference.total), tolerance)

    levels = [
        level
        for level in CONFIDENCE_LEVELS
        if level in reference.bounds and reference.share_at_or_below(level) <= LOW_TAIL_SHARE
    ]
    return [
        level
        for level, higher in zip(levels, [*levels[1:], None], strict=True)
        if not (higher and rare(level) and rare(higher))
    ]


def _confidence_plan(
    reference: Histogram, canary: Sequence[float], baseline: Sequence[float], tolerance: float
) -> tuple[float, list[float | Unmatched]]:
    """The bound the mean is winsorised at, and the bound (or why there is none) of each share."""
    common = _common(canary, baseline, "agent_confidence")
    if max(common) < 1.0:
        raise Mismatch(
            f"the builds' agent_confidence buckets have no common bound at 1 (common le={_bounds(common)})"
        )
    shares: list[float | Unmatched] = []
    previous = 0.0
    for level in _share_levels(reference, tolerance):
        near = [
            x for x in common if previous < x <= level and x >= level - LEVEL_SLACK and x in reference.bounds
        ]
        if not near:
            # It can still fail on the other comparisons, but never pass without this one.
            shares.append(
                Unmatched(
                    f"the builds' agent_confidence buckets share no bound near {level:g} (canary "
                    f"le={_bounds(canary)}, baseline le={_bounds(baseline)}): the share of requests with "
                    f"confidence <= {level:g} cannot be compared, so the check cannot pass; give both builds "
                    "common buckets"
                )
            )
            continue
        previous = max(near)
        shares.append(previous)
    return max(common), shares


def confidence(
    canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context
) -> list[Comparison | Unmatched]:
    c, b, ref = _inputs(canary.confidence, baseline.confidence, reference.confidence, "agent_confidence")
    cap, shares = _confidence_plan(ref, c.bounds, b.bounds, context.tolerance)
    mean = _mean_comparison(
        "mean confidence", c, b, cap, context.strata, False, context.tolerance, 1.0, _level, _signed
    )
    comparisons: list[Comparison | Unmatched] = [mean]
    for bound in shares:
        if isinstance(bound, Unmatched):
            comparisons.append(bound)
            continue
        comparisons.append(
            _count_comparison(
                f"share of requests with confidence <= {bound:g}",
                (c.per_stratum(len(canary.requests)), c.per_stratum(len(canary.requests), bound)),
                (b.per_stratum(len(baseline.requests)), b.per_stratum(len(baseline.requests), bound)),
                (ref.count_at_or_below(bound), ref.total),
                context.tolerance,
                context.strata,
            )
        )
    return comparisons


def _above(cells: Cells, strata: int, bound: float) -> tuple[list[float], list[float]]:
    total = cells.per_stratum(strata)
    below = cells.per_stratum(strata, bound)
    return total, [t - x for t, x in zip(total, below, strict=True)]


def _latency_bound(reference: Histogram, canary: Sequence[float], baseline: Sequence[float]) -> float:
    """On a common bound: the nearest at or above the baseline's p95 bucket, else the nearest below."""
    threshold = reference.quantile_bound(TAIL_QUANTILE)
    common = [x for x in _common(canary, baseline, "agent_duration_seconds") if x in reference.bounds]
    bound = min((x for x in common if x >= threshold), default=max(common, default=math.nan))
    if math.isnan(bound):
        raise Mismatch(
            "the builds' agent_duration_seconds buckets share no bound with the baseline's reference"
        )
    return bound


def latency(
    canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context
) -> list[Comparison]:
    c, b, ref = _inputs(canary.duration, baseline.duration, reference.duration, "agent_duration_seconds")
    threshold = ref.quantile_bound(TAIL_QUANTILE)
    bound = _latency_bound(ref, c.bounds, b.bounds)
    k = len(canary.requests)
    return [
        _count_comparison(
            f"share of requests slower than {bound:g}s (the baseline's p{TAIL_QUANTILE * 100:.0f} bucket"
            + (")" if bound == threshold else f" is {threshold:g}s, not a bound of both builds)"),
            _above(c, k, bound),
            _above(b, k, bound),
            (ref.total - ref.count_at_or_below(bound), ref.total),
            context.tolerance,
            context.strata,
        )
    ]


COST_BEYOND = "share of requests beyond the last common cost bucket"


def _cost_cap(reference: Histogram, canary: Sequence[float], baseline: Sequence[float]) -> float:
    """The last bound both builds and the reference share: the mean is winsorised there."""
    common = [x for x in _common(canary, baseline, "agent_request_cost_usd") if x in reference.bounds]
    if not common:
        raise Mismatch(
            "the builds' agent_request_cost_usd buckets share no bound with the baseline's reference"
        )
    return max(common)


def cost(canary: ArmCounts, baseline: ArmCounts, reference: Reference, context: Context) -> list[Comparison]:
    c, b, ref = _inputs(canary.cost, baseline.cost, reference.cost, "agent_request_cost_usd")
    cap = _cost_cap(ref, c.bounds, b.bounds)
    below = ref.count_at_or_below(cap)
    reference_mean = max(
        winsorised_sum(below, ref.total - below, ref.sum, cap, ref.mean_at_or_below(cap)) / ref.total,
        MIN_COST_USD,
    )
    k = len(canary.requests)
    return [
        _mean_comparison(
            f"mean cost per request (winsorised at ${cap:g})",
            c,
            b,
            cap,
            context.strata,
            True,
            context.tolerance * reference_mean,
            reference_mean,
            _usd,
            _rel,
        ),
        _count_comparison(
            COST_BEYOND,
            _above(c, k, cap),
            _above(b, k, cap),
            (ref.total - below, ref.total),
            COST_BEYOND_TOLERANCE,
            context.strata,
        ),
    ]


def bounds_needed(name: CheckName, reference: Reference, tolerance: float) -> tuple[float, ...] | None:
    """The finite bucket bounds a histogram check reads from each pod (with `+Inf`) when both
    builds have the baseline's buckets; None when the reference cannot say, so every bucket is read."""
    histogram = {"confidence": reference.confidence, "latency": reference.duration, "cost": reference.cost}[
        name
    ]
    if histogram is None or not histogram.total:
        return None
    layout = histogram.bounds
    try:
        if name == "confidence":
            cap, shares = _confidence_plan(histogram, layout, layout, tolerance)
            return (cap, *(x for x in shares if isinstance(x, float)))
        if name == "latency":
            return (_latency_bound(histogram, layout, layout),)
        return (_cost_cap(histogram, layout, layout),)
    except Mismatch:
        return None


COMPARISONS: dict[
    CheckName, Callable[[ArmCounts, ArmCounts, Reference, Context], Sequence[Comparison | Unmatched]]
] = {
    "confidence": confidence,
    "cost": cost,
    "errors": errors,
    "latency": latency,
}
