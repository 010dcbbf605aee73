"""Real agent processes scraped by a real Prometheus, told apart by rollouts_pod_template_hash."""

import io
import json
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agents.auth import mint_token
from tools.loadgen import drive
from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn
from webhook.backends import PrometheusBackend

AGENT = "knowledge-qna"
NAMESPACE = "agents-dev"
SECRET = "webhook-test-jwt-secret-0123456789abcdef"
PODS = {"stable1": "baseline", "bad1": "low-confidence", "good1": "improved"}


def wait_for_scrapes(backend: PrometheusBackend, expected: dict[str, int]) -> None:
    """Until Prometheus holds exactly these request counts per pod-template hash."""
    promql = f'sum by (rollouts_pod_template_hash) (agent_requests_total{{agent_name="{AGENT}"}})'
    deadline = time.monotonic() + 60
    scraped: dict[str, int] = {}
    while scraped != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        series = backend.query(promql, time.time())
        scraped = {s.labels["rollouts_pod_template_hash"]: int(s.points[0][1]) for s in series}
    assert scraped == expected


def judge(prometheus: str, canary: str, *checks: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    argv = ["judge", "--prometheus-url", prometheus, "--agent", AGENT, "--namespace", NAMESPACE]
    argv += ["--canary", canary, "--baseline", "stable1", "--json"]
    if checks:
        argv += ["--checks", *checks]
    code = main(argv, Console(stdout=out, stderr=io.StringIO()))
    return code, json.loads(out.getvalue()) if out.getvalue() else {}


def test_judge_tells_live_canaries_apart(tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    require_tool("prometheus")
    ports = {pod_hash: free_port() for pod_hash in PODS}
    env = {"AGENT_JWT_SECRET": SECRET, "AGENT_JWT_SECRET_FILE": ""}
    targets = [
        ScrapeTarget(
            f"{LOOPBACK}:{port}",
            {"rollouts_pod_template_hash": pod_hash, "namespace": NAMESPACE, "pod": f"{AGENT}-{pod_hash}"},
        )
        for pod_hash, port in ports.items()
    ]
    with ExitStack() as stack:
        for pod_hash, variant in PODS.items():
            url = f"http://{LOOPBACK}:{ports[pod_hash]}"
            argv = [sys.executable, "-m", "agent_rollouts", "agent", AGENT, "--port", str(ports[pod_hash])]
            argv += ["--variant", variant]
            stack.enter_context(
                spawn(argv, log=tmp_path / f"{pod_hash}.log", ready_url=f"{url}/ready", env=env)
            )
        prometheus = stack.enter_context(
            run_prometheus(tmp_path / "prometheus", targets, scrape_interval="1s")
        )
        backend = PrometheusBackend(prometheus, cache_ttl=0)
        # As in a cluster, Prometheus sees each pod at zero before its traffic arrives.
        wait_for_scrapes(backend, dict.fromkeys(PODS, 0))
        token = mint_token(SECRET, "webhook-tests")
        targets = [(f"http://{LOOPBACK}:{port}", 1.0) for port in ports.values()]
        report = drive(targets, AGENT, token, requests=900, seed=3, rate_per_second=100)
        assert report.count(200) == 900
        wait_for_scrapes(
            backend, {h: report.count(200, f"http://{LOOPBACK}:{port}") for h, port in ports.items()}
        )
        bad_code, bad = judge(prometheus, "bad1")
        good_code, good = judge(prometheus, "good1", "confidence")
    assert bad_code == 3, bad.get("reason")
    assert [name for name, c in bad["checks"].items() if c["verdict"] == "fail"] == ["confidence"]  # type: ignore[union-attr]
    assert good_code == 0, good.get("reason")
    # The stable started with the canaries, so its first 100 requests set its thresholds and
    # the intervals they span are not judged; the rest of the ~300 canary requests are.
    assert "are not judged" in good["window"]["reference_reason"]  # type: ignore[index]
    assert good["checks"]["confidence"]["samples"]["canary"] >= 50  # type: ignore[index]
