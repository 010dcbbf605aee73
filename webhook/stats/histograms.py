"""Classic Prometheus histograms as cumulative bucket counts, and what can be read from them."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from webhook.backends.base import Series
from webhook.stats.counters import stratified_increase, sum_increase


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts at each finite upper bound, the total (the +Inf bucket), and the sum."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]
    total: float
    sum: float | None = None

    def share_at_or_below(self, bound: float) -> float:
        """Fraction of observations <= `bound` (`bound` must be one of the bucket bounds)."""
        return self.cumulative[self.bounds.index(bound)] / self.total if self.total else math.nan

    def count_at_or_below(self, bound: float) -> float:
        return self.cumulative[self.bounds.index(bound)]

    def quantile_bound(self, q: float) -> float:
        """The smallest bucket bound with at least a share `q` of observations at or below it."""
        for bound, count in zip(self.bounds, self.cumulative, strict=True):
            if count >= q * self.total:
                return bound
        return self.bounds[-1]

    def buckets(self) -> list[tuple[float, float, float]]:
        """(lower, upper, count) per bucket; the +Inf bucket's upper edge is twice the last bound."""
        out = []
        lower, previous = 0.0, 0.0
        for bound, count in zip(self.bounds, self.cumulative, strict=True):
            out.append((lower, bound, count - previous))
            lower, previous = bound, count
        out.append((lower, 2 * lower if lower > 0 else 1.0, self.total - previous))
        return out

    def mean(self) -> float:
        """The mean from `_sum` when known, else from bucket midpoints."""
        if not self.total:
            return math.nan
        if self.sum is not None:
            return self.sum / self.total
        return sum((lo + hi) / 2 * n for lo, hi, n in self.buckets()) / self.total

    def variance(self) -> float:
        """Per-observation variance: bucket midpoints plus a uniform spread within each bucket.

        Uses the midpoint mean, not `_sum`, so the estimate is never below the within-bucket spread.
        """
        if not self.total:
            return math.nan
        buckets = self.buckets()
        mid_mean = sum((lo + hi) / 2 * n for lo, hi, n in buckets) / self.total
        second = sum(n * (((lo + hi) / 2) ** 2 + (hi - lo) ** 2 / 12) for lo, hi, n in buckets) / self.total
        return max(second - mid_mean**2, 0.0)


def bucket_bound(series: Series) -> float:
    """The `le` label of a `_bucket` series as a number; NaN when missing or malformed."""
    try:
        return float(series.labels.get("le", "nan"))
    except ValueError:
        return math.nan


def from_series(
    buckets: Iterable[Series], start: float, end: float, sums: Iterable[Series] = ()
) -> Histogram:
    """Sum the `_bucket` series of all pods per `le` over (start, end] into one histogram."""
    by_bound: dict[float, list[Series]] = {}
    for series in buckets:
        bound = bucket_bound(series)
        if not math.isnan(bound):
            by_bound.setdefault(bound, []).append(series)
    counts = {bound: sum_increase(group, start, end) for bound, group in by_bound.items()}
    total = counts.pop(math.inf, 0.0)
    bounds = tuple(sorted(counts))
    cumulative: list[float] = []
    running = 0.0
    for bound in bounds:
        # Pods scraped at slightly different moments can make buckets disagree; keep them monotone.
        running = max(running, counts[bound])
        cumulative.append(running)
    total = max(total, running)
    sum_series = list(sums)
    total_sum = sum_increase(sum_series, start, end) if sum_series else None
    return Histogram(bounds, tuple(cumulative), total, total_sum)


@dataclass(frozen=True)
class PodCell:
    """What one pod's histogram gained in one stratum (one scrape interval)."""

    stratum: int
    cumulative: tuple[float, ...]  # at or below each of the arm's finite bounds
    total: float
    sum: float | None


