"""The pure statistics: counter arithmetic, histograms, confidence sequences and check decisions."""

import bisect
import itertools
import math
import random
import re
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.contract import CONFIDENCE_BUCKETS
from tools.traffic import HEALTHY_CONFIDENCE, Sampler, beta, collapse, mixture
from webhook.backends import Series
from webhook.backends.base import Point
from webhook.stats.checks import (
    ArmCounts,
    CheckOutcome,
    Comparison,
    Context,
    Levels,
    Reference,
    check_verdict,
    confidence,
    decide,
    errors,
    evaluate_check,
)
from webhook.stats.counters import corrected, first_timestamp, stratified_increase
from webhook.stats.histograms import Cells, Histogram, PodCell, cells_from_series, from_vector, winsorised_sum
from webhook.stats.sequential import MeanDifference, RateExcess, RateRatio, ShareDifference

LEVELS = Levels(alpha_fail=0.0099, alpha_pass=0.05, min_requests=30)


def increase(points: Sequence[Point], start: float, end: float) -> float:
    return stratified_increase([Series({}, tuple(points))], [start, end])[0]


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


def test_histogram_from_a_summed_vector_keeps_it_monotone() -> None:
    def vector(le_counts: dict[str, float]) -> list[Series]:
        return [Series({"le": le}, ((10.0, count),)) for le, count in le_counts.items()]

    # Pods scraped mid-update can make Prometheus' sums disagree: 0.5 above 1.0 here.
    histogram = from_vector(vector({"0.5": 6, "1.0": 5, "+Inf": 12, "junk": 3}), [Series({}, ((10.0, 4.5),))])
    assert histogram.bounds == (0.5, 1.0)
    assert histogram.cumulative == (6, 6)
    assert histogram.total == 12 and histogram.sum == 4.5
    assert histogram.share_at_or_below(0.5) == 0.5
    assert histogram.quantile_bound(0.6) == 1.0
    assert from_vector(vector({"+Inf": 2})).sum is None


def test_histogram_mean_prefers_sum() -> None:
    h = Histogram((1.0, 2.0), (2.0, 4.0), 4.0, sum=5.0)
    assert h.mean() == 1.25
    assert Histogram((1.0, 2.0), (2.0, 4.0), 4.0).mean() == 1.0
    assert h.variance() > 0


def test_stratified_increase_splits_a_counter_by_interval() -> None:
    series = Series({}, ((0.0, 0.0), (15.0, 3.0), (30.0, 1.0), (45.0, 4.0)))  # reset before 30
    assert stratified_increase([series], [0.0, 15.0, 30.0, 45.0]) == [3.0, 1.0, 3.0]


@given(
    st.lists(
        st.tuples(st.sampled_from([0, 0, 0, 1, 2.5, -1, math.nan]), st.sampled_from([7.5, 15, 30])),
        max_size=40,
    ),
    st.floats(-20, 200),
    st.integers(0, 12),
)
def test_stratified_increase_is_value_at_each_edge_minus_the_one_before(
    steps: list[tuple[float, float]], first_edge: float, strata: int
) -> None:
    """Repeated values, resets (-1 drops the counter to 0), NaN samples and edges on samples."""
    t, value, points = 0.0, 0.0, []
    for add, gap in steps:
        value = 0.0 if add == -1 else value if math.isnan(add) else value + add
        points.append((t, math.nan if math.isnan(add) else value))
        t += gap
    edges = [first_edge + 15 * k for k in range(strata + 1)]
    cumulative = corrected(points)

    def at(edge: float) -> float:
        index = bisect.bisect_right([p[0] for p in cumulative], edge) - 1
        return cumulative[index][1] if index >= 0 else 0.0

    expected = [at(b) - at(a) for a, b in zip(edges, edges[1:], strict=False)]
    assert stratified_increase([Series({}, tuple(points))], edges) == expected


