"""The one synthetic-traffic model: how builds answer and how requests arrive, with one set of
defaults at the traffic LLM agents really have (2 requests/s in total, 0.5 % failures on every build).

The benchmarks draw from it, and the judge's scenario, conformance and end-to-end tests backfill
Prometheus with it (`openmetrics()` writes what a Prometheus scraping each arm's pods every `step`
seconds would have stored).
"""

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kernel.contract import (
    AGENT_LABEL,
    CONFIDENCE,
    CONFIDENCE_BUCKETS,
    COST_BUCKETS,
    DURATION_BUCKETS,
    DURATION_SECONDS,
    POD_TEMPLATE_HASH_LABEL,
    REQUEST_COST_USD,
    REQUESTS_TOTAL,
    STATUSES,
)

TOTAL_RATE = 2.0  # requests per second over canary and stable pods: each one is a seconds-long LLM call
FAILURE_RATE = 0.005  # a healthy build's share of failed requests (provider errors, timeouts)
SCRAPE_INTERVAL = 15  # seconds

Sampler = Callable[[random.Random], float]


def beta(a: float, b: float) -> Sampler:
    return lambda rng: rng.betavariate(a, b)


def mixture(*parts: tuple[float, Sampler]) -> Sampler:
    """Draw from part i with probability weight_i."""

    def draw(rng: random.Random) -> float:
        pick = rng.random()
        for weight, sampler in parts:
            pick -= weight
            if pick <= 0:
                return sampler(rng)
        return parts[-1][1](rng)

    return draw


def lognormal(median: float, sigma: float) -> Sampler:
    return lambda rng: rng.lognormvariate(math.log(median), sigma)


# A healthy build: confidence ~ Beta(18, 3) (mean 0.86, as the local provider's baseline), about
# $0.002 and 0.3 s per request.
HEALTHY_CONFIDENCE = beta(18, 3)
HEALTHY_COST = lognormal(0.002, 0.5)
HEALTHY_DURATION = lognormal(0.3, 0.4)


def collapse(share: float) -> Sampler:
    """A share of answers whose confidence collapses to Beta(2, 8) (mean 0.2): a tail regression."""
    return mixture((1 - share, HEALTHY_CONFIDENCE), (share, beta(2, 8)))


def slow_tail(share: float) -> Sampler:
    """A share of requests four times slower."""
    return mixture((1 - share, HEALTHY_DURATION), (share, lognormal(1.2, 0.4)))


def pricier(factor: float) -> Sampler:
    return lognormal(0.002 * factor, 0.5)


@dataclass(frozen=True)
class Behaviour:
    """How one build answers, request by request; the defaults are a healthy build."""

    failure_rate: float = FAILURE_RATE
    confidence: Sampler = HEALTHY_CONFIDENCE
    cost: Sampler = HEALTHY_COST
    duration: Sampler = HEALTHY_DURATION


HEALTHY = Behaviour()


@dataclass(frozen=True)
class TrafficArm:
    """The traffic of one pod-template hash."""

    pod_hash: str
    rate: float  # requests per second over all its pods
    behaviour: Behaviour = HEALTHY
    pods: int = 1
    restart_at: float | None = None  # fraction of the window after which pod 0 restarts (counters reset)


def poisson(rng: random.Random, mean: float) -> int:
    """Requests arriving in an interval with `mean` expected; Knuth's method in chunks keeps exp()
    from underflowing for large means."""
    count = 0
    while mean > 0:
        chunk = min(mean, 30.0)
        mean -= chunk
        limit, product = math.exp(-chunk), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def go_float(value: float) -> str:
    """Format a bucket bound the way Prometheus clients do (`1.0`, `0.05`, `+Inf`)."""
    if math.isinf(value):
        return "+Inf"
    return repr(float(value))


class _Histogram:
    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            out.append((go_float(bound), running))
        return out


@dataclass
class _Pod:
    labels: str
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    confidence: _Histogram = field(default_factory=lambda: _Histogram(CONFIDENCE_BUCKETS))
    cost: _Histogram = field(default_factory=lambda: _Histogram(COST_BUCKETS))
    duration: _Histogram = field(default_factory=lambda: _Histogram(DURATION_BUCKETS))


def openmetrics(
    agent: str,
    arms: Iterable[TrafficArm],
    *,
    start: int,
    duration: int,
    step: int = SCRAPE_INTERVAL,
    namespace: str = "agents-dev",
    seed: int = 1,
) -> dict[str, list[str]]:
    """Sample lines per metric family, series created at zero at `start`, scraped every `step` s."""
    rng = random.Random(f"{agent}/{seed}")
    families: dict[str, list[str]] = {name: [] for name in TYPES}
    for arm in arms:
        pods = [
            _Pod(f'{AGENT_LABEL}="{agent}",namespace="{namespace}",pod="{agent}-{arm.pod_hash}-{i}",'
                 f'{POD_TEMPLATE_HASH_LABEL}="{arm.pod_hash}"')
            for i in range(arm.pods)
        ]  # fmt: skip
        restarted = False
        for t in range(start, start + duration + 1, step):
            if arm.restart_at is not None and not restarted and t >= start + arm.restart_at * duration:
                pods[0] = _Pod(pods[0].labels)
                restarted = True
            if t > start:
                behaviour = arm.behaviour
                for _ in range(poisson(rng, arm.rate * step)):
                    pod = pods[rng.randrange(len(pods))]
                    failed = rng.random() < behaviour.failure_rate
                    pod.requests["failure" if failed else "success"] += 1
                    pod.confidence.observe(min(1.0, max(0.0, behaviour.confidence(rng))))
                    pod.cost.observe(behaviour.cost(rng))
                    pod.duration.observe(behaviour.duration(rng))
            for pod in pods:
                _emit(families, pod, t)
    return families


def _emit(families: dict[str, list[str]], pod: _Pod, t: int) -> None:
    for status, count in pod.requests.items():
        families[REQUESTS_FAMILY].append(f'{REQUESTS_TOTAL}{{{pod.labels},status="{status}"}} {count} {t}')
    for name, histogram in (
        (CONFIDENCE, pod.confidence),
        (REQUEST_COST_USD, pod.cost),
        (DURATION_SECONDS, pod.duration),
    ):
        lines = families[name]
        for le, count in histogram.cumulative():
            lines.append(f'{name}_bucket{{{pod.labels},le="{le}"}} {count} {t}')
        lines.append(f"{name}_sum{{{pod.labels}}} {histogram.sum:.9g} {t}")
        lines.append(f"{name}_count{{{pod.labels}}} {sum(histogram.counts)} {t}")


REQUESTS_FAMILY = REQUESTS_TOTAL.removesuffix("_total")  # OpenMetrics names a counter's family without it
TYPES = {
    REQUESTS_FAMILY: "counter",
    CONFIDENCE: "histogram",
    REQUEST_COST_USD: "histogram",
    DURATION_SECONDS: "histogram",
}


def openmetrics_document(parts: Iterable[dict[str, list[str]]]) -> str:
    """Merge several agents' families into one OpenMetrics document ending in `# EOF`."""
    merged: dict[str, list[str]] = {name: [] for name in TYPES}
    for part in parts:
        for name, lines in part.items():
            merged[name].extend(lines)
    out: list[str] = []
    for name, lines in merged.items():
        out.append(f"# TYPE {name} {TYPES[name]}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"
