"""The rehearsal's HTML report: canary vs baseline over time, with the decision points marked."""

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

WINDOW = "10s"  # rate window: ten 1s scrapes, short enough to show each step's change

# What a person compares between the two arms, as PromQL over the metric contract.
CHARTS: tuple[tuple[str, str, str], ...] = (
    (
        "Mean confidence",
        "",
        "sum(rate(agent_confidence_sum{{{sel}}}[{w}])) / sum(rate(agent_confidence_count{{{sel}}}[{w}]))",
    ),
    (
        "Share of answers with confidence ≤ 0.5",
        "",
        'sum(rate(agent_confidence_bucket{{{sel},le="0.5"}}[{w}])) / sum(rate(agent_confidence_count{{{sel}}}[{w}]))',
    ),
    (
        "LLM cost per request",
        "USD",
        "sum(rate(agent_request_cost_usd_sum{{{sel}}}[{w}])) / sum(rate(agent_request_cost_usd_count{{{sel}}}[{w}]))",
    ),
    (
        "Error rate",
        "",
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


COLOURS = {"baseline": "#4063d8", "canary": "#e8710a"}
PHASE_COLOURS = {"Successful": "#2e7d32", "Failed": "#c62828", "Error": "#c62828", "Inconclusive": "#8d6e00"}


def _format(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value:.5f}"
    if unit == "s":
        return f"{value * 1000:.0f} ms"
    return f"{value:.3f}"


def svg_chart(
    title: str, unit: str, series: dict[str, Points], start: float, end: float, markers: list[Marker]
) -> str:
    """A line chart as inline SVG: two arms, a y axis with three ticks, and decision markers."""
    width, height, left, right, top, bottom = 460, 220, 64, 12, 28, 28
    values = [v for points in series.values() for _, v in points]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(low, 0.0)
    high = high if high > low else low + 1.0
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return left + (t - start) / span * (width - left - right)

    def y(v: float) -> float:
        return top + (1 - (v - low) / (high - low)) * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = low + fraction * (high - low)
        parts.append(
            f'<text x="{left - 4}" y="{y(value) + 4:.1f}" font-size="10" text-anchor="end">{_format(value, unit)}</text>'
        )
    for marker in markers:
        colour = PHASE_COLOURS.get(marker.phase, "#777")
        parts.append(
            f'<line x1="{x(marker.at):.1f}" x2="{x(marker.at):.1f}" y1="{top}" y2="{height - bottom}" '
            f'stroke="{colour}" stroke-dasharray="3,3"><title>{html.escape(marker.label)}</title></line>'
        )
    for arm, points in series.items():
        if points:
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
            parts.append(f'<polyline fill="none" stroke="{COLOURS[arm]}" stroke-width="2" points="{path}"/>')
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="10">0 s</text>'
        f'<text x="{width - right}" y="{height - 8}" font-size="10" text-anchor="end">{span:.0f} s</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.promoted{background:#2e7d32}.aborted{background:#c62828}.paused{background:#8d6e00}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
.legend span{margin-right:16px}.note{background:#eef3fb;padding:8px 12px;border-radius:6px}
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
    legend = "".join(
        f'<span><svg width="24" height="8"><line x1="0" x2="24" y1="4" y2="4" stroke="{c}" stroke-width="3"/></svg> {a}</span>'
        for a, c in COLOURS.items()
    )
    for section in sections:
        body.append(
            f'<h2>{html.escape(section.title)} <span class="badge {section.status}">{section.status}</span></h2>'
            f"<p>{html.escape(section.reason)}</p><p class=legend>{legend} dashed lines: steps and verdicts</p>"
        )
        body.append('<div class="grid">')
        for title, chart in section.charts.items():
            body.append(
                svg_chart(title, chart["unit"], chart["series"], section.start, section.end, section.markers)
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