def test_cells_keep_each_pod_and_interval_on_the_bounds_every_pod_has() -> None:
    def pod(name: str, les: dict[str, tuple[float, float]]) -> list[Series]:
        return [
            Series({"pod": name, "le": le}, ((0.0, 0.0), (10.0, a), (20.0, b))) for le, (a, b) in les.items()
        ]

    buckets = pod("a", {"0.5": (1, 1), "1.0": (2, 3), "+Inf": (2, 4)}) + pod(
        "b", {"1.0": (1, 1), "+Inf": (1, 2)}
    )
    sums = [Series({"pod": "a"}, ((0.0, 0.0), (10.0, 1.0), (20.0, 3.5)))]
    cells = cells_from_series(buckets, sums, [0.0, 10.0, 20.0])
    assert cells.bounds == (1.0,)  # pod b has no 0.5 bucket
    assert sorted((c.stratum, c.total, c.sum) for c in cells.cells) == [
        (0, 1.0, None),
        (0, 2.0, 1.0),
        (1, 1.0, None),
        (1, 2.0, 2.5),
    ]
    assert cells.histogram().total == 6 and cells.per_stratum(2) == [3.0, 3.0]


def test_winsorised_sum_is_exact_below_the_cap_and_counts_the_rest_at_it() -> None:
    histogram = Histogram((0.01, 0.1, 1.0), (5, 9, 10), 12)
    mean_below = histogram.mean_at_or_below(1.0)
    assert mean_below == pytest.approx((5 * 0.005 + 4 * 0.055 + 0.55) / 10)
    assert winsorised_sum(10, 0, 0.4, 1.0, mean_below) == 0.4  # nothing above $1: `_sum` itself
    # Two requests above $1 (together $10): each counts as $1, the 10 below at their midpoints.
    assert winsorised_sum(10, 2, 10.4, 1.0, mean_below) == pytest.approx(5 * 0.005 + 4 * 0.055 + 0.55 + 2)
    assert winsorised_sum(10, 2, 1.5, 1.0, mean_below) == 1.5  # never more than `_sum`
    with pytest.raises(ValueError, match="not a bucket bound"):
        histogram.mean_at_or_below(0.5)


STRATA = 30  # looks a minute apart


def _simulate_counts(
    rng: random.Random, p_canary: float, p_base: float, brownout: bool
) -> list[tuple[float, float, float, float]]:
    """A minute per stratum at 2 req/s; the canary's weight steps 10 -> 25 -> 50 %; a brownout
    multiplies both arms' rates by 10 for three minutes while the canary's weight is 50 %."""
    rows = []
    for k in range(STRATA):
        weight = 0.1 if k < 10 else 0.25 if k < 20 else 0.5
        factor = 10.0 if brownout and 22 <= k < 25 else 1.0
        n_c = sum(rng.random() < 2 * weight for _ in range(60))  # about 120 * weight requests
        n_b = 120 - n_c
        x_c = sum(rng.random() < p_canary * factor for _ in range(n_c))
        x_b = sum(rng.random() < p_base * factor for _ in range(n_b))
        rows.append((float(n_c), float(x_c), float(n_b), float(x_b)))
    return rows


def test_the_rate_ratio_e_process_is_valid_at_its_boundary_under_brownouts_and_changing_splits() -> None:
    """Canary failure rate exactly r0 times the baseline's in every stratum, the baseline's own
    rate jumping tenfold for three minutes: the fail e-process ever reaches 1/alpha in <= alpha."""
    rng, alpha, runs, r0 = random.Random(11), 0.05, 600, 3.0
    crossings = 0
    for _ in range(runs):
        rows = _simulate_counts(rng, 0.005 * r0, 0.005, brownout=True)
        if any(RateRatio.of(rows[: k + 1]).log_e(r0) >= math.log(1 / alpha) for k in range(STRATA)):
            crossings += 1
    assert crossings / runs <= alpha


def test_the_rate_excess_e_process_is_valid_at_its_boundary_under_brownouts_and_changing_splits() -> None:
    """Canary exactly `tolerance` above a baseline that almost never sees the event, the baseline's
    rate jumping fortyfold for three minutes while the canary is at 50 %: ever failing <= alpha."""
    rng, alpha, runs, tolerance, p_base = random.Random(14), 0.05, 400, 0.05, 0.0005
    crossings = 0
    for _ in range(runs):
        rows = []
        for k in range(STRATA):
            weight = 0.1 if k < 10 else 0.25 if k < 20 else 0.5
            base = p_base * (40.0 if 22 <= k < 25 else 1.0)
            n_c = sum(rng.random() < 2 * weight for _ in range(60))
            x_c = sum(rng.random() < base + tolerance for _ in range(n_c))
            x_b = sum(rng.random() < base for _ in range(120 - n_c))
            rows.append((float(n_c), float(x_c), float(120 - n_c), float(x_b)))
            if RateExcess.of(rows, p_base, tolerance).log_e(tolerance) >= math.log(1 / alpha):
                crossings += 1
                break
    assert crossings / runs <= alpha


