"""The four checks as directional non-inferiority decisions on anytime-valid bounds.

Every check reduces to one or more comparisons of an effect (canary minus baseline, oriented
so that larger is worse) against a tolerance. A check fails when the fail-level lower bound of
some comparison exceeds the tolerance, passes when the pass-level upper bound of every
comparison is below it, and is inconclusive otherwise. Comparisons within a check share the
check's alpha by Bonferroni.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from kernel.contract import CHECK_NAMES, CheckName
from webhook.stats.histograms import Histogram
from webhook.stats.sequential import bounds, proportion_difference

Verdict = Literal["pass", "fail", "inconclusive"]
CHECKS = CHECK_NAMES
DEFAULT_TOLERANCES: dict[CheckName, float] = {
    # Mean confidence may drop by 0.05, and each low-confidence share may rise by 5 points.
    "confidence": 0.05,
    "cost": 0.10,  # mean cost per request may rise by 10 %
    "errors": 0.01,  # failure rate may rise by 1 point
    "latency": 0.05,  # share of requests slower than the baseline's p95 bucket may rise by 5 points
}
CONFIDENCE_LEVELS = (0.3, 0.5, 0.7, 0.9)
# Shares are compared only in the baseline's lower half: higher up, a share is a poorly powered
# stand-in for the mean, which is compared directly.
LOW_TAIL_SHARE = 0.5
TAIL_QUANTILE = 0.95
MIN_COST_USD = 1e-9  # keeps the log ratio finite for agents that spend nothing


@dataclass(frozen=True)
class ArmCounts:
    """What one arm (a pod-template hash) did over the window."""

    requests: float = 0.0
    failures: float = 0.0
    confidence: Histogram | None = None
    duration: Histogram | None = None
    cost: Histogram | None = None


@dataclass(frozen=True)
class Comparison:
    """One effect on its test scale, with the function that turns it into the reported effect."""

    description: str
    canary: float
    baseline: float
    estimate: float
    variance: float
    margin: float
    to_effect: Callable[[float], float] = field(default=lambda x: x)
    show_value: Callable[[float], str] = field(default=lambda x: _share(x))
    show_effect: Callable[[float], str] = field(default=lambda x: _pp(x))


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


@dataclass(frozen=True)
class Levels:
    alpha_fail: float
    alpha_pass: float
    min_requests: int


MEASURES: dict[CheckName, str] = {
    "confidence": (
        "drop in mean confidence, and rise in the share of requests at or below each confidence level "
        f"{CONFIDENCE_LEVELS} where the baseline has at most {LOW_TAIL_SHARE:.0%} of its requests"
    ),
    "cost": "relative change in mean LLM cost per request",
    "errors": "difference in failure rate (failed / all requests)",
    "latency": f"difference in the share of requests slower than the baseline's p{TAIL_QUANTILE * 100:.0f} bucket",
}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


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


def _samples(name: CheckName, arm: ArmCounts) -> float:
    if name == "errors":
        return arm.requests
    histogram = {"confidence": arm.confidence, "latency": arm.duration, "cost": arm.cost}[name]
    return histogram.total if histogram else 0.0


def evaluate_check(
    name: CheckName, canary: ArmCounts, baseline: ArmCounts, tolerance: float, levels: Levels
) -> CheckOutcome:
    """Decide one check for the canary against the baseline."""
    n_canary, n_base = _samples(name, canary), _samples(name, baseline)
    base = {
        "name": name,
        "measure": MEASURES[name],
        "tolerance": tolerance,
        "canary_samples": int(n_canary),
        "baseline_samples": int(n_base),
    }
    if n_canary < levels.min_requests or n_base < levels.min_requests:
        short = "canary" if n_canary < levels.min_requests else "baseline"
        have = int(n_canary if short == "canary" else n_base)
        return CheckOutcome(
            verdict="inconclusive",
            reason=f"too little traffic: the {short} has {have} requests, {levels.min_requests} needed",
            **base,  # type: ignore[arg-type]
        )
    comparisons = COMPARISONS[name](canary, baseline, tolerance)
    k = len(comparisons)
    scored = [
        (c, bounds(c.estimate, c.variance, c.margin or 0.01, levels.alpha_fail / k, levels.alpha_pass / k))
        for c in comparisons
    ]
    failing = [(c, b) for c, b in scored if b.lower > c.margin]
    if failing:
        comparison, bound = max(failing, key=lambda cb: cb[1].lower - cb[0].margin)
        verdict: Verdict = "fail"
    else:
        comparison, bound = max(scored, key=lambda cb: cb[1].upper - cb[0].margin)
        verdict = "pass" if bound.upper < comparison.margin else "inconclusive"
    effect, lower, upper = (comparison.to_effect(v) for v in (bound.estimate, bound.lower, bound.upper))
    fmt = comparison.show_effect
    show = comparison.show_value
    where = (
        f"{comparison.description}: canary {show(comparison.canary)}, baseline {show(comparison.baseline)}"
    )
    if verdict == "fail":
        reason = f"{where}; worse by at least {fmt(lower)}, beyond the tolerance of {fmt(tolerance)}"
    elif verdict == "pass":
        reason = f"{where}; worse by at most {fmt(upper)}, within the tolerance of {fmt(tolerance)}"
    else:
        reason = f"{where}; change {fmt(effect)} (between {fmt(lower)} and {fmt(upper)}) may still exceed the tolerance of {fmt(tolerance)}"
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


def _share_comparison(
    description: str, x_c: float, n_c: float, x_b: float, n_b: float, margin: float
) -> Comparison:
    estimate, variance = proportion_difference(x_c, n_c, x_b, n_b)
    return Comparison(description, x_c / n_c, x_b / n_b, estimate, variance, margin)


def errors(canary: ArmCounts, baseline: ArmCounts, tolerance: float) -> list[Comparison]:
    return [
        _share_comparison(
            "failure rate", canary.failures, canary.requests, baseline.failures, baseline.requests, tolerance
        )
    ]


def confidence(canary: ArmCounts, baseline: ArmCounts, tolerance: float) -> list[Comparison]:
    assert canary.confidence and baseline.confidence
    c, b = canary.confidence, baseline.confidence
    mean = Comparison(
        "mean confidence",
        c.mean(),
        b.mean(),
        b.mean() - c.mean(),  # lower confidence is worse
        c.variance() / c.total + b.variance() / b.total,
        tolerance,
        show_value=_level,
        show_effect=_signed,
    )
    # The low tail catches mass moving down while the mean barely moves (a bimodal collapse).
    levels = [
        level
        for level in CONFIDENCE_LEVELS
        if level in c.bounds and level in b.bounds and b.share_at_or_below(level) <= LOW_TAIL_SHARE
    ]
    return [mean] + [
        _share_comparison(
            f"share of requests with confidence <= {level:g}",
            c.count_at_or_below(level),
            c.total,
            b.count_at_or_below(level),
            b.total,
            tolerance,
        )
        for level in levels
    ]


def latency(canary: ArmCounts, baseline: ArmCounts, tolerance: float) -> list[Comparison]:
    assert canary.duration and baseline.duration
    c, b = canary.duration, baseline.duration
    threshold = b.quantile_bound(TAIL_QUANTILE)
    if threshold not in c.bounds:
        threshold = max((x for x in c.bounds if x <= threshold), default=c.bounds[0])
    return [
        _share_comparison(
            f"share of requests slower than {threshold:g}s (the baseline's p{TAIL_QUANTILE * 100:.0f} bucket)",
            c.total - c.count_at_or_below(threshold),
            c.total,
            b.total - b.count_at_or_below(threshold),
            b.total,
            tolerance,
        )
    ]


def cost(canary: ArmCounts, baseline: ArmCounts, tolerance: float) -> list[Comparison]:
    assert canary.cost and baseline.cost
    c, b = canary.cost, baseline.cost
    mean_c, mean_b = max(c.mean(), MIN_COST_USD), max(b.mean(), MIN_COST_USD)
    # Delta method for the log of a mean: Var(log m) ~ s^2 / (n m^2).
    variance = c.variance() / (c.total * mean_c**2) + b.variance() / (b.total * mean_b**2)
    return [
        Comparison(
            "mean cost per request",
            c.mean(),
            b.mean(),
            math.log(mean_c / mean_b),
            variance,
            math.log1p(tolerance),
            to_effect=math.expm1,
            show_value=_usd,
            show_effect=_rel,
        )
    ]


COMPARISONS: dict[CheckName, Callable[[ArmCounts, ArmCounts, float], list[Comparison]]] = {
    "confidence": confidence,
    "cost": cost,
    "errors": errors,
    "latency": latency,
}
