"""Benchmarks of the judge (numbers in docs/benchmarks.md).

    python -m benchmarks.judge_quality quality --seed 1 --runs 300 [--rate 10]  # decisions, against other judges
    python -m benchmarks.judge_quality overhead --seed 1 --calls 200 --concurrency 8  # latency vs its raw PromQL

`quality` simulates Argo asking every interval on growing data. Per request, the simulation draws
bucket counts straight from each scenario's bucket probabilities (estimated once by Monte Carlo),
which is exactly what the judge reads from Prometheus, so no Prometheus is needed.
"""

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kernel.contract import CONFIDENCE_BUCKETS, COST_BUCKETS, DURATION_BUCKETS, CheckName
from tools.traffic import (
    HEALTHY,
    TOTAL_RATE,
    Behaviour,
    Sampler,
    beta,
    collapse,
    pricier,
    slow_tail,
)
from webhook.judge import JudgeConfig
from webhook.stats.checks import (
    CHECKS,
    CONFIDENCE_LEVELS,
    DEFAULT_TOLERANCES,
    LOW_TAIL_SHARE,
    TAIL_QUANTILE,
    ArmCounts,
    Context,
    Levels,
    Reference,
    check_verdict,
    reference_from_run,
)
from webhook.stats.histograms import Cells, Histogram, PodCell

INTERVAL_S = 60
LOOKS = 30  # Argo asks every minute for half an hour
WEIGHTS = (0.10, 0.25, 0.50)
JUDGE_DEFAULTS = JudgeConfig()
ALPHA_FAIL, ALPHA_PASS = JUDGE_DEFAULTS.alpha_fail, JUDGE_DEFAULTS.alpha_pass
MC_DRAWS = 400_000

SCENARIOS: dict[str, tuple[str, Behaviour]] = {
    "no-change": ("none", HEALTHY),
    "confidence small (+8 pts low)": ("confidence", Behaviour(confidence=collapse(0.08))),
    "confidence medium (+15 pts)": ("confidence", Behaviour(confidence=collapse(0.15))),
    "confidence large (+30 pts)": ("confidence", Behaviour(confidence=collapse(0.30))),
    "cost small (+20%)": ("cost", Behaviour(cost=pricier(1.2))),
    "cost medium (+40%)": ("cost", Behaviour(cost=pricier(1.4))),
    "cost large (+80%)": ("cost", Behaviour(cost=pricier(1.8))),
    "errors small (+1.5 pts)": ("errors", Behaviour(failure_rate=0.02)),
    "errors medium (+3 pts)": ("errors", Behaviour(failure_rate=0.035)),
    "errors large (+6 pts)": ("errors", Behaviour(failure_rate=0.065)),
    "latency small (8% 4x slower)": ("latency", Behaviour(duration=slow_tail(0.08))),
    "latency medium (15%)": ("latency", Behaviour(duration=slow_tail(0.15))),
    "latency large (30%)": ("latency", Behaviour(duration=slow_tail(0.30))),
    "improvement": (
        "none",
        Behaviour(failure_rate=0.002, confidence=beta(24, 2), cost=pricier(0.8)),
    ),
}
LOW_TRAFFIC_RATE = 0.1


@dataclass(frozen=True)
class Buckets:
    """Bucket probabilities (with +Inf last) and each bucket's mean and variance of the value."""

    bounds: tuple[float, ...]
    p: np.ndarray
    mean: np.ndarray
    var: np.ndarray


def buckets_of(draw: Sampler, bounds: tuple[float, ...], rng: random.Random) -> Buckets:
    values = np.array([draw(rng) for _ in range(MC_DRAWS)])
    index = np.searchsorted(np.array(bounds), values, side="left")
    k = len(bounds) + 1
    counts = np.bincount(index, minlength=k).astype(float)
    sums = np.bincount(index, weights=values, minlength=k)
    squares = np.bincount(index, weights=values**2, minlength=k)
    mean = np.divide(sums, counts, out=np.zeros(k), where=counts > 0)
    var = np.maximum(np.divide(squares, counts, out=np.zeros(k), where=counts > 0) - mean**2, 0)
    return Buckets(bounds, counts / counts.sum(), mean, var)


