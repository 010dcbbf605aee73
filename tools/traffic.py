"""Synthetic canary/baseline traffic as OpenMetrics text, for backfilled tests and the benchmark.

Each arm is a set of pods emitting the agent metric contract; `openmetrics()` writes what a
Prometheus scraping them every `step` seconds would have stored.
"""

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kernel.contract import CONFIDENCE_BUCKETS, COST_BUCKETS, DURATION_BUCKETS

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


@dataclass(frozen=True)
class Arm:
    """The traffic of one pod-template hash."""

    pod_hash: str
    rate: float  # requests per second over all its pods
    failure_rate: float = 0.01
    confidence: Sampler = field(default=beta(8, 2))
    cost: Sampler = field(default=lognormal(0.002, 0.5))
    duration: Sampler = field(default=lognormal(0.3, 0.4))
    pods: int = 1
    restart_at: float | None = None  # fraction of the window after which pod 0 restarts (counters reset)


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
    requests: dict[str, int] = field(default_factory=lambda: {"success": 0, "failure": 0})
    confidence: _Histogram = field(default_factory=lambda: _Histogram(CONFIDENCE_BUCKETS))
    cost: _Histogram = field(default_factory=lambda: _Histogram(COST_BUCKETS))
    duration: _Histogram = field(default_factory=lambda: _Histogram(DURATION_BUCKETS))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method in chunks keeps exp() from underflowing for large means.
    count = 0
    while mean > 0:
        chunk = min(mean, 30.0)
        mean -= chunk
        limit, product = math.exp(-chunk), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def openmetrics(
    agent: str,
    arms: Iterable[Arm],
    *,
    start: int,
    duration: int,
    step: int = 15,
    namespace: str = "agents-dev",
    seed: int = 1,
) -> dict[str, list[str]]:
    """Sample lines per metric family, series created at zero at `start`, scraped every `step` s."""
    rng = random.Random(f"{agent}/{seed}")
    families: dict[str, list[str]] = {name: [] for name in TYPES}
    for arm in arms:
        pods = [
            _Pod(f'agent_name="{agent}",namespace="{namespace}",pod="{agent}-{arm.pod_hash}-{i}",'
                 f'rollouts_pod_template_hash="{arm.pod_hash}"')
            for i in range(arm.pods)
        ]  # fmt: skip
        restarted = False
        for t in range(start, start + duration + 1, step):
            if arm.restart_at is not None and not restarted and t >= start + arm.restart_at * duration:
                pods[0] = _Pod(pods[0].labels)
                restarted = True
            if t > start:
                for _ in range(_poisson(rng, arm.rate * step)):
                    pod = pods[rng.randrange(len(pods))]
                    failed = rng.random() < arm.failure_rate
                    pod.requests["failure" if failed else "success"] += 1
                    pod.confidence.observe(min(1.0, max(0.0, arm.confidence(rng))))
                    pod.cost.observe(arm.cost(rng))
                    pod.duration.observe(arm.duration(rng))
            for pod in pods:
                _emit(families, pod, t)
    return families


def _emit(families: dict[str, list[str]], pod: _Pod, t: int) -> None:
    for status, count in pod.requests.items():
        families["agent_requests"].append(
            f'agent_requests_total{{{pod.labels},status="{status}"}} {count} {t}'
        )
    for name, histogram in (
        ("agent_confidence", pod.confidence),
        ("agent_request_cost_usd", pod.cost),
        ("agent_duration_seconds", pod.duration),
    ):
        lines = families[name]
        for le, count in histogram.cumulative():
            lines.append(f'{name}_bucket{{{pod.labels},le="{le}"}} {count} {t}')
        lines.append(f"{name}_sum{{{pod.labels}}} {histogram.sum:.9g} {t}")
        lines.append(f"{name}_count{{{pod.labels}}} {sum(histogram.counts)} {t}")


TYPES = {
    "agent_requests": "counter",
    "agent_confidence": "histogram",
    "agent_request_cost_usd": "histogram",
    "agent_duration_seconds": "histogram",
}


def render(parts: Iterable[dict[str, list[str]]]) -> str:
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