def test_a_share_the_baseline_never_reaches_fails_on_its_excess_where_a_rate_ratio_cannot() -> None:
    """15 % of canary answers in a tail the baseline (almost) never reaches, tolerance 5 points:
    about 100 canary requests at weight 10 % fail it, while a rate ratio's events are the canary's
    under both hypotheses and give no evidence (why RateExcess exists)."""
    rng, reference_rate, tolerance = random.Random(15), 0.5 / 7201, 0.05
    rows = []
    for _ in range(34):  # 15 s strata at 2 req/s
        n_c = sum(rng.random() < 0.1 for _ in range(30))
        x_c = sum(rng.random() < 0.15 for _ in range(n_c))
        rows.append((float(n_c), float(x_c), float(30 - n_c), 0.0))
    threshold = math.log(3 / (LEVELS.alpha_fail / 4))  # one of three comparisons of a check
    null_ratio = (reference_rate + tolerance) / reference_rate
    assert RateExcess.of(rows, reference_rate, tolerance).log_e(tolerance) >= threshold
    assert RateRatio.of(rows, 1 / reference_rate).log_e(null_ratio) < 1.0
    excess = RateExcess.of(rows, reference_rate, tolerance)
    assert 0.0 < excess.lower_bound(threshold) < sum(r[1] for r in rows) / sum(r[0] for r in rows)


def test_confidence_compares_only_the_highest_of_the_levels_the_baseline_never_reaches() -> None:
    """The stable never answers at or below 0.5: the share <= 0.5 covers the share <= 0.3."""
    cells = _confidence_cells(STABLE, 2000, 3)
    arm = ArmCounts(requests=(100.0,) * 20, confidence=cells)
    reference = Reference(6000, 30, confidence=_confidence_cells(STABLE, 6000, 4, strata=1).histogram())
    assert reference.confidence is not None and reference.confidence.count_at_or_below(0.5) == 0
    planned = confidence(arm, arm, reference, Context(range(20), 0.05, LEVELS, 20.0))
    described = [c.description for c in planned if isinstance(c, Comparison)]
    assert described == [
        "mean confidence",
        "share of requests with confidence <= 0.5",
        "share of requests with confidence <= 0.7",
    ]


def test_the_share_difference_e_process_is_valid_at_its_boundary_with_rare_events() -> None:
    """Canary failing exactly one point more often than a 0.5 % baseline: ever passing <= alpha."""
    rng, alpha, runs = random.Random(12), 0.05, 600
    crossings = 0
    for _ in range(runs):
        n_c = x_c = n_b = x_b = 0.0
        for _ in range(STRATA):
            c = sum(rng.random() < 0.25 for _ in range(120))
            n_c, n_b = n_c + c, n_b + 120 - c
            x_c += sum(rng.random() < 0.015 for _ in range(c))
            x_b += sum(rng.random() < 0.005 for _ in range(120 - c))
            if ShareDifference(n_c, x_c, n_b, x_b, 0.005, 3600).log_e(0.01) >= math.log(1 / alpha):
                crossings += 1
                break
    assert crossings / runs <= alpha


def test_the_mean_e_process_is_valid_under_repeated_looks() -> None:
    rng, alpha, runs = random.Random(13), 0.05, 600
    crossings = 0
    for _ in range(runs):
        total, n = 0.0, 0
        for _ in range(STRATA):
            total += sum(rng.gauss(0.05, 1.0) for _ in range(20))  # exactly at the tolerance 0.05
            n += 20
            test = MeanDifference(total / n, 1.0 / n)
            if test.log_e(0.05, "fail", 0.05) >= math.log(1 / alpha) or test.log_e(
                0.05, "pass", 0.05
            ) >= math.log(1 / alpha):
                crossings += 1
                break
    assert crossings / runs <= 2 * alpha  # each side at most alpha


