"""Exact counter increases from raw samples: resets, missing samples, NaN and +Inf handled."""

import bisect
import math
from collections.abc import Iterable, Sequence

from webhook.backends.base import Point, Series


def corrected(points: Sequence[Point]) -> list[Point]:
    """Cumulative values with counter resets undone; non-finite samples are dropped."""
    out: list[Point] = []
    offset = 0.0
    previous: float | None = None
    for t, value in points:
        if not math.isfinite(value) or value < 0:
            continue
        if previous is not None and value < previous:
            offset += previous  # the process restarted and counted up from zero again
        previous = value
        out.append((t, value + offset))
    return out


def value_at(cumulative: Sequence[Point], t: float) -> float:
    """The cumulative value of the last sample at or before `t`; 0 before the series' first sample.

    Agents create their series at zero on start-up, so a series first seen inside the window
    accrued its whole first value inside the window.
    """
    index = bisect.bisect_right(cumulative, (t, math.inf)) - 1
    return cumulative[index][1] if index >= 0 else 0.0


def increase(points: Sequence[Point], start: float, end: float) -> float:
    """How much one counter series grew over (start, end]."""
    cumulative = corrected(points)
    return max(0.0, value_at(cumulative, end) - value_at(cumulative, start))


def sum_increase(series: Iterable[Series], start: float, end: float) -> float:
    """The summed increase of several series, e.g. of one label value across pods."""
    return sum(increase(s.points, start, end) for s in series)


def first_timestamp(series: Iterable[Series]) -> float | None:
    """The earliest finite sample among `series`, or None when there is none."""
    times = [t for s in series for t, v in s.points if math.isfinite(v)]
    return min(times) if times else None


def stratified_increase(series: Iterable[Series], edges: Sequence[float]) -> list[float]:
    """The summed increase of `series` in each interval (edges[k], edges[k + 1]].

    One pass per series (the judge calls this for every bucket of every pod at every look):
    the same reset handling as `corrected` and `value_at`, without building either.
    """
    out = [0.0] * max(len(edges) - 1, 0)
    for s in series:
        values = [0.0] * len(edges)
        offset, previous, current, k = 0.0, None, 0.0, 0
        for t, value in s.points:
            if not math.isfinite(value) or value < 0:
                continue
            while k < len(edges) and edges[k] < t:
                values[k] = current
                k += 1
            if previous is not None and value < previous:
                offset += previous
            previous = value
            current = value + offset
        while k < len(edges):
            values[k] = current
            k += 1
        for i in range(len(out)):
            out[i] += max(0.0, values[i + 1] - values[i])
    return out