@dataclass(frozen=True)
class BucketModel:
    """One build's behaviour as bucket probabilities: what a judge sees of it."""

    failure: float
    confidence: Buckets
    cost: Buckets
    duration: Buckets


def model_of(behaviour: Behaviour, rng: random.Random, stable: "BucketModel | None" = None) -> BucketModel:
    """Bucket probabilities of `behaviour`; what it shares with the healthy build reuses `stable`'s,
    so an unchanged metric is exactly unchanged (no Monte Carlo noise between arms)."""

    def buckets(name: str, bounds: tuple[float, ...]) -> Buckets:
        if stable is not None and getattr(behaviour, name) is getattr(HEALTHY, name):
            return getattr(stable, name)  # type: ignore[no-any-return]
        return buckets_of(getattr(behaviour, name), bounds, rng)

    return BucketModel(
        behaviour.failure_rate,
        buckets("confidence", CONFIDENCE_BUCKETS),
        buckets("cost", COST_BUCKETS),
        buckets("duration", DURATION_BUCKETS),
    )


class Tally:
    """Cumulative counts of one arm, plus per-interval snapshots for the fixed-window judges."""

    def __init__(self, arm: BucketModel) -> None:
        self.arm = arm
        self.requests = 0
        self.failures = 0
        self.hist = {name: np.zeros(len(getattr(arm, name).p)) for name in ("confidence", "cost", "duration")}
        self.cost_sum = 0.0
        self.intervals: list[dict[str, np.ndarray | int]] = []
        self.cost_sums: list[float] = []  # per interval, as `_sum` grows between two scrapes

    def step(self, rng: np.random.Generator, n: int) -> None:
        failures = int(rng.binomial(n, self.arm.failure))
        snapshot: dict[str, np.ndarray | int] = {"n": n, "failures": failures}
        for name, counts in self.hist.items():
            buckets: Buckets = getattr(self.arm, name)
            drawn = rng.multinomial(n, buckets.p)
            counts += drawn
            snapshot[name] = drawn
            if name == "cost":
                noise = math.sqrt(float((drawn * buckets.var).sum()))
                interval_sum = max(
                    float((drawn * buckets.mean).sum()) + noise * float(rng.standard_normal()), 0.0
                )
                self.cost_sums.append(interval_sum)
                self.cost_sum += interval_sum
        self.requests += n
        self.failures += failures
        self.intervals.append(snapshot)

    def histogram(
        self, name: str, counts: np.ndarray | None = None, cost_sum: float | None = None
    ) -> Histogram:
        counts = self.hist[name] if counts is None else counts
        bounds = getattr(self.arm, name).bounds
        cumulative = np.cumsum(counts)
        return Histogram(
            tuple(bounds), tuple(float(c) for c in cumulative[:-1]), float(cumulative[-1]), cost_sum
        )

    def counts(self) -> ArmCounts:
        """Each interval is one stratum (one scrape of one pod), as the judge reads Prometheus."""

        def cells(name: str) -> Cells:
            bounds = tuple(getattr(self.arm, name).bounds)
            return Cells(
                bounds,
                tuple(
                    PodCell(
                        k,
                        tuple(float(c) for c in np.cumsum(interval[name])[:-1]),
                        float(interval["n"]),
                        self.cost_sums[k] if name == "cost" else None,
                    )
                    for k, interval in enumerate(self.intervals)
                    if interval["n"]
                ),
            )

        return ArmCounts(
            requests=tuple(float(i["n"]) for i in self.intervals),
            failures=tuple(float(i["failures"]) for i in self.intervals),
            confidence=cells("confidence"),
            duration=cells("duration"),
            cost=cells("cost"),
        )


