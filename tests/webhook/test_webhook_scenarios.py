"""Exact scenarios from backfilled data, judged through the API against a real Prometheus."""

import pytest
from conftest import Backfilled
from webhook_support import BASELINE, CANARY, DURATION, STEP, body, client

from webhook.backends import PrometheusBackend
from webhook.judge import Evaluation, JudgeConfig, evaluate, judge
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
    means = {
        arm: h.mean() for arm, counts in evaluation.arms.items() if (h := counts.histogram("confidence"))
    }
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


def _judge(backfilled: Backfilled, agent: str, end: int | None = None, **extra: object) -> dict[str, object]:
    with client(backfilled.url) as api:
        response = api.post("/api/v1/judgements", json=body(agent, end or backfilled.end, **extra))
    assert response.status_code == 200, response.text
    judgement: dict[str, object] = response.json()
    return judgement


def test_a_retried_hash_is_judged_on_its_new_run(backfilled: Backfilled) -> None:
    """The aborted run failed 20 % of requests; the retry, after a gap in scrapes, is healthy."""
    judgement = _judge(backfilled, "retried")
    window = judgement["window"]
    assert isinstance(window, dict)
    retry_start = backfilled.start + 0.45 * DURATION
    assert retry_start - STEP <= window["start"] <= retry_start + STEP
    assert "gap in its scrapes" in window["reason"]
    assert judgement["verdict"] == "pass", judgement["reason"]
    # Judged from the canary's first sample in the day, the aborted run's failures would fail it.
    mixed = _judge(backfilled, "retried", start=backfilled.start)
    assert mixed["verdict"] == "fail", mixed["reason"]


def test_a_rollback_to_a_hash_that_ran_hours_earlier_is_judged_on_its_current_run(
    backfilled: Backfilled,
) -> None:
    """The hash ran healthy 4 hours ago; its current run fails 6 % of requests and must not pass."""
    judgement = _judge(backfilled, "rollback")
    window = judgement["window"]
    assert isinstance(window, dict)
    assert abs(window["start"] - (backfilled.end - DURATION)) <= STEP
    assert "gap in its scrapes" in window["reason"] and "h" in window["reason"]
    assert judgement["verdict"] == "fail", judgement["reason"]


def test_different_bucket_layouts_are_compared_on_common_bounds_never_a_500(backfilled: Backfilled) -> None:
    healthy = _judge(backfilled, "layout-healthy")
    checks = healthy["checks"]
    assert isinstance(checks, dict)
    assert healthy["verdict"] != "fail", healthy["reason"]
    # 0.7 is no bound of the canary's (0.25, 0.5, 0.75, 1): the mismatch is named, not skipped.
    assert checks["confidence"]["verdict"] == "inconclusive"
    assert "share no bound near 0.7" in checks["confidence"]["reason"]
    # Latency and cost use the bounds both builds have.
    assert checks["latency"]["verdict"] == "pass", checks["latency"]["reason"]
    collapsed = _judge(backfilled, "layout-collapse")
    assert collapsed["verdict"] == "fail", collapsed["reason"]  # the common bounds 0.25 and 0.5 see it


def test_identical_builds_with_a_heavy_cost_tail_do_not_fail(backfilled: Backfilled) -> None:
    """0.2 % of requests cost $5, beyond the last cost bucket ($1), on both builds."""
    for end in range(backfilled.start + 300, backfilled.end + 1, 300):
        judgement = _judge(backfilled, "heavy-tail", end=end)
        checks = judgement["checks"]
        assert isinstance(checks, dict)
        assert checks["cost"]["verdict"] != "fail", checks["cost"]["reason"]


def test_a_brownout_hitting_both_builds_is_not_a_canary_effect(backfilled: Backfilled) -> None:
    backend = PrometheusBackend(backfilled.url)
    request = JudgementRequest(agent="brownout", canary=CANARY, baseline=BASELINE, end=backfilled.end)
    evaluation = evaluate(request, backend, JudgeConfig())
    arms = evaluation.arms
    pooled = {arm: sum(a.failures) / sum(a.requests) for arm, a in arms.items()}
    # Pooled over the window, the canary looks worse than the tolerance (1 point) ...
    assert pooled["canary"] - pooled["baseline"] > 0.01
    # ... but interval by interval it is not, at any look.
    for end in range(backfilled.start + 300, backfilled.end + 1, 60):
        request = JudgementRequest(agent="brownout", canary=CANARY, baseline=BASELINE, end=end)
        judgement = judge(request, backend)
        assert judgement.checks["errors"].verdict != "fail", (end, judgement.checks["errors"].reason)


@pytest.mark.parametrize("agent", ["no-change", "bimodal-collapse", "heavy-tail", "layout-healthy"])
def test_reading_only_the_buckets_the_checks_use_changes_no_verdict(
    backfilled: Backfilled, agent: str
) -> None:
    """With a reference before the run, each pod's histograms are read only at the bounds the
    checks use; every check decides and reasons exactly as on every bucket (the report's read)."""
    backend = PrometheusBackend(backfilled.url, cache_ttl=0)
    request = JudgementRequest(agent=agent, canary=CANARY, baseline=BASELINE, end=backfilled.end)
    lean = evaluate(request, backend, JudgeConfig())
    full = evaluate(request, backend, JudgeConfig(), every_bucket=True)
    assert lean.judgement.checks.keys() == full.judgement.checks.keys()
    for name, check in lean.judgement.checks.items():
        every = full.judgement.checks[name]
        assert (check.verdict, check.samples) == (every.verdict, every.samples), name
        # Prometheus sums the means' histograms across a counter reset from the restart on, where
        # the raw samples count across it; and a cell with a request beyond the last cost bucket
        # places its others at the arm's bucket midpoints, not its own: nearly the same numbers.
        assert check.interval == pytest.approx(every.interval, abs=3e-3), name
        if agent != "heavy-tail":
            assert check.reason == every.reason

    def samples(evaluation: Evaluation) -> int:
        return sum(len(s.points) for found in evaluation.series.values() for s in found)

    filtered = [q for q in lean.rounds[2] if q.startswith("agent_") and "_bucket{" in q]
    assert len(filtered) == 6 and all('le=~"' in q for q in filtered), filtered
    if agent == "layout-healthy":
        # The canary's buckets are not the baseline's: a fourth round reads every bucket of the
        # checks that need other bounds, so the verdict is the one above.
        assert len(lean.rounds) == 4 and all("le=~" not in q for q in lean.rounds[3])
    else:
        assert len(lean.rounds) == 3
        assert samples(lean) < samples(full) / 2


@pytest.mark.parametrize("checks", [["errors"], ["latency"], ["confidence", "errors"]])
def test_a_call_for_some_checks_reads_and_decides_those(backfilled: Backfilled, checks: list[str]) -> None:
    backend = PrometheusBackend(backfilled.url, cache_ttl=0)
    request = JudgementRequest.model_validate(
        {
            "agent": "error-increase",
            "canary": CANARY,
            "baseline": BASELINE,
            "end": backfilled.end,
            "checks": checks,
        }
    )
    evaluation = evaluate(request, backend, JudgeConfig())
    assert list(evaluation.judgement.checks) == checks
    assert evaluation.judgement.verdict == ("fail" if "errors" in checks else "pass")
    histograms = {"confidence": "agent_confidence_bucket", "latency": "agent_duration_seconds_bucket"}
    read = " ".join(q for found in evaluation.rounds for q in found)
    for check, metric in histograms.items():
        assert (metric in read) == (check in checks), check
