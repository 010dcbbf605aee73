"""HTML report pages: one judgement with its charts, and an index of an agent's pod-template hashes."""

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from webhook import charts
from webhook.backends import MetricsBackend, Series
from webhook.judge import CONFIDENCE, COST, COST_SUM, DURATION, REQUESTS, Evaluation
from webhook.stats.checks import TAIL_QUANTILE
from webhook.stats.counters import corrected, value_at
from webhook.stats.histograms import Histogram, bucket_bound

BINS = 24
LOW_CONFIDENCE = 0.5
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Cumulative:
    """Reset-corrected totals of several series, readable at any time."""

    def __init__(self, series: Sequence[Series]) -> None:
        self._series = [corrected(s.points) for s in series]

    def at(self, t: float) -> float:
        return sum(value_at(c, t) for c in self._series)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _over_time(
    evaluation: Evaluation, arm: str, edges: Sequence[float], tail: float | None
) -> dict[str, list[float | None]]:
    series = evaluation.series

    def get(metric: str, status: str | None = None, le: float | None = None) -> _Cumulative:
        chosen = [
            s
            for s in series.get((arm, metric), [])
            if (status is None or s.labels.get("status") == status) and (le is None or bucket_bound(s) == le)
        ]
        return _Cumulative(chosen)

    requests, failures = get(REQUESTS), get(REQUESTS, status="failure")
    cost_sum, cost_count = get(COST_SUM), get(COST, le=math.inf)
    confidence_all, confidence_low = get(CONFIDENCE, le=math.inf), get(CONFIDENCE, le=LOW_CONFIDENCE)
    duration_all = get(DURATION, le=math.inf)
    duration_fast = get(DURATION, le=tail) if tail is not None else None
    out: dict[str, list[float | None]] = {"errors": [], "cost": [], "confidence": [], "latency": []}
    for a, b in zip(edges, edges[1:], strict=False):
        n = requests.at(b) - requests.at(a)
        out["errors"].append(_ratio(failures.at(b) - failures.at(a), n))
        out["cost"].append(_ratio(cost_sum.at(b) - cost_sum.at(a), cost_count.at(b) - cost_count.at(a)))
        total_conf = confidence_all.at(b) - confidence_all.at(a)
        out["confidence"].append(_ratio(confidence_low.at(b) - confidence_low.at(a), total_conf))
        total_dur = duration_all.at(b) - duration_all.at(a)
        fast = duration_fast.at(b) - duration_fast.at(a) if duration_fast else math.nan
        out["latency"].append(_ratio(total_dur - fast, total_dur) if duration_fast else None)
    return out


def _shares(histogram: Histogram | None) -> list[float]:
    if histogram is None or not histogram.total:
        return []
    return [n / histogram.total for _, _, n in histogram.buckets()]


def _bucket_labels(histogram: Histogram) -> list[str]:
    return [f"≤{hi:g}" for _, hi, _ in histogram.buckets()[:-1]] + [f">{histogram.bounds[-1]:g}"]


def _distribution(title: str, evaluation: Evaluation, attr: str) -> str | None:
    canary = getattr(evaluation.arms.get("canary"), attr, None)
    baseline = getattr(evaluation.arms.get("baseline"), attr, None)
    if (
        not canary
        or not baseline
        or not canary.total
        or not baseline.total
        or canary.bounds != baseline.bounds
    ):
        return None
    return charts.bars(
        title, _bucket_labels(canary), _shares(canary), _shares(baseline), lambda v: f"{100 * v:.0f}%"
    )


def render_report(evaluation: Evaluation) -> str:
    """The page for one judgement: verdict, checks, distributions and trends."""
    judgement = evaluation.judgement
    svgs: list[str] = []
    if evaluation.arms:
        baseline_duration = evaluation.arms["baseline"].duration
        tail = (
            baseline_duration.quantile_bound(TAIL_QUANTILE)
            if baseline_duration and baseline_duration.total
            else None
        )
        edges = [evaluation.start + (evaluation.end - evaluation.start) * i / BINS for i in range(BINS + 1)]
        labels = [_clock(t) for t in edges[1:]]
        trend = {arm: _over_time(evaluation, arm, edges, tail) for arm in ("canary", "baseline")}
        pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
        candidates = [
            _distribution("Confidence distribution (share of requests per bucket)", evaluation, "confidence"),
            charts.lines(
                f"Share of requests with confidence ≤ {LOW_CONFIDENCE:g} over time",
                labels,
                trend["canary"]["confidence"],
                trend["baseline"]["confidence"],
                pct,
            ),
            charts.lines(
                "LLM cost per request (USD) over time",
                labels,
                trend["canary"]["cost"],
                trend["baseline"]["cost"],
                lambda v: f"${v:.4f}",
            ),
            charts.lines(
                "Error rate over time", labels, trend["canary"]["errors"], trend["baseline"]["errors"], pct
            ),
            _distribution(
                "Latency distribution (share of requests per bucket, seconds)", evaluation, "duration"
            ),
            charts.lines(
                f"Share slower than the baseline's p95 bucket ({tail:g}s) over time"
                if tail is not None
                else "Latency tail over time",
                labels,
                trend["canary"]["latency"],
                trend["baseline"]["latency"],
                pct,
            ),
        ]
        svgs = [svg for svg in candidates if svg]
    return _templates.get_template("report.html").render(
        j=judgement, start=iso(evaluation.start), end=iso(evaluation.end), charts=svgs
    )


def hashes_seen(
    backend: MetricsBackend, agent: str, namespace: str | None, at: float, lookback: int
) -> list[dict[str, str]]:
    """The pod-template hashes that reported requests for `agent` in the lookback, oldest first.

    First samples are read at the subquery's 60 s steps, so two hashes that start in the same minute
    tie; they are ordered by their last sample, then by namespace and hash, never by answer order.
    """
    matchers = f'agent_name="{agent}"' + (f',namespace="{namespace}"' if namespace else "")
    keys = "rollouts_pod_template_hash, namespace"
    seen: dict[tuple[str, str], dict[str, float]] = {}
    for edge, fn in (("first", "min"), ("last", "max")):
        promql = f"{fn} by ({keys}) ({fn}_over_time(timestamp({REQUESTS}{{{matchers}}})[{lookback}s:60s]))"
        for s in backend.query(promql, at):
            key = (s.labels.get("rollouts_pod_template_hash", ""), s.labels.get("namespace", ""))
            if key[0] and s.points and math.isfinite(s.points[0][1]):
                seen.setdefault(key, {})[edge] = s.points[0][1]
    rows = sorted(
        seen.items(), key=lambda kv: (kv[1].get("first", 0.0), kv[1].get("last", 0.0), kv[0][1], kv[0][0])
    )
    return [
        {
            "hash": h,
            "namespace": ns,
            "first": iso(times.get("first", 0.0)),
            "last": iso(times.get("last", 0.0)),
        }
        for (h, ns), times in rows
    ]


def render_index(agent: str, rows: list[dict[str, str]]) -> str:
    """The page listing an agent's hashes, each newer one linked against the one before it."""
    links = []
    latest: dict[str, dict[str, str]] = {}  # per namespace: hashes of other namespaces may start in between
    for current in rows:
        previous = latest.get(current["namespace"])
        if previous is not None:
            links.append({"canary": current, "baseline": previous})
        latest[current["namespace"]] = current
    return _templates.get_template("index.html").render(agent=agent, rows=rows, links=links)