# --- judges: each returns "fail", "pass" or "wait" after a look ----------------------------------

Judge = Callable[[Tally, Tally], str]

LEVELS = Levels(ALPHA_FAIL, ALPHA_PASS, JUDGE_DEFAULTS.min_requests)


def judge_counts(
    c: ArmCounts,
    b: ArmCounts,
    reference: Reference,
    strata: range,
    minutes: float,
    tolerances: Mapping[CheckName, float] = DEFAULT_TOLERANCES,
    checks: Sequence[CheckName] = CHECKS,
) -> str:
    """The judge's decision on synthetic counts: its checks, combined as `webhook.judge` does."""
    verdicts = [
        check_verdict(name, c, b, reference, Context(strata, tolerances[name], LEVELS, minutes))
        for name in checks
    ]
    if "fail" in verdicts:
        return "fail"
    return "pass" if all(v == "pass" for v in verdicts) else "wait"


def ours(canary: Tally, baseline: Tally) -> str:
    """The judge's checks; the baseline's first intervals set its thresholds (no data before the
    canary in this simulation), as the judge does for a stable as young as the canary's run."""
    c, b = canary.counts(), baseline.counts()
    found = reference_from_run(b, 0.0, JUDGE_DEFAULTS.reference_requests)
    if found is None:
        return "wait"
    reference, first = found
    minutes = (len(b.requests) - first) * INTERVAL_S / 60
    return judge_counts(c, b, reference, range(first, len(b.requests)), minutes)


def _p95(counts: np.ndarray, bounds: tuple[float, ...]) -> float:
    """histogram_quantile(0.95) with linear interpolation inside the bucket, as Prometheus does."""
    total = counts.sum()
    if total == 0:
        return math.nan
    rank, running, lower = 0.95 * total, 0.0, 0.0
    for bound, count in zip(bounds, counts[:-1], strict=False):
        if running + count >= rank:
            return lower + (bound - lower) * (rank - running) / count if count else bound
        running += count
        lower = bound
    return bounds[-1]


def seed_thresholds(canary: Tally, baseline: Tally) -> str:
    """The seed's absolute checks over the last 5 minutes: error rate > 1 %, p95 > 1.5x stable."""
    window = slice(-5, None)

    def last(tally: Tally, key: str) -> np.ndarray | int:
        return sum(i[key] for i in tally.intervals[window])

    n = int(last(canary, "n"))
    if n and int(last(canary, "failures")) / n > 0.01:
        return "fail"
    p95_c = _p95(np.asarray(last(canary, "duration")), DURATION_BUCKETS)
    p95_b = _p95(np.asarray(last(baseline, "duration")), DURATION_BUCKETS)
    if p95_c > 1.5 * p95_b:
        return "fail"
    return "pass"  # an absolute-threshold metric succeeds every look it does not fail


def _mann_whitney_p(canary: list[float], baseline: list[float]) -> float:
    """One-sided p-value that the canary tends to be larger (normal approximation, tie-corrected)."""
    n1, n2 = len(canary), len(baseline)
    values = np.array(canary + baseline)
    order = values.argsort()
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    ties = 0.0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / sigma
    return 0.5 * math.erfc(z / math.sqrt(2))


def _interval_metrics(tally: Tally) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"errors": [], "confidence": [], "cost": [], "latency": []}
    conf_mid = np.array([b - 0.025 for b in CONFIDENCE_BUCKETS] + [1.0])
    for i in tally.intervals:
        n = int(i["n"])
        if n == 0:
            continue
        out["errors"].append(int(i["failures"]) / n)
        out["confidence"].append(-float((np.asarray(i["confidence"]) * conf_mid).sum()) / n)  # lower is worse
        out["cost"].append(float((np.asarray(i["cost"]) * tally.arm.cost.mean).sum()) / n)
        out["latency"].append(_p95(np.asarray(i["duration"]), DURATION_BUCKETS))
    return out


