"""The rehearsal's HTML report: canary vs baseline over time, with the decision points marked."""

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from webhook.charts import lines

WINDOW = "10s"  # rate window: ten 1s scrapes, short enough to show each step's change

# What a person compares between the two arms, as PromQL over the metric contract.
CHARTS: tuple[tuple[str, str, str], ...] = (
    (
        "Mean confidence",
        "",
        "sum(rate(agent_confidence_sum{{{sel}}}[{w}])) / sum(rate(agent_confidence_count{{{sel}}}[{w}]))",
    ),
    (
        "Share of answers with confidence ≤ 0.7",
        "share",
        'sum(rate(agent_confidence_bucket{{{sel},le="0.7"}}[{w}])) / sum(rate(agent_confidence_count{{{sel}}}[{w}]))',
    ),
    (
        "LLM cost per request",
        "USD",
        "sum(rate(agent_request_cost_usd_sum{{{sel}}}[{w}])) / sum(rate(agent_request_cost_usd_count{{{sel}}}[{w}]))",
    ),
    (
        "Error rate",
        "share",
        'sum(rate(agent_requests_total{{{sel},status="failure"}}[{w}])) / sum(rate(agent_requests_total{{{sel}}}[{w}]))',
    ),
    (
        "p95 latency",
        "s",
        "histogram_quantile(0.95, sum by (le) (rate(agent_duration_seconds_bucket{{{sel}}}[{w}])))",
    ),
)

Points = list[tuple[float, float]]


@dataclass(frozen=True)
class Marker:
    at: float
    label: str
    phase: str


def range_series(prometheus_url: str, query: str, start: float, end: float) -> Points:
    """One PromQL range query at 1s resolution; NaN points (no traffic yet) are dropped."""
    response = requests.get(
        f"{prometheus_url}/api/v1/query_range",
        params={"query": query, "start": str(start), "end": str(end), "step": "1s"},
        timeout=10,
    )
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return []
    points = [(float(t), float(v)) for t, v in result[0]["values"]]
    return [(t, v) for t, v in points if math.isfinite(v)]


def collect(
    prometheus_url: str, agent: str, hashes: dict[str, str], start: float, end: float
) -> dict[str, Any]:
    """Every chart's series, by arm (`baseline`, `canary`) for one release window."""
    charts = {}
    for title, unit, template in CHARTS:
        series = {}
        for arm, pod_hash in hashes.items():
            selector = f'agent_name="{agent}",rollouts_pod_template_hash="{pod_hash}"'
            series[arm] = range_series(prometheus_url, template.format(sel=selector, w=WINDOW), start, end)
        charts[title] = {"unit": unit, "series": series}
    return charts


PHASE_COLOURS = {"Successful": "#2e7d32", "Failed": "#c62828", "Error": "#c62828", "Inconclusive": "#8d6e00"}


def _format(unit: str) -> Callable[[float], str]:
    if unit == "USD":
        return lambda v: f"${v:.5f}"
    if unit == "s":
        return lambda v: f"{v * 1000:.0f} ms"
    if unit == "share":
        return lambda v: f"{100 * v:.1f}%"
    return lambda v: f"{v:.2f}"


def chart(
    title: str, unit: str, series: dict[str, Points], start: float, end: float, markers: list[Marker]
) -> str:
    """One chart of both arms per second of the release, with its steps and verdicts marked."""
    seconds = max(math.ceil(end - start), 1)
    by_second: dict[str, list[float | None]] = {arm: [None] * (seconds + 1) for arm in ("canary", "baseline")}
    for arm, points in series.items():
        for t, v in points:
            by_second[arm][min(max(round(t - start), 0), seconds)] = v
    return lines(
        title,
        [f"{i} s" for i in range(seconds + 1)],
        by_second["canary"],
        by_second["baseline"],
        _format(unit),
        [(m.at - start, m.label, PHASE_COLOURS.get(m.phase, "#777")) for m in markers],
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.promoted{background:#2e7d32}.aborted{background:#c62828}.paused{background:#8d6e00}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.note{background:#eef3fb;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
"""


@dataclass(frozen=True)
class ReleaseSection:
    title: str
    status: str
    reason: str
    start: float
    end: float
    charts: dict[str, Any]
    markers: list[Marker]
    timeline: list[tuple[float, str]]


def render_report(heading: str, note: str, sections: list[ReleaseSection], footer: str) -> str:
    """The whole report page: one section per release, charts first, then the timeline."""
    body = [f"<h1>{html.escape(heading)}</h1>", f'<p class="note">{html.escape(note)}</p>']
    for section in sections:
        body.append(
            f'<h2>{html.escape(section.title)} <span class="badge {section.status}">{section.status}</span></h2>'
            f"<p>{html.escape(section.reason)}</p><p>Dashed lines: steps and verdicts (hover for details).</p>"
        )
        body.append('<div class="grid">')
        for title, spec in section.charts.items():
            body.append(
                chart(title, spec["unit"], spec["series"], section.start, section.end, section.markers)
            )
        body.append("</div><details><summary>Timeline</summary><table><tr><th>s</th><th>event</th></tr>")
        for at, text in section.timeline:
            body.append(f"<tr><td>{at - section.start:.0f}</td><td>{html.escape(text)}</td></tr>")
        body.append("</table></details>")
    body.append(f"<p>{html.escape(footer)}</p>")
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(heading)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def write_report(path: Path, page: str) -> None:
    """Write the page atomically so a reader never sees half a report."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(page)
    temporary.replace(path)
