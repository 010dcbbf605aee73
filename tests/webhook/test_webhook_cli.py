"""`agent-rollouts judge` exit codes and output, and `agent-rollouts serve` as a real process."""

import io
import json
import os
import sys
from pathlib import Path

import pytest
import requests
from conftest import Backfilled
from webhook_support import BASELINE, CANARY, TOKEN, body, client

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from tools.procs import LOOPBACK, free_port, spawn_on_free_port


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Console(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def judge_args(backfilled: Backfilled, agent: str, *extra: str) -> list[str]:
    return [
        "judge",
        "--prometheus-url",
        backfilled.url,
        "--agent",
        agent,
        "--canary",
        CANARY,
        "--baseline",
        BASELINE,
        "--end",
        str(backfilled.end),
        *extra,
    ]


@pytest.mark.parametrize(("agent", "code"), [("no-change", 0), ("error-increase", 3), ("low-traffic", 4)])
def test_exit_status_is_the_verdict(backfilled: Backfilled, agent: str, code: int) -> None:
    status, out, _ = run(*judge_args(backfilled, agent))
    assert status == code
    assert out.split()[0] in ("PASS", "FAIL", "INCONCLUSIVE")
    assert "report:" in out


def test_json_is_exactly_the_api_body(backfilled: Backfilled) -> None:
    status, out, _ = run(
        *judge_args(backfilled, "cost-increase", "--json", "--public-url", "http://testserver")
    )
    assert status == 3
    with client(backfilled.url) as api:
        api_body = api.post("/api/v1/judgements", json=body("cost-increase", backfilled.end)).json()
    assert json.loads(out) == api_body


def test_checks_and_tolerance_flags(backfilled: Backfilled) -> None:
    status, out, _ = run(
        *judge_args(backfilled, "cost-increase", "--checks", "cost", "--tolerance", "cost=1.0", "--json")
    )
    assert status == 0
    assert list(json.loads(out)["checks"]) == ["cost"]


def test_unreachable_prometheus_is_5(backfilled: Backfilled) -> None:
    args = judge_args(backfilled, "no-change")
    args[2] = f"http://{LOOPBACK}:{free_port()}"
    status, _, err = run(*args)
    assert status == 5
    assert "unreachable" in err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--canary", "bad hash"), "canary"),
        (("--tolerance", "errors=-1"), "tolerances.errors"),
        (("--start", "x"), "start"),
    ],
)
def test_bad_input_names_the_field(backfilled: Backfilled, extra: tuple[str, str], needle: str) -> None:
    status, _, err = run(*judge_args(backfilled, "no-change"), *extra)
    assert status == 2
    assert needle in err


def test_serve_answers_argo_over_http(backfilled: Backfilled, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)

    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "agent_rollouts",
            "serve",
            "--token-file",
            str(token_file),
            "--port",
            str(port),
        ]

    # The Prometheus URL comes from the environment, the way a Deployment would set it.
    # An explicit --token-file wins over a token in the environment (which used to win silently).
    env = {
        "AGENT_ROLLOUTS_PROMETHEUS_URL": backfilled.url,
        "AGENT_ROLLOUTS_TOKEN": "env-token-that-must-lose",
    }
    log = tmp_path / "serve.log"
    with spawn_on_free_port(argv, log=log, ready_path="/healthz", env={**os.environ, **env}) as (_, base):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = requests.post(
            f"{base}/api/v1/judgements",
            json=body("latency-tail", backfilled.end),
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["verdict"] == "fail"
        assert response.json()["report_url"].startswith(f"{base}/reports?")
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        assert requests.post(f"{base}/api/v1/judgements", json={}, timeout=5).status_code == 401
        overridden = {"Authorization": f"Bearer {env['AGENT_ROLLOUTS_TOKEN']}"}
        assert (
            requests.post(f"{base}/api/v1/judgements", json={}, headers=overridden, timeout=5).status_code
            == 401
        )


def test_serve_without_token_exits_2(backfilled: Backfilled, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_ROLLOUTS_TOKEN", raising=False)
    status, _, err = run("serve", "--prometheus-url", backfilled.url, "--token-file", "/nonexistent/token")
    assert status == 2
    assert "AGENT_ROLLOUTS_TOKEN_FILE" in err