def kayenta_at(p_value: float) -> Judge:
    """Kayenta-style: per-interval values, a one-sided rank test per metric, asked at every look."""

    def judge(canary: Tally, baseline: Tally) -> str:
        c, b = _interval_metrics(canary), _interval_metrics(baseline)
        for name in c:
            if len(c[name]) < 3 or len(b[name]) < 3:
                continue  # Kayenta has no minimum: few points mean a wide interval, which passes
            if _mann_whitney_p(c[name], b[name]) < p_value:
                return "fail"
        return "pass"

    return judge


def _multinomial_llr(counts: np.ndarray, p1: np.ndarray, p0: np.ndarray) -> float:
    mask = counts > 0
    return float((counts[mask] * np.log(np.maximum(p1[mask], 1e-12) / np.maximum(p0[mask], 1e-12))).sum())


def _measures(arm: BucketModel, base: BucketModel) -> list[tuple[float, float]]:
    """(effect, tolerance) of every measure the judge compares, oriented so larger is worse."""
    conf, base_conf = arm.confidence, base.confidence
    mean_conf = float((conf.p * conf.mean).sum())
    out = [(float((base_conf.p * base_conf.mean).sum()) - mean_conf, DEFAULT_TOLERANCES["confidence"])]
    for level in CONFIDENCE_LEVELS:
        upto = CONFIDENCE_BUCKETS.index(level) + 1
        base_share = float(base_conf.p[:upto].sum())
        if base_share <= LOW_TAIL_SHARE:
            out.append((float(conf.p[:upto].sum()) - base_share, DEFAULT_TOLERANCES["confidence"]))
    base_cost = float((base.cost.p * base.cost.mean).sum())
    out.append((float((arm.cost.p * arm.cost.mean).sum()) / base_cost - 1, DEFAULT_TOLERANCES["cost"]))
    out.append((arm.failure - base.failure, DEFAULT_TOLERANCES["errors"]))
    tail = int(np.searchsorted(np.cumsum(base.duration.p), TAIL_QUANTILE)) + 1
    out.append(
        (float(arm.duration.p[tail:].sum() - base.duration.p[tail:].sum()), DEFAULT_TOLERANCES["latency"])
    )
    return out


def at_tolerance(truth: BucketModel, base: BucketModel) -> BucketModel:
    """The arm on the line from the baseline to `truth` where the first measure reaches its tolerance.

    Every measure is linear along the line (shares and means of a mixture), so this is the
    acceptable arm closest to the truth in the truth's own direction.
    """
    t = min(tol / effect for effect, tol in _measures(truth, base) if effect > 0)

    def mix(b: Buckets, x: Buckets) -> Buckets:
        p = b.p + t * (x.p - b.p)
        mean = np.divide(
            b.p * b.mean + t * (x.p * x.mean - b.p * b.mean), p, out=np.zeros_like(p), where=p > 0
        )
        return Buckets(b.bounds, p, mean, b.var)

    return BucketModel(
        base.failure + t * (truth.failure - base.failure),
        mix(base.confidence, truth.confidence),
        mix(base.cost, truth.cost),
        mix(base.duration, truth.duration),
    )


def oracle(truth: BucketModel, base: BucketModel) -> Judge:
    """Wald's SPRT on the canary's requests: the true distribution against the one at tolerance.

    It knows both arms' true distributions and which way the canary changed, and it tests the
    judge's own question (worse than the tolerance, or not) with no split over checks.
    """
    acceptable = at_tolerance(truth, base)

    def judge(canary: Tally, _baseline: Tally) -> str:
        llr = canary.failures * math.log(truth.failure / acceptable.failure) + (
            canary.requests - canary.failures
        ) * math.log((1 - truth.failure) / (1 - acceptable.failure))
        for name in ("confidence", "cost", "duration"):
            llr += _multinomial_llr(canary.hist[name], getattr(truth, name).p, getattr(acceptable, name).p)
        if llr >= math.log(1 / ALPHA_FAIL):
            return "fail"
        return "pass" if llr <= math.log(ALPHA_PASS) else "wait"

    return judge


