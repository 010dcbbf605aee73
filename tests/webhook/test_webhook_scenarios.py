"""Exact scenarios from backfilled data, judged through the API against a real Prometheus."""

import pytest
from conftest import Backfilled
from webhook_support import BASELINE, CANARY, body, client

from webhook.backends import PrometheusBackend
from webhook.judge import JudgeConfig, evaluate, judge
from webhook.models import JudgementRequest

EXPECTED = {
    "no-change": ("pass", None),
    "confidence-shift": ("fail", "confidence"),
    "bimodal-collapse": ("fail", "confidence"),
    "cost-increase": ("fail", "cost"),
    "error-increase": ("fail", "errors"),
    "latency-tail": ("fail", "latency"),
    "improvement": ("pass", None),
    "low-traffic": ("inconclusive", None),
}


@pytest.mark.parametrize("agent", list(EXPECTED))
def test_scenario_verdict(backfilled: Backfilled, agent: str) -> None:
    verdict, failing = EXPECTED[agent]
    with client(backfilled.url) as api:
        response = api.post("/api/v1/judgements", json=body(agent, backfilled.end))
    assert response.status_code == 200, response.text
    judgement = response.json()
    assert judgement["verdict"] == verdict, judgement["reason"]
    failed = [name for name, check in judgement["checks"].items() if check["verdict"] == "fail"]
    assert failed == ([failing] if failing else [])
    if failing:
        assert failing in judgement["reason"]
        assert judgement["checks"][failing]["interval"][0] > judgement["checks"][failing]["tolerance"]


def test_response_carries_the_evidence(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post("/api/v1/judgements", json=body("error-increase", backfilled.end)).json()
    assert set(judgement) >= {"verdict", "score", "reason", "checks", "report_url"}
    assert 0 <= judgement["score"] <= 100
    errors = judgement["checks"]["errors"]
    assert set(errors) >= {"verdict", "canary", "baseline", "effect", "interval", "tolerance", "measure"}
    assert set(errors) >= {"evidence", "samples", "promql"}
    assert errors["canary"] > errors["baseline"]
    assert errors["interval"][0] <= errors["effect"] <= errors["interval"][1]
    assert (
        # the baseline has twice the canary's traffic on average
        errors["samples"]["canary"] > 1000
        and errors["samples"]["baseline"] > 1.5 * errors["samples"]["canary"]
    )
    assert all(CANARY in q or BASELINE in q for q in errors["promql"])
    assert "agent_requests_total" in errors["promql"][0]
    assert judgement["report_url"].startswith("http://testserver/reports?agent=error-increase")
    # The window starts at the canary's first sample, not at some fixed lookback.
    assert abs(judgement["window"]["start"] - backfilled.start) < 1


def test_bimodal_collapse_keeps_the_mean(backfilled: Backfilled) -> None:
    """The collapse fails although mean confidence barely moves: the distribution is what counts."""
    backend = PrometheusBackend(backfilled.url)
    request = JudgementRequest(agent="bimodal-collapse", canary=CANARY, baseline=BASELINE, end=backfilled.end)
    evaluation = evaluate(request, backend, JudgeConfig())
    means = {arm: counts.confidence.mean() for arm, counts in evaluation.arms.items() if counts.confidence}
    assert abs(means["canary"] - means["baseline"]) < 0.03
    check = evaluation.judgement.checks["confidence"]
    assert check.verdict == "fail"
    assert check.reason.startswith("share of requests with confidence <= ")  # the low tail, not the mean


def test_low_traffic_says_so(backfilled: Backfilled) -> None:
    backend = PrometheusBackend(backfilled.url)
    request = JudgementRequest(agent="low-traffic", canary=CANARY, baseline=BASELINE, end=backfilled.end)
    judgement = judge(request, backend)
    assert judgement.verdict == "inconclusive"
    assert "too little traffic" in judgement.reason


def test_missing_canary_is_inconclusive_naming_it(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post(
            "/api/v1/judgements", json=body("no-change", backfilled.end, canary="deadbeef")
        ).json()
    assert judgement["verdict"] == "inconclusive"
    assert "deadbeef" in judgement["reason"] and "canary" in judgement["reason"]


def test_unknown_agent_is_inconclusive(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post("/api/v1/judgements", json=body("no-such-agent", backfilled.end)).json()
    assert judgement["verdict"] == "inconclusive"
    assert "no-such-agent" in judgement["reason"]


def test_missing_baseline_is_inconclusive(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post(
            "/api/v1/judgements", json=body("no-change", backfilled.end, baseline="feedface")
        ).json()
    assert judgement["verdict"] == "inconclusive"
    assert "baseline" in judgement["reason"] and "feedface" in judgement["reason"]


@pytest.mark.parametrize("agent", ["no-change", "improvement"])
def test_repeated_looks_never_fail_a_good_canary(backfilled: Backfilled, agent: str) -> None:
    """Argo asks every interval on a growing window; none of those looks may fail a good canary."""
    backend = PrometheusBackend(backfilled.url)
    verdicts = []
    for end in range(backfilled.start + 60, backfilled.end + 1, 120):
        request = JudgementRequest(agent=agent, canary=CANARY, baseline=BASELINE, end=end)
        verdicts.append(judge(request, backend).verdict)
    assert "fail" not in verdicts
    assert verdicts[0] == "inconclusive"  # one minute is too little traffic to pass
    assert verdicts[-1] == "pass"


def test_a_regression_fails_early_and_stays_failed(backfilled: Backfilled) -> None:
    backend = PrometheusBackend(backfilled.url)
    verdicts = [
        judge(
            JudgementRequest(agent="error-increase", canary=CANARY, baseline=BASELINE, end=end), backend
        ).verdict
        for end in range(backfilled.start + 60, backfilled.end + 1, 120)
    ]
    assert "pass" not in verdicts
    first_fail = verdicts.index("fail")
    assert first_fail < len(verdicts) // 2
    assert set(verdicts[first_fail:]) == {"fail"}


def test_explicit_start_and_check_subset(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        judgement = api.post(
            "/api/v1/judgements",
            json=body(
                "cost-increase",
                backfilled.end,
                start=backfilled.end - 600,
                checks=["cost"],
                tolerances={"cost": 0.2},
            ),
        ).json()
    assert list(judgement["checks"]) == ["cost"]
    assert judgement["checks"]["cost"]["tolerance"] == 0.2
    assert judgement["window"]["start"] == backfilled.end - 600
    assert judgement["verdict"] == "fail"
    # A loose enough tolerance turns the same data into a pass.
    with client(backfilled.url) as api:
        loose = api.post(
            "/api/v1/judgements",
            json=body("cost-increase", backfilled.end, checks=["cost"], tolerances={"cost": 1.0}),
        ).json()
    assert loose["verdict"] == "pass"
