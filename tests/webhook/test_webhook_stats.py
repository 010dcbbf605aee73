"""The pure statistics: counter arithmetic, histograms, confidence sequences and check decisions."""

import bisect
import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.contract import CONFIDENCE_BUCKETS
from tools.traffic import Sampler, beta, mixture
from webhook.backends import Series
from webhook.stats.checks import ArmCounts, CheckOutcome, Levels, confidence, evaluate_check
from webhook.stats.counters import corrected, first_timestamp, increase
from webhook.stats.histograms import Histogram, from_series
from webhook.stats.sequential import bounds, grid_half_width, half_width, proportion_difference

LEVELS = Levels(alpha_fail=0.0025, alpha_pass=0.0125, min_requests=30)


def test_increase_undoes_counter_resets() -> None:
    points = [(0, 5.0), (10, 8.0), (20, 2.0), (30, 6.0)]  # restart between 10 and 20
    assert increase(points, 0, 30) == pytest.approx(3 + 2 + 4)
    assert increase(points, 10, 30) == pytest.approx(2 + 4)


def test_increase_skips_nan_inf_and_negative_samples() -> None:
    points = [(0, 1.0), (10, math.nan), (20, math.inf), (25, -3.0), (30, 4.0)]
    assert increase(points, 0, 30) == pytest.approx(3.0)
    assert corrected(points) == [(0, 1.0), (30, 4.0)]


def test_a_series_born_inside_the_window_counts_from_zero() -> None:
    assert increase([(100, 7.0), (110, 9.0)], 50, 110) == 9.0
    assert increase([], 0, 10) == 0.0
    assert first_timestamp([Series({}, ((5, math.nan), (7, 1.0)))]) == 7


@given(st.lists(st.integers(0, 50), min_size=1, max_size=40))
def test_increase_equals_the_sum_of_what_was_added(increments: list[int]) -> None:
    """Whatever the resets, the increase is exactly what the process counted after `start`."""
    rng = random.Random(len(increments))
    value, points = 0, [(0.0, 0.0)]
    for t, add in enumerate(increments, start=1):
        # A restart counts from zero again; only a drop is visible, as in Prometheus itself.
        value = add if rng.random() < 0.2 and add < value else value + add
        points.append((float(t), float(value)))
    assert increase(points, 0, len(increments)) == sum(increments)


def _buckets(le_counts: dict[str, float], t: float = 10.0) -> list[Series]:
    return [Series({"le": le}, ((0.0, 0.0), (t, count))) for le, count in le_counts.items()]


def test_histogram_from_pods_sums_by_bound_and_keeps_it_monotone() -> None:
    pod_a = _buckets({"0.5": 2, "1.0": 5, "+Inf": 6})
    pod_b = _buckets({"0.5": 1, "1.0": 1, "+Inf": 4})
    skewed = _buckets({"0.5": 3, "1.0": 2, "+Inf": 2})  # scraped mid-update: not monotone
    histogram = from_series([*pod_a, *pod_b, *skewed], 0, 10)
    assert histogram.bounds == (0.5, 1.0)
    assert histogram.cumulative == (6, 8)
    assert histogram.total == 12
    assert histogram.share_at_or_below(0.5) == 0.5
    assert histogram.quantile_bound(0.6) == 1.0


def test_histogram_mean_prefers_sum() -> None:
    h = Histogram((1.0, 2.0), (2.0, 4.0), 4.0, sum=5.0)
    assert h.mean() == 1.25
    assert Histogram((1.0, 2.0), (2.0, 4.0), 4.0).mean() == 1.0
    assert h.variance() > 0


def test_half_width_shrinks_with_information_and_grows_with_confidence() -> None:
    assert half_width(100, 0.1, 0.01) > half_width(10_000, 0.1, 0.01)
    assert half_width(100, 0.1, 0.001) > half_width(100, 0.1, 0.01)
    assert half_width(0, 0.1, 0.01) == math.inf