KAYENTA_LOOKS = "kayenta-style, Bonferroni over looks"
# Each judge is made for one scenario (only the oracle uses the arms); `ours` and the oracle stop
# at their first pass, the threshold and Kayenta-style judges pass when no look failed.
JUDGES: dict[str, Callable[[BucketModel, BucketModel], Judge]] = {
    "ours": lambda truth, base: ours,
    "seed thresholds": lambda truth, base: seed_thresholds,
    "kayenta-style (p < 0.01 per look)": lambda truth, base: kayenta_at(0.01),
    # The same rank tests held to our false-abort budget: 1 % over 4 metrics and every look.
    KAYENTA_LOOKS: lambda truth, base: kayenta_at(ALPHA_FAIL / (4 * LOOKS)),
    "oracle SPRT": oracle,
}
STOPS_AT_PASS = ("ours", "oracle SPRT")
REGRESSIONS = ("confidence", "cost", "errors", "latency")


@dataclass
class RunOutcome:
    verdict: str  # fail, pass, or wait (nothing decided by the last look)
    canary_requests: int


def run_once(
    judge: Judge,
    stops_at_pass: bool,
    canary: BucketModel,
    baseline: BucketModel,
    weight: float,
    rate: float,
    seed: int,
) -> RunOutcome:
    rng = np.random.default_rng(seed)
    c, b = Tally(canary), Tally(baseline)
    verdict = "wait"
    for _ in range(LOOKS):
        c.step(rng, int(rng.poisson(rate * weight * INTERVAL_S)))
        b.step(rng, int(rng.poisson(rate * (1 - weight) * INTERVAL_S)))
        verdict = judge(c, b)
        if verdict == "fail" or (verdict == "pass" and stops_at_pass):
            return RunOutcome(verdict, c.requests)
    return RunOutcome("pass" if verdict == "pass" else "wait", c.requests)


def median_to_fail(outcomes: list[RunOutcome]) -> float:
    """Median canary requests until `fail`, counting runs that never failed as never (inf)."""
    return statistics.median([o.canary_requests if o.verdict == "fail" else math.inf for o in outcomes])


@dataclass(frozen=True)
class Cell:
    kind: str  # none, low, or the regression's check
    weight: float
    judge: str
    outcomes: list[RunOutcome]


