"""Many concurrent judgements against the real service and a real Prometheus: no errors, same verdicts."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import requests
from conftest import Backfilled
from webhook_support import TOKEN, body

from tools.procs import spawn_on_free_port

AGENTS = {
    "no-change": "pass",
    "error-increase": "fail",
    "cost-increase": "fail",
    "low-traffic": "inconclusive",
}
CALLS = 60
# Argo asks once per gate and agent, so 8 calls at once is several times a real peak; 16 concurrent
# judgements against a stalled backend are tests/webhook/test_webhook_deadline.py's.
CONCURRENCY = 8


def test_concurrent_judgements(backfilled: Backfilled, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENT_ROLLOUTS_PROMETHEUS_URL": backfilled.url,
        "AGENT_ROLLOUTS_TOKEN": TOKEN,
        "AGENT_ROLLOUTS_CACHE_TTL": "0",  # every call really queries Prometheus
        "AGENT_ROLLOUTS_RATE_LIMIT_PER_MINUTE": "100000",
        # The most Argo's 10 s leaves: this test is about answers under concurrency, not the deadline.
        "AGENT_ROLLOUTS_JUDGEMENT_DEADLINE": "9.5",
    }
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    names = list(AGENTS)

    def call(base: str, i: int) -> tuple[str, int, str, float]:
        agent = names[i % len(names)]
        began = time.perf_counter()
        response = session.post(f"{base}/api/v1/judgements", json=body(agent, backfilled.end), timeout=30)
        verdict = response.json().get("verdict", "") if response.status_code == 200 else response.text
        return agent, response.status_code, verdict, time.perf_counter() - began

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "agent_rollouts", "serve", "--port", str(port)]

    with spawn_on_free_port(argv, log=tmp_path / "serve.log", ready_path="/healthz", env=env) as (_, base):
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(partial(call, base), range(CALLS)))
    assert [status for _, status, _, _ in results] == [200] * CALLS
    assert all(verdict == AGENTS[agent] for agent, _, verdict, _ in results)
    latencies = sorted(latency for *_, latency in results)
    # Every call answered inside the 10 s Argo's web provider waits.
    assert latencies[int(0.99 * CALLS) - 1] < 10.0