def test_confidence_sequence_holds_under_repeated_looks() -> None:
    """With no difference, the fail bound crosses zero at some look in at most alpha of runs."""
    rng = random.Random(7)
    alpha, runs, crossings = 0.05, 400, 0
    for _ in range(runs):
        x_c = n_c = x_b = n_b = 0
        for _ in range(40):  # 40 looks, 25 new requests per arm each
            x_c += sum(rng.random() < 0.2 for _ in range(25))
            x_b += sum(rng.random() < 0.2 for _ in range(25))
            n_c += 25
            n_b += 25
            estimate, variance = proportion_difference(x_c, n_c, x_b, n_b)
            if bounds(estimate, variance, 0.05, alpha, alpha).lower > 0:
                crossings += 1
                break
    assert crossings / runs <= alpha


def _arm(failures: float, requests: float) -> ArmCounts:
    return ArmCounts(requests=requests, failures=failures)


def test_errors_check_directions() -> None:
    worse = evaluate_check("errors", _arm(200, 2000), _arm(20, 2000), 0.01, LEVELS)
    same = evaluate_check("errors", _arm(20, 5000), _arm(20, 5000), 0.01, LEVELS)
    better = evaluate_check("errors", _arm(0, 2000), _arm(200, 2000), 0.01, LEVELS)
    few = evaluate_check("errors", _arm(0, 10), _arm(20, 2000), 0.01, LEVELS)
    assert (worse.verdict, same.verdict, better.verdict, few.verdict) == (
        "fail",
        "pass",
        "pass",
        "inconclusive",
    )
    assert worse.lower is not None and worse.lower > 0.01
    assert "too little traffic" in few.reason


def test_an_improvement_is_never_a_failure() -> None:
    for tolerance in (0.0, 0.01):
        outcome = evaluate_check("errors", _arm(0, 100_000), _arm(5000, 100_000), tolerance, LEVELS)
        assert outcome.verdict == "pass"


def test_confidence_check_sees_mass_moving_down() -> None:
    bounds_ = (0.3, 0.5, 0.7, 0.9)
    stable = Histogram(bounds_, (20, 50, 300, 800), 1000)
    collapsed = Histogram(bounds_, (150, 250, 400, 800), 1000)  # 20 points more at or below 0.5
    outcome = evaluate_check(
        "confidence", ArmCounts(confidence=collapsed), ArmCounts(confidence=stable), 0.05, LEVELS
    )
    assert outcome.verdict == "fail"
    assert outcome.effect == pytest.approx(0.2)
    assert "confidence <= 0.5" in outcome.reason


# The agents' stable build answers with confidence ~ Beta(18, 3) (mean 0.857).
STABLE = beta(18, 3)


def _confidence(sampler: Sampler, requests: int, seed: int) -> ArmCounts:
    """What Prometheus would hold after `requests` answers drawn from `sampler`."""
    rng = random.Random(seed)
    values = [min(1.0, max(0.0, sampler(rng))) for _ in range(requests)]
    per_bucket = [0] * (len(CONFIDENCE_BUCKETS) + 1)
    for value in values:
        per_bucket[bisect.bisect_left(CONFIDENCE_BUCKETS, value)] += 1
    cumulative = tuple(float(c) for c in itertools.accumulate(per_bucket[:-1]))
    histogram = Histogram(CONFIDENCE_BUCKETS, cumulative, float(requests), sum(values))
    return ArmCounts(requests=requests, confidence=histogram)


def _judge_confidence(sampler: Sampler, canary_requests: int, seed: int = 1) -> CheckOutcome:
    """The canary at weight 10 %: nine baseline requests for each canary request."""
    canary = _confidence(sampler, canary_requests, seed)
    baseline = _confidence(STABLE, 9 * canary_requests, seed + 1000)
    return evaluate_check("confidence", canary, baseline, 0.05, LEVELS)