def quality(seed: int, runs: int, rate: float = TOTAL_RATE) -> str:
    model_rng = random.Random(seed)
    stable = model_of(HEALTHY, model_rng)
    arms = {name: (kind, model_of(b, model_rng, stable)) for name, (kind, b) in SCENARIOS.items()}
    families = [(name, kind, arm, rate) for name, (kind, arm) in arms.items()]
    families.append((f"low traffic, no change ({LOW_TRAFFIC_RATE} req/s)", "low", stable, LOW_TRAFFIC_RATE))
    lines = [
        f"seed {seed}, {runs} runs per cell, Argo asks every {INTERVAL_S}s for {LOOKS} looks, "
        f"{rate:g} req/s in total unless stated, alpha_fail {ALPHA_FAIL}, alpha_pass {ALPHA_PASS}",
        "",
        "| scenario | weight | judge | fail % | pass % | undecided % | median canary requests to fail "
        "| median minutes to fail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cells: dict[tuple[str, float, str], Cell] = {}
    for name, kind, arm, traffic in families:
        for weight in WEIGHTS:
            for judge_name, make in JUDGES.items():
                if judge_name == "oracle SPRT" and kind not in REGRESSIONS:
                    continue  # the oracle knows there is nothing to find
                judge = make(arm, stable)
                stops = judge_name in STOPS_AT_PASS
                outcomes = [
                    run_once(judge, stops, arm, stable, weight, traffic, seed * 100_000 + r)
                    for r in range(runs)
                ]
                cells[(name, weight, judge_name)] = Cell(kind, weight, judge_name, outcomes)
                share = {
                    v: 100 * sum(o.verdict == v for o in outcomes) / runs for v in ("fail", "pass", "wait")
                }
                median = median_to_fail(outcomes)
                minutes = median / (traffic * weight * 60)
                shown = ("–", "–") if math.isinf(median) else (f"{median:.0f}", f"{minutes:.1f}")
                lines.append(
                    f"| {name} | {weight:.0%} | {judge_name} | {share['fail']:.1f} | {share['pass']:.1f} "
                    f"| {share['wait']:.1f} | {shown[0]} | {shown[1]} |"
                )
    lines += ["", *_summary(cells, runs)]
    return "\n".join(lines)


def geometric_mean(ratios: Sequence[float], of: str) -> str:
    """`1.23x over N <of>`, or a dash when there is nothing to compare."""
    if not ratios:
        return "–"
    return f"{math.exp(statistics.fmean(math.log(r) for r in ratios)):.2f}x over {len(ratios)} {of}"


def _summary(cells: dict[tuple[str, float, str], Cell], runs: int) -> list[str]:
    """Error rates per judge, and its speed against ours on the regressions both detect."""
    out = [
        "| judge | false aborts (no change, improvement) | false aborts (low traffic) "
        "| false passes (regressions) | regression cells detected | requests to fail vs ours |",
        "|---|---|---|---|---|---|",
    ]
    regression_cells = [(k[0], k[1]) for k, c in cells.items() if c.kind in REGRESSIONS and k[2] == "ours"]
    for judge_name in JUDGES:
        mine = [c for (_, _, j), c in cells.items() if j == judge_name]

        def rate(kinds: tuple[str, ...], verdict: str, mine: list[Cell] = mine) -> str:
            outcomes = [o for c in mine if c.kind in kinds for o in c.outcomes]
            if not outcomes:
                return "n/a"
            return f"{100 * sum(o.verdict == verdict for o in outcomes) / len(outcomes):.1f}%"

        # Per regression cell where both detect in most runs: this judge's median over ours.
        ratios = []
        detected = 0
        for name, weight in regression_cells:
            theirs = median_to_fail(cells[(name, weight, judge_name)].outcomes)
            detected += math.isfinite(theirs)
            ours_median = median_to_fail(cells[(name, weight, "ours")].outcomes)
            if math.isfinite(theirs) and math.isfinite(ours_median):
                ratios.append(theirs / ours_median)
        ratio = geometric_mean(ratios, "cells")
        out.append(
            f"| {judge_name} | {rate(('none',), 'fail')} | {rate(('low',), 'fail')} "
            f"| {rate(REGRESSIONS, 'pass')} | {detected} of {len(regression_cells)} | {ratio} |"
        )
    out += [
        "",
        f"{runs} runs per cell. A cell counts as detected when the judge fails in over half its runs "
        f"within {LOOKS} looks; the ratio is the geometric mean of the judge's median canary requests "
        "to fail over ours, on the cells both detect.",
    ]
    return out


# --- overhead ---------------------------------------------------------------------------------------

OVERHEAD_HISTORY, OVERHEAD_WINDOW = 3600, 1800


def overhead(seed: int, calls: int, concurrency: int) -> str:
    import requests

    from tools.local_prometheus import backfill, run_prometheus
    from tools.traffic import TrafficArm, openmetrics, openmetrics_document
    from webhook.backends import PrometheusBackend
    from webhook.judge import JudgeConfig, evaluate, judge
    from webhook.models import JudgementRequest

    end = math.floor((time.time() - 3 * 3600) / 60) * 60
    # A stable that has served for an hour when the canary starts, then 30 minutes of both.
    duration = OVERHEAD_HISTORY + OVERHEAD_WINDOW
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        arms = [
            TrafficArm("c0ffee1", 1.0, runs=((OVERHEAD_HISTORY / duration, 1.0),)),
            TrafficArm("ba5e11e", 3.0, pods=3),
        ]
        backfill(
            openmetrics_document(
                [openmetrics("bench", arms, start=end - duration, duration=duration, seed=seed)]
            ),
            work / "data",
            work,
        )
        with run_prometheus(work, data_dir=work / "data") as url:
            request = JudgementRequest.model_validate(
                {"agent": "bench", "canary": "c0ffee1", "baseline": "ba5e11e", "end": end}
            )
            sample = evaluate(request, PrometheusBackend(url, cache_ttl=0), JudgeConfig())
            session = requests.Session()
            answered: list[int] = []

            def send_all(batch: list[str]) -> None:
                with ThreadPoolExecutor(len(batch)) as pool:
                    for response in pool.map(
                        lambda q: session.post(f"{url}/api/v1/query", data={"query": q, "time": end}),
                        batch,
                    ):
                        response.raise_for_status()
                        answered.append(len(response.content))

            def raw() -> float:
                began = time.perf_counter()
                for batch in sample.rounds:  # each round needs the answers of the one before
                    send_all(batch)
                return time.perf_counter() - began

            def judged() -> float:
                began = time.perf_counter()
                judge(request, PrometheusBackend(url, cache_ttl=0))
                return time.perf_counter() - began

            raw()
            size = sum(answered)

            def pair(index: int) -> tuple[float, float]:
                # Back to back, in turn first, so drift in machine load hits both alike.
                if index % 2:
                    judgement = judged()
                    return raw(), judgement
                return raw(), judged()

            with ThreadPoolExecutor(concurrency) as pool:
                pairs = list(pool.map(pair, range(calls)))
    latencies = {"raw PromQL": sorted(r for r, _ in pairs), "judgement": sorted(j for _, j in pairs)}
    lines = [
        f"seed {seed}: {calls} pairs at concurrency {concurrency}; 3 stable pods scraped every 15 s for "
        f"{OVERHEAD_HISTORY // 60} minutes, then a canary pod too for {OVERHEAD_WINDOW // 60} minutes; "
        f"{sample.judgement.verdict}; {sum(map(len, sample.rounds))} queries in {len(sample.rounds)} rounds "
        f"({', '.join(str(len(r)) for r in sample.rounds)}), answers of {size / 1000:.0f} kB",
        "",
        "| what | p50 ms | p99 ms |",
        "|---|---|---|",
    ]
    p50 = {}
    for name, found in latencies.items():
        p50[name] = statistics.median(found)
        p99 = found[min(len(found) - 1, int(0.99 * len(found)))]
        lines.append(f"| {name} | {1000 * p50[name]:.0f} | {1000 * p99:.0f} |")
    lines.append("")
    lines.append(
        f"judgement p50 / raw PromQL p50 = {p50['judgement'] / p50['raw PromQL']:.2f}x; "
        f"median of the pairs' ratios {statistics.median(j / r for r, j in pairs):.2f}x"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.judge_quality", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--seed", type=int, default=1)
    q.add_argument("--runs", type=int, default=200)
    q.add_argument("--rate", type=float, default=TOTAL_RATE, help="requests per second, canary and stable")
    o = sub.add_parser("overhead")
    o.add_argument("--seed", type=int, default=1)
    o.add_argument("--calls", type=int, default=100)
    o.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    text = (
        quality(args.seed, args.runs, args.rate)
        if args.what == "quality"
        else overhead(args.seed, args.calls, args.concurrency)
    )
    sys.stdout.write(text + f"\n\n(ran in {time.perf_counter() - began:.0f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
