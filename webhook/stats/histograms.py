"""Classic Prometheus histograms as cumulative bucket counts, and what can be read from them."""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from webhook.backends.base import Series
from webhook.stats.counters import sum_increase


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