@pytest.mark.parametrize("seed", range(5))
def test_an_unchanged_canary_passes_confidence_after_500_requests(seed: int) -> None:
    outcome = _judge_confidence(STABLE, 500, seed)
    assert outcome.verdict == "pass", outcome.reason


def test_confidence_compares_the_mean_and_only_the_baselines_low_tail() -> None:
    canary = _confidence(STABLE, 500, 1)
    comparisons = confidence(canary, _confidence(STABLE, 4500, 2), 0.05)
    # 0.9 is above the stable build's median, so only the mean and 0.3, 0.5, 0.7 are compared.
    assert [c.description for c in comparisons] == [
        "mean confidence",
        "share of requests with confidence <= 0.3",
        "share of requests with confidence <= 0.5",
        "share of requests with confidence <= 0.7",
    ]
    assert comparisons[0].canary == pytest.approx(0.857, abs=0.01)


@pytest.mark.parametrize(
    ("name", "sampler"),
    [
        ("lower confidence (the agents' low-confidence variant)", beta(9, 5)),
        # The agents' bimodal variant: 10 % collapse to ~0.2, the rest rise; the mean goes up.
        ("bimodal collapse", mixture((0.9, beta(30, 2)), (0.1, beta(2, 8)))),
        # Answers above 0.9 drop to 0.72: the mean falls by ~0.07, the share <= 0.7 stays.
        ("pure mean shift", lambda rng: x if (x := STABLE(rng)) <= 0.9 else 0.72),
    ],
)
def test_confidence_regressions_fail(name: str, sampler: Sampler) -> None:
    outcome = _judge_confidence(sampler, 2000)
    assert outcome.verdict == "fail", f"{name}: {outcome.reason}"
    assert outcome.lower is not None and outcome.lower > 0.05


def test_the_bimodal_collapse_fails_on_the_low_tail_and_the_mean_shift_on_the_mean() -> None:
    collapse = _judge_confidence(mixture((0.9, beta(30, 2)), (0.1, beta(2, 8))), 2000)
    assert collapse.reason.startswith("share of requests with confidence <= ")
    shift = _judge_confidence(lambda rng: x if (x := STABLE(rng)) <= 0.9 else 0.72, 2000)
    assert shift.reason.startswith("mean confidence: canary 0.7")
    assert shift.canary is not None and shift.baseline is not None
    assert shift.baseline - shift.canary == pytest.approx(0.07, abs=0.01)


def test_higher_confidence_passes() -> None:
    outcome = _judge_confidence(beta(24, 2), 500)  # the agents' improved variant
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.effect is not None and outcome.effect <= 0  # no compared measure got worse


def test_cost_check_is_relative() -> None:
    bounds_ = (0.001, 0.002, 0.005, 0.01)
    base = Histogram(bounds_, (100, 600, 950, 1000), 1000, sum=2.0)
    pricier = Histogram(bounds_, (50, 300, 800, 990), 1000, sum=3.0)
    outcome = evaluate_check("cost", ArmCounts(cost=pricier), ArmCounts(cost=base), 0.1, LEVELS)
    assert outcome.verdict == "fail"
    assert outcome.effect == pytest.approx(0.5)


def test_a_grid_of_one_tau_is_the_closed_form() -> None:
    for information in (10.0, 1e3, 1e5):
        assert grid_half_width(information, (0.05,), 0.01) == pytest.approx(
            half_width(information, 0.05, 0.01)
        )


def test_the_fail_grid_finds_large_effects_sooner_at_a_bounded_cost() -> None:
    taus = (0.01, 0.02, 0.04, 0.08)
    early, late = 1e3, 1e6  # little and much information about a 1-point tolerance
    assert grid_half_width(early, taus, 0.0025) < 0.5 * half_width(early, 0.01, 0.0025)
    # Never wider than the best single tau at alpha split over the grid (Bonferroni).
    for information in (early, late):
        bonferroni = min(half_width(information, tau, 0.0025 / len(taus)) for tau in taus)
        assert grid_half_width(information, taus, 0.0025) <= bonferroni
