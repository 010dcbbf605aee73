"""The real service: `agent-rollouts agent ...` in its own process on a loopback port, over real HTTP."""

import io
import json
import sys
from pathlib import Path

import pytest
import requests
from agents_support import SECRET, FakeChatCompletions, auth_headers
from prometheus_client.parser import text_string_to_metric_families

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agents.auth import mint_token
from tools.loadgen import NO_RESPONSE, drive, sample_payload, send
from tools.procs import free_port, spawn

AGENT = "code-analysis"


def agent_argv(port: int, variant: str, agent: str = AGENT) -> list[str]:
    return [sys.executable, "-m", "agent_rollouts", "agent", agent, "--port", str(port), "--variant", variant]


def output_tokens(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "llm_tokens_total" and sample.labels["token_type"] == "output":
                return sample.value
    raise AssertionError("llm_tokens_total{token_type=output} missing")


def test_two_variants_serve_real_http_traffic_and_metrics(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(SECRET)
    env = {"AGENT_JWT_SECRET_FILE": str(secret_file), "AGENT_JWT_SECRET": ""}
    ports = {"baseline": free_port(), "token-bloat": free_port()}
    urls = {variant: f"http://127.0.0.1:{port}" for variant, port in ports.items()}
    logs = {variant: tmp_path / f"{variant}.log" for variant in ports}
    with (
        spawn(
            agent_argv(ports["baseline"], "baseline"),
            log=logs["baseline"],
            ready_url=f"{urls['baseline']}/ready",
            env=env,
        ),
        spawn(
            agent_argv(ports["token-bloat"], "token-bloat"),
            log=logs["token-bloat"],
            ready_url=f"{urls['token-bloat']}/ready",
            env=env,
        ),
    ):
        assert requests.get(f"{urls['baseline']}/health", timeout=5).json() == {"status": "ok"}
        fresh = requests.get(f"{urls['baseline']}/metrics", timeout=5)
        assert fresh.status_code == 200 and fresh.headers["content-type"].startswith("text/plain")
        assert f'agent_requests_total{{agent_name="{AGENT}",status="success"}} 0.0' in fresh.text

        token = mint_token(SECRET, "loadgen")
        report = drive(
            [(urls["baseline"], 1.0), (urls["token-bloat"], 1.0)], AGENT, token, requests=200, seed=5
        )
        # Both variants fail 0.5 % of LLM calls (502), as a real provider does; seed 0, which both
        # processes run, fails 7 of its first 200, so a few, never a flaky variant's fifth.
        assert report.total == 200 and report.count(200) + report.count(502) == 200
        assert report.count(502) <= 10
        assert 70 < report.count(200, urls["baseline"]) < 130

        traced = requests.post(
            f"{urls['baseline']}/api/agents/{AGENT}/execute",
            json=sample_payload(AGENT, 0),
            headers={
                **auth_headers(),
                "traceparent": "00-11112222333344445555666677778888-1111222233334444-01",
            },
            timeout=5,
        )
        assert traced.headers["x-trace-id"] == "11112222333344445555666677778888"
        assert send(urls["baseline"], AGENT, "forged", sample_payload(AGENT, 0)) == 401

        texts = {variant: requests.get(f"{url}/metrics", timeout=5).text for variant, url in urls.items()}

    served = {variant: report.count(200, url) for variant, url in urls.items()}
    served["baseline"] += 1  # the traced request
    for variant, text in texts.items():
        assert (
            f'agent_requests_total{{agent_name="{AGENT}",status="success"}} {float(served[variant])}' in text
        )
    per_request = {variant: output_tokens(text) / served[variant] for variant, text in texts.items()}
    assert 1.7 < per_request["token-bloat"] / per_request["baseline"] < 2.3

    lines = [json.loads(line) for line in logs["baseline"].read_text().splitlines()]
    traced_lines = [line for line in lines if line["trace_id"] == "11112222333344445555666677778888"]
    assert {line["logger"] for line in traced_lines} == {"agents.execute", "agents.http"}
    assert SECRET not in logs["baseline"].read_text()


def test_a_planted_llm_key_and_jwt_secret_appear_in_no_log_line(tmp_path: Path, llm_server: str) -> None:
    planted_key = "sk-planted-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    port = free_port()
    log = tmp_path / "agent.log"
    env = {
        "AGENT_JWT_SECRET": SECRET,
        "AGENT_LLM_PROVIDER": "openai",
        "AGENT_LLM_BASE_URL": llm_server,
        "AGENT_LLM_MODEL": "gpt-4o-mini",
        "AGENT_LLM_API_KEY": planted_key,
    }
    url = f"http://127.0.0.1:{port}"
    token = mint_token(SECRET, "auditor")
    with spawn(agent_argv(port, "baseline", "knowledge-qna"), log=log, ready_url=f"{url}/ready", env=env):
        assert send(url, "knowledge-qna", token, sample_payload("knowledge-qna", 1)) == 200
        FakeChatCompletions.reply_status, FakeChatCompletions.reply_body = 401, b'{"error": "invalid key"}'
        failed = requests.post(
            f"{url}/api/agents/knowledge-qna/execute",
            json=sample_payload("knowledge-qna", 2),
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert send(url, "knowledge-qna", "Bearer-garbage", {}) == 401
        metrics = requests.get(f"{url}/metrics", timeout=5).text
    assert FakeChatCompletions.requests_seen[0]["auth"] == f"Bearer {planted_key}"  # the key was really used
    assert failed.status_code == 502 and "HTTP 401" in failed.json()["detail"]
    assert 'llm_tokens_total{agent_name="knowledge-qna",model="gpt-4o-mini",provider="openai"' in metrics
    text = log.read_text()
    assert "LLM provider failed" in text  # the error path was logged
    for secret in (planted_key, SECRET, token):
        assert secret not in text
        assert secret not in failed.text and secret not in metrics


def test_loadgen_counts_unreachable_targets_as_no_response() -> None:
    report = drive([(f"http://127.0.0.1:{free_port()}", 1.0)], AGENT, "t", requests=3, concurrency=2)
    assert report.count(NO_RESPONSE) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["agent", "summarizer"], "invalid choice: 'summarizer'"),
        (["agent", AGENT, "--variant", "sloppy"], "invalid choice: 'sloppy'"),
        (["agent", AGENT, "--port", "http"], "invalid int value"),
    ],
)
def test_unknown_agent_or_variant_exits_2_with_one_line(argv: list[str], message: str) -> None:
    stderr = io.StringIO()
    assert main(argv, Console(stdout=io.StringIO(), stderr=stderr)) == 2
    assert message in stderr.getvalue() and len(stderr.getvalue().strip().splitlines()) == 1


def test_missing_jwt_secret_exits_1_naming_the_variables(monkeypatch) -> None:
    monkeypatch.delenv("AGENT_JWT_SECRET", raising=False)
    monkeypatch.delenv("AGENT_JWT_SECRET_FILE", raising=False)
    stderr = io.StringIO()
    assert main(["agent", AGENT, "--port", str(free_port())], Console(io.StringIO(), stderr)) == 1
    assert "AGENT_JWT_SECRET or AGENT_JWT_SECRET_FILE must be set" in stderr.getvalue()


def test_bad_settings_from_the_environment_exit_1_naming_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("AGENT_JWT_SECRET", SECRET)
    monkeypatch.setenv("AGENT_RATE_LIMIT_RPS", "fast")
    stderr = io.StringIO()
    assert main(["agent", AGENT], Console(io.StringIO(), stderr)) == 1
    assert "AGENT_RATE_LIMIT_RPS" in stderr.getvalue()