def _arms(rows: list[tuple[float, float, float, float]]) -> tuple[ArmCounts, ArmCounts]:
    return (
        ArmCounts(requests=tuple(r[0] for r in rows), failures=tuple(r[1] for r in rows)),
        ArmCounts(requests=tuple(r[2] for r in rows), failures=tuple(r[3] for r in rows)),
    )


REFERENCE = Reference(requests=6480, failures=32)  # an hour of the stable at 1.8 req/s, 0.5 % failing


def test_repeated_looks_at_the_tolerance_boundary_pass_at_most_five_percent_with_rare_events() -> None:
    """The errors check as the judge runs it, asked every minute for 30 minutes, on a canary that
    fails exactly one point (the tolerance) more often than a 0.5 % baseline. 1,500 runs: the
    standard error at 5 % is 0.56 points, so a rate of 8 % would show as > 5 % (5.3 sd)."""
    rng, runs, passed = random.Random(14), 1500, 0
    for _ in range(runs):
        rows = _simulate_counts(rng, 0.015, 0.005, brownout=False)
        canary, baseline = _arms(rows)
        for k in range(1, STRATA + 1):
            context = Context(range(k), 0.01, LEVELS, float(k))
            if decide(errors(canary, baseline, REFERENCE, context), LEVELS)[0] == "pass":
                passed += 1
                break
    assert passed / runs <= 0.05


def test_an_unchanged_canary_at_two_requests_a_second_never_fails_and_often_passes_errors_in_30_minutes() -> (
    None
):
    """About 1,000 canary requests with ~5 failures: about half the runs can already prove the
    canary within one point (the rest need more requests); none may fail."""
    rng = random.Random(15)
    outcomes = []
    for _ in range(40):
        canary, baseline = _arms(_simulate_counts(rng, 0.005, 0.005, brownout=False))
        outcomes.append(
            evaluate_check("errors", canary, baseline, REFERENCE, Context(range(STRATA), 0.01, LEVELS, 30.0))
        )
    assert not [o for o in outcomes if o.verdict == "fail"]
    assert sum(o.verdict == "pass" for o in outcomes) >= 16, [
        o.reason for o in outcomes if o.verdict != "pass"
    ]


def test_errors_check_directions_and_reasons() -> None:
    def one(failures: float, requests: float) -> ArmCounts:
        return ArmCounts(requests=(requests,), failures=(failures,))

    context = Context(range(1), 0.01, LEVELS, 10.0)
    worse = evaluate_check("errors", one(200, 2000), one(20, 2000), REFERENCE, context)
    same = evaluate_check("errors", one(10, 5000), one(25, 5000), REFERENCE, context)
    better = evaluate_check("errors", one(0, 2000), one(100, 2000), REFERENCE, context)
    few = evaluate_check("errors", one(0, 10), one(20, 2000), REFERENCE, context)
    unsure = evaluate_check("errors", one(2, 200), one(10, 1800), REFERENCE, context)
    assert (worse.verdict, same.verdict, better.verdict, few.verdict, unsure.verdict) == (
        "fail",
        "pass",
        "pass",
        "inconclusive",
        "inconclusive",
    )
    assert worse.lower is not None and worse.lower > 0.01
    assert "too little traffic" in few.reason and "needs about 20 more canary requests" in few.reason
    # What is missing, in numbers: more requests (and minutes at 20 a minute), or a wider tolerance.
    assert re.search(
        r"needs about \d+ more canary requests \(about \d+ minutes at the current rate\), or a tolerance of \+\d",
        unsure.reason,
    ), unsure.reason


def test_a_tolerance_of_zero_still_passes_a_clear_improvement() -> None:
    outcome = evaluate_check(
        "errors",
        ArmCounts(requests=(100_000,), failures=(0,)),
        ArmCounts(requests=(100_000,), failures=(5000,)),
        Reference(10_000, 500),
        Context(range(1), 0.0, LEVELS, 60.0),
    )
    assert outcome.verdict == "pass"


