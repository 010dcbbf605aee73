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


def first_timestamp(series: Iterable[Series]) -> float | None:
    """The earliest finite sample among `series`, or None when there is none."""
    times = [t for s in series for t, v in s.points if math.isfinite(v)]
    return min(times) if times else None


def stratified_increase(series: Iterable[Series], edges: Sequence[float]) -> list[float]:
    """The summed increase of `series` in each interval (edges[k], edges[k + 1]].

    The judge calls this for every bucket of every pod at every look, and at agent traffic most
    samples of a bucket repeat the one before: only a changed value costs a bisection. Each
    interval's increase is the reset-corrected value at its last sample minus the one before it,
    as `value_at` reads them.
    """
    strata = max(len(edges) - 1, 0)
    out = [0.0] * strata
    for s in series:
        offset, previous, current = 0.0, None, 0.0
        open_k, open_base = -1, 0.0  # the interval of the latest change, and the value before it
        for t, value in s.points:
            if not math.isfinite(value) or value < 0:
                continue
            if previous is not None and value < previous:
                offset += previous
            previous = value
            if value + offset == current:
                continue
            k = bisect.bisect_left(edges, t) - 1  # edges[k] < t <= edges[k + 1]
            if k != open_k:
                if 0 <= open_k < strata:
                    out[open_k] += current - open_base
                open_k, open_base = k, current
            current = value + offset
        if 0 <= open_k < strata:
            out[open_k] += current - open_base
    return out
