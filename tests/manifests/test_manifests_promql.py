"""The prometheus AnalysisTemplates' queries and conditions against a real Prometheus.

Canary and stable series are backfilled with promtool; each rendered query runs with its args
resolved as Argo resolves them, and the result goes through Argo's outcome table (the demo's
evaluator of Argo conditions). Both are safety nets relative to the stable: they only ever fail, and only on a disaster.
"""

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from manifests_render import ARG_REFERENCE, Doc, Rendered

from tools.demo.conditions import Phase, measurement_phase
from tools.local_prometheus import backfill, run_prometheus

START = 1_700_000_000  # a fixed past instant; Prometheus keeps backfilled data (retention 100y)
END = START + 600
NAMESPACE = "agents-test"
BUCKETS = (0.1, 0.2, 0.5, 1.0, 5.0)


def labels(agent: str, hash_: str, **extra: str) -> str:
    pairs = {"agent_name": agent, "namespace": NAMESPACE, "rollouts_pod_template_hash": hash_, **extra}
    return ",".join(f'{key}="{value}"' for key, value in pairs.items())


def counter(agent: str, hash_: str, per_second: float, failure_ratio: float) -> Iterator[str]:
    for t in range(START, END + 1, 15):
        elapsed = t - START
        for status, share in (("success", 1 - failure_ratio), ("failure", failure_ratio)):
            value = per_second * share * elapsed
            yield f"agent_requests_total{{{labels(agent, hash_, status=status)}}} {value} {t}"


def histogram(agent: str, hash_: str, per_second: float, bucket: float) -> Iterator[str]:
    """Every request takes a duration inside (previous bucket, `bucket`]."""
    for t in range(START, END + 1, 15):
        count = per_second * (t - START)
        for le in (*BUCKETS, math.inf):
            value = count if le >= bucket else 0
            le_text = "+Inf" if le == math.inf else str(le)
            yield f"agent_duration_seconds_bucket{{{labels(agent, hash_, le=le_text)}}} {value} {t}"
        yield f"agent_duration_seconds_count{{{labels(agent, hash_)}}} {count} {t}"
        yield f"agent_duration_seconds_sum{{{labels(agent, hash_)}}} {count * bucket} {t}"


def openmetrics() -> str:
    requests_lines = [
        *counter("healthy", "stable", 2, 0.005),
        *counter("healthy", "canary", 2, 0.005),
        *counter("worse", "stable", 2, 0.005),
        *counter("worse", "canary", 2, 0.05),  # 10x the stable's failures: the judge's job, not the net's
        *counter("disaster", "stable", 2, 0.005),
        *counter("disaster", "canary", 2, 0.7),
        *counter("brownout", "stable", 2, 0.6),  # the provider fails everyone: not the canary's fault
        *counter("brownout", "canary", 2, 0.7),
        *counter("quiet", "stable", 2, 0.005),
        *counter("quiet", "canary", 0.01, 0.9),  # 3 requests in 5 minutes: too few to judge
    ]
    duration_lines = [
        *histogram("similar", "stable", 2, 0.2),
        *histogram("similar", "canary", 2, 0.2),
        *histogram("slow", "stable", 2, 0.2),
        *histogram("slow", "canary", 2, 0.5),  # p95 0.485s vs 0.195s: 2.5x
        *histogram("stalled", "stable", 2, 0.2),
        *histogram("stalled", "canary", 2, 5.0),  # p95 4.8s vs 0.195s: 25x
        *histogram("orphan", "canary", 2, 0.2),  # no stable data to compare with
    ]
    return "\n".join(
        [
            "# TYPE agent_requests counter",
            *sorted(requests_lines, key=series_then_time),
            "# TYPE agent_duration_seconds histogram",
            *sorted(duration_lines, key=series_then_time),
            "# EOF",
            "",
        ]
    )


def series_then_time(line: str) -> tuple[str, int]:
    series, _, timestamp = line.rpartition(" ")
    return series.rsplit(" ", 1)[0], int(timestamp)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("promql")
    backfill(openmetrics(), workdir / "data", workdir)
    with run_prometheus(workdir, data_dir=workdir / "data") as url:
        yield url


def measure(prometheus: str, template: Doc, agent: str) -> Phase:
    """One measurement as Argo takes it: resolve args, query, apply both conditions."""
    declared = {arg["name"]: arg.get("value") for arg in template["spec"]["args"]}
    values = {
        **declared,
        "agent": agent,
        "canary-hash": "canary",
        "baseline-hash": "stable",
        "namespace": NAMESPACE,
    }
    text = ARG_REFERENCE.sub(
        lambda m: json.dumps(values[m[1]])[1:-1], json.dumps(template["spec"]["metrics"][0])
    )
    metric = json.loads(text)
    response = requests.get(
        f"{prometheus}/api/v1/query",
        params={"query": metric["provider"]["prometheus"]["query"], "time": END},
        timeout=10,
    )
    response.raise_for_status()
    data = response.json()["data"]
    assert data["resultType"] == "vector"
    result: list[Any] = [float(sample["value"][1]) for sample in data["result"]]
    return measurement_phase(result, metric.get("successCondition"), metric["failureCondition"])


@pytest.mark.parametrize(
    ("agent", "phase"),
    [
        ("healthy", Phase.SUCCESSFUL),
        ("worse", Phase.SUCCESSFUL),  # 5 % against 0.5 %: the judge fails it, the net need not
        ("disaster", Phase.FAILED),  # 70 % against 0.5 %
        ("brownout", Phase.SUCCESSFUL),  # 70 % against 60 %
        ("quiet", Phase.SUCCESSFUL),  # too few requests, though most failed
        ("absent", Phase.SUCCESSFUL),  # no canary series at all: nothing to abort for
    ],
)
def test_the_error_rate_net_fails_only_a_canary_failing_most_requests_the_stable_serves(
    rendered: dict[str, Rendered], prometheus: str, agent: str, phase: Phase
) -> None:
    template = rendered["dev/code-analysis"].named("AnalysisTemplate", "code-analysis-agent-error-rate")
    assert measure(prometheus, template, agent) == phase


@pytest.mark.parametrize(
    ("agent", "phase"),
    [
        ("similar", Phase.SUCCESSFUL),
        ("slow", Phase.SUCCESSFUL),  # 2.5x: the judge's latency check, not the net's
        ("stalled", Phase.FAILED),  # 25x the stable's p95
        ("orphan", Phase.SUCCESSFUL),  # nothing to compare with
        ("absent", Phase.SUCCESSFUL),
    ],
)
def test_the_latency_net_fails_only_a_canary_ten_times_slower_than_the_stable(
    rendered: dict[str, Rendered], prometheus: str, agent: str, phase: Phase
) -> None:
    template = rendered["dev/code-analysis"].named("AnalysisTemplate", "code-analysis-agent-latency-p95")
    assert measure(prometheus, template, agent) == phase


def test_the_backfill_holds_what_the_scenarios_claim(prometheus: str) -> None:
    """A guard for the scenarios above: the data is there, so Inconclusive means the template's guard."""
    query = f'sum by (agent_name) (increase(agent_requests_total{{namespace="{NAMESPACE}",rollouts_pod_template_hash="canary"}}[5m]))'
    response = requests.get(f"{prometheus}/api/v1/query", params={"query": query, "time": END}, timeout=10)
    totals = {s["metric"]["agent_name"]: float(s["value"][1]) for s in response.json()["data"]["result"]}
    assert totals["healthy"] == pytest.approx(600, rel=0.1)
    assert 0 < totals["quiet"] < 20
