"""Classic Prometheus histograms as cumulative bucket counts, and what can be read from them."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from webhook.backends.base import Series
from webhook.stats.counters import stratified_increase


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

    def mean_at_or_below(self, bound: float) -> float:
        """The mean of the observations <= `bound` (one of the bounds), each at its bucket's midpoint."""
        return midpoint_mean(self.bounds, self.cumulative, bound)

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


def midpoint_mean(bounds: Sequence[float], cumulative: Sequence[float], bound: float) -> float:
    """The mean of the observations <= `bound` (one of `bounds`), each at its bucket's midpoint."""
    inside, lower, previous = 0.0, 0.0, 0.0
    for upper, count in zip(bounds, cumulative, strict=True):
        inside += (lower + upper) / 2 * (count - previous)
        lower, previous = upper, count
        if upper == bound:
            return inside / count if count else bound / 2
    raise ValueError(f"{bound} is not a bucket bound")


def bucket_bound(series: Series) -> float:
    """The `le` label of a `_bucket` series as a number; NaN when missing or malformed."""
    try:
        return float(series.labels.get("le", "nan"))
    except ValueError:
        return math.nan


def from_vector(buckets: Iterable[Series], sums: Iterable[Series] = ()) -> Histogram:
    """One histogram from an instant vector of per-`le` counts (an answer to `sum by (le) (...)`)."""
    counts: dict[float, float] = {}
    for series in buckets:
        bound = bucket_bound(series)
        if not math.isnan(bound) and series.points:
            counts[bound] = counts.get(bound, 0.0) + max(series.points[-1][1], 0.0)
    total = counts.pop(math.inf, 0.0)
    bounds = tuple(sorted(counts))
    cumulative: list[float] = []
    running = 0.0
    for bound in bounds:
        # Pods scraped at slightly different moments can make buckets disagree; keep them monotone.
        running = max(running, counts[bound])
        cumulative.append(running)
    total = max(total, running)
    summed = [s.points[-1][1] for s in sums if s.points]
    return Histogram(bounds, tuple(cumulative), total, sum(summed) if summed else None)


@dataclass(frozen=True)
class PodCell:
    """What one pod's histogram gained in one stratum (one scrape interval)."""

    stratum: int
    cumulative: tuple[float, ...]  # at or below each of the arm's finite bounds
    total: float
    sum: float | None


@dataclass(frozen=True)
class Cells:
    """One arm's histogram as per-pod, per-stratum increments, on the bounds all its pods share.

    The judge reads per pod only the bounds its checks use; `shape` is then the arm's judged
    strata at every bound, summed by Prometheus: where its observations lie within the buckets.
    """

    bounds: tuple[float, ...]
    cells: tuple[PodCell, ...]
    shape: Histogram | None = None

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


def winsorised_sum(below: float, above: float, sum_: float | None, cap: float, mean_below: float) -> float:
    """The sum of min(x, cap) over `below` observations at or under `cap` and `above` beyond it.

    Exact from `_sum` when nothing lies above `cap`; otherwise those below count at `mean_below`
    (their buckets' midpoints), those above at `cap`, and never more than `_sum` itself.
    """
    if above <= 0 and sum_ is not None:
        return sum_
    estimate = below * mean_below + cap * max(above, 0.0)
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


def cells_from_series(
    buckets: Iterable[Series], sums: Iterable[Series], edges: Sequence[float], shape: Histogram | None = None
) -> Cells:
    """Per-pod increments of every bucket read (and `_sum`) between consecutive `edges`."""
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
    return Cells(bounds, tuple(cells), shape)