@dataclass(frozen=True)
class Cells:
    """One arm's histogram as per-pod, per-stratum increments, on the bounds all its pods share."""

    bounds: tuple[float, ...]
    cells: tuple[PodCell, ...]

    def histogram(self, strata: range | None = None) -> Histogram:
        """The totals over `strata` (default all) as one histogram."""
        chosen = [c for c in self.cells if strata is None or c.stratum in strata]
        cumulative = tuple(sum(c.cumulative[i] for c in chosen) for i in range(len(self.bounds)))
        sums = [c.sum for c in chosen]
        total_sum = None if any(s is None for s in sums) else sum(s for s in sums if s is not None)
        return Histogram(self.bounds, cumulative, sum(c.total for c in chosen), total_sum)

    def per_stratum(self, strata: int, bound: float | None = None) -> list[float]:
        """Observations per stratum, all of them or only those at or below `bound`."""
        out = [0.0] * strata
        index = None if bound is None else self.bounds.index(bound)
        for c in self.cells:
            out[c.stratum] += c.total if index is None else c.cumulative[index]
        return out


def winsorised_sum(
    bounds: Sequence[float], cumulative: Sequence[float], total: float, sum_: float | None, cap: float
) -> float:
    """The sum of min(x, cap) that the buckets and `_sum` allow, `cap` being one of `bounds`.

    Exact from `_sum` when nothing lies above `cap`; otherwise each bucket below `cap` counts at
    its midpoint, each observation above at `cap`, and never more than `_sum` itself.
    """
    index = bounds.index(cap)
    above = total - cumulative[index]
    if above <= 0 and sum_ is not None:
        return sum_
    inside, lower, previous = 0.0, 0.0, 0.0
    for bound, count in zip(bounds[: index + 1], cumulative[: index + 1], strict=True):
        inside += (lower + bound) / 2 * (count - previous)
        lower, previous = bound, count
    estimate = inside + cap * max(above, 0.0)
    return min(estimate, sum_) if sum_ is not None else estimate


def bucket_variance(bounds: Sequence[float], cumulative: Sequence[float], total: float, cap: float) -> float:
    """Per-observation variance of min(x, cap) from the buckets alone: midpoints plus a uniform
    spread within each bucket, observations above `cap` at `cap`."""
    if not total:
        return math.nan
    index = bounds.index(cap)
    first = second = 0.0
    lower = previous = 0.0
    for bound, count in zip(bounds[: index + 1], cumulative[: index + 1], strict=True):
        n, middle = count - previous, (lower + bound) / 2
        first += n * middle
        second += n * (middle * middle + (bound - lower) ** 2 / 12)
        lower, previous = bound, count
    above = total - cumulative[index]
    first += above * cap
    second += above * cap * cap
    return max(second / total - (first / total) ** 2, 0.0)


def cells_from_series(buckets: Iterable[Series], sums: Iterable[Series], edges: Sequence[float]) -> Cells:
    """Per-pod increments of every bucket (and `_sum`) between consecutive `edges`."""
    pods: dict[tuple[tuple[str, str], ...], dict[float, Series]] = {}
    for series in buckets:
        bound = bucket_bound(series)
        if not math.isnan(bound):
            key = tuple(sorted((k, v) for k, v in series.labels.items() if k not in ("le", "__name__")))
            pods.setdefault(key, {})[bound] = series
    sum_of = {tuple(sorted((k, v) for k, v in s.labels.items() if k != "__name__")): s for s in sums}
    finite = [{b for b in by_bound if math.isfinite(b)} for by_bound in pods.values() if math.inf in by_bound]
    bounds = tuple(sorted(set.intersection(*finite))) if finite else ()
    cells: list[PodCell] = []
    for key, by_bound in pods.items():
        if math.inf not in by_bound:
            continue
        steps = {b: stratified_increase([by_bound[b]], edges) for b in (*bounds, math.inf)}
        sum_series = sum_of.get(key)
        sum_steps = stratified_increase([sum_series], edges) if sum_series else None
        for k, total in enumerate(steps[math.inf]):
            if total <= 0:
                continue
            running, cumulative = 0.0, []
            for b in bounds:
                running = max(running, min(steps[b][k], total))  # keep it monotone and <= total
                cumulative.append(running)
            cells.append(PodCell(k, tuple(cumulative), total, sum_steps[k] if sum_steps else None))
    return Cells(bounds, tuple(cells))
