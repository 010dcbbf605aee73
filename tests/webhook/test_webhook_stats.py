"""The pure statistics: counter arithmetic, histograms, confidence sequences and check decisions."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook.backends import Series
from webhook.stats.checks import ArmCounts, Levels, evaluate_check
from webhook.stats.counters import corrected, first_timestamp, increase
from webhook.stats.histograms import Histogram, from_series
from webhook.stats.sequential import bounds, half_width, proportion_difference

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


def test_cost_check_is_relative() -> None:
    bounds_ = (0.001, 0.002, 0.005, 0.01)
    base = Histogram(bounds_, (100, 600, 950, 1000), 1000, sum=2.0)
    pricier = Histogram(bounds_, (50, 300, 800, 990), 1000, sum=3.0)
    outcome = evaluate_check("cost", ArmCounts(cost=pricier), ArmCounts(cost=base), 0.1, LEVELS)
    assert outcome.verdict == "fail"
    assert outcome.effect == pytest.approx(0.5)