# The agents' stable build answers with confidence ~ Beta(18, 3) (mean 0.857).
STABLE = HEALTHY_CONFIDENCE


def _confidence_cells(sampler: Sampler, requests: int, seed: int, strata: int = 20) -> Cells:
    """What Prometheus would hold after `requests` answers from `sampler`, spread over `strata`."""
    rng = random.Random(seed)
    cells = []
    for k in range(strata):
        per_bucket = [0] * (len(CONFIDENCE_BUCKETS) + 1)
        values = [min(1.0, max(0.0, sampler(rng))) for _ in range(requests // strata)]
        for value in values:
            per_bucket[bisect.bisect_left(CONFIDENCE_BUCKETS, value)] += 1
        cumulative = tuple(float(c) for c in itertools.accumulate(per_bucket[:-1]))
        cells.append(PodCell(k, cumulative, float(len(values)), sum(values)))
    return Cells(CONFIDENCE_BUCKETS, tuple(cells))


def _judge_confidence(sampler: Sampler, canary_requests: int, seed: int = 1) -> CheckOutcome:
    """The canary at weight 10 %: nine baseline requests for each canary request."""
    canary = ArmCounts(requests=(0.0,) * 20, confidence=_confidence_cells(sampler, canary_requests, seed))
    baseline = ArmCounts(
        requests=(0.0,) * 20, confidence=_confidence_cells(STABLE, 9 * canary_requests, seed + 1000)
    )
    ref_cells = _confidence_cells(STABLE, 6000, seed + 2000, strata=1)
    reference = Reference(6000, 30, confidence=ref_cells.histogram())
    return evaluate_check("confidence", canary, baseline, reference, Context(range(20), 0.05, LEVELS, 20.0))


@pytest.mark.parametrize("seed", range(3))
def test_an_unchanged_canary_passes_confidence_after_800_requests(seed: int) -> None:
    outcome = _judge_confidence(STABLE, 800, seed)
    assert outcome.verdict == "pass", outcome.reason


@pytest.mark.parametrize(
    ("name", "sampler"),
    [
        ("lower confidence (the agents' low-confidence variant)", beta(9, 5)),
        ("bimodal collapse", collapse(0.15)),
        # Answers above 0.9 drop to 0.72: the mean falls by ~0.07, the share <= 0.7 stays.
        ("pure mean shift", lambda rng: x if (x := STABLE(rng)) <= 0.9 else 0.72),
    ],
)
def test_confidence_regressions_fail(name: str, sampler: Sampler) -> None:
    outcome = _judge_confidence(sampler, 2000)
    assert outcome.verdict == "fail", f"{name}: {outcome.reason}"
    assert outcome.lower is not None and outcome.lower > 0.05


@pytest.mark.parametrize("sampler", [STABLE, collapse(0.15), beta(24, 2)])
def test_check_verdict_is_evaluate_checks_verdict(sampler: Sampler) -> None:
    outcome = _judge_confidence(sampler, 800)
    canary = ArmCounts(requests=(0.0,) * 20, confidence=_confidence_cells(sampler, 800, 1))
    baseline = ArmCounts(requests=(0.0,) * 20, confidence=_confidence_cells(STABLE, 7200, 1001))
    reference = Reference(6000, 30, confidence=_confidence_cells(STABLE, 6000, 2001, strata=1).histogram())
    context = Context(range(20), 0.05, LEVELS, 20.0)
    assert check_verdict("confidence", canary, baseline, reference, context) == outcome.verdict
    short = ArmCounts(requests=(0.0,) * 20, confidence=_confidence_cells(sampler, 20, 1))
    assert check_verdict("confidence", short, baseline, reference, context) == "inconclusive"


def test_higher_confidence_passes() -> None:
    outcome = _judge_confidence(beta(24, 2), 800)  # the agents' improved variant
    assert outcome.verdict == "pass", outcome.reason


def test_the_mean_of_a_bimodal_collapse_barely_moves_but_the_low_tail_fails() -> None:
    outcome = _judge_confidence(mixture((0.85, beta(30, 2)), (0.15, beta(4, 6))), 2000)
    assert outcome.verdict == "fail"
    assert outcome.reason.startswith("share of requests with confidence <= ")
