"""One total deadline per judgement and health checks that no backend can stall, over real sockets:
the judge served by uvicorn on loopback, backends that never answer or trickle.

Deadlines here are short (1.5 s for a judgement, 0.5 s for readiness) so the suite stays fast; the
bounds asserted leave seconds of slack for a loaded machine, and are far below what a shared pool
or a per-read timeout gave (tens of seconds).
"""

import io
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager

import pytest
import requests
import uvicorn
from hostile_backends import blackholed, serving, trickle
from webhook_support import TOKEN, body, settings

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from tools.procs import LOOPBACK
from webhook.app.main import create_app

END = 1_700_000_000
DEADLINE = 1.5
READINESS = 0.5
SLACK = 2.0  # scheduling on a loaded 2-core machine; the failures this catches took 10-60 s
CONCURRENT = 16

Backend = Callable[[], AbstractContextManager[str]]
BACKENDS: dict[str, Backend] = {
    "blackholed": blackholed,
    "trickling-body": lambda: serving(trickle(0.2)),
    "trickling-status-line": lambda: serving(trickle(0.2, head=True)),
}


@contextmanager
def judge_service(prometheus_url: str) -> Iterator[str]:
    """The judge in uvicorn on a loopback socket bound to an OS-chosen port, stopped at the end."""
    app = create_app(
        settings(
            prometheus_url,
            cache_ttl=0,
            query_timeout=9,  # so the judgement's deadline, not a query's own timeout, ends it
            judgement_deadline=DEADLINE,
            readiness_deadline=READINESS,
            rate_limit_per_minute=100_000,
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    sock = socket.create_server((LOOPBACK, 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the judge service did not start"
            time.sleep(0.01)
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def timed_judgement(url: str) -> tuple[requests.Response, float]:
    began = time.monotonic()
    response = requests.post(
        f"{url}/api/v1/judgements",
        json=body("no-change", END),
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    return response, time.monotonic() - began


def timed_get(url: str) -> tuple[int, float]:
    began = time.monotonic()
    status = requests.get(url, timeout=30).status_code
    return status, time.monotonic() - began


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_judgement_answers_503_naming_the_slow_query_within_its_deadline(kind: str) -> None:
    with BACKENDS[kind]() as prometheus, judge_service(prometheus) as url:
        response, took = timed_judgement(url)
    assert response.status_code == 503, response.text
    error = response.json()
    assert error["error"] == "deadline_exceeded"
    assert error["detail"].startswith("no verdict") and "timestamp(" in error["detail"]  # the slow query
    assert took < DEADLINE + SLACK


def test_concurrent_judgements_all_end_by_the_deadline_and_health_checks_answer_meanwhile() -> None:
    with blackholed() as prometheus, judge_service(prometheus) as url:
        with ThreadPoolExecutor(CONCURRENT) as pool:
            judgements = [pool.submit(timed_judgement, url) for _ in range(CONCURRENT)]
            health: list[tuple[int, float]] = []
            while not all(j.done() for j in judgements):
                health.append(timed_get(f"{url}/healthz"))
            ready = timed_get(f"{url}/readyz")
            results = [j.result() for j in judgements]
    assert [r.status_code for r, _ in results] == [503] * CONCURRENT
    assert max(took for _, took in results) < DEADLINE + SLACK
    assert len(health) >= 3 and {status for status, _ in health} == {200}
    assert statistics.median(took for _, took in health) < 0.25 and max(t for _, t in health) < 1.0
    assert ready[0] == 503 and ready[1] < READINESS + SLACK


@pytest.mark.parametrize("kind", BACKENDS)
def test_readyz_answers_503_within_its_own_deadline(kind: str) -> None:
    with BACKENDS[kind]() as prometheus, judge_service(prometheus) as url:
        status, took = timed_get(f"{url}/readyz")
        body_ = requests.get(f"{url}/readyz", timeout=30).json()
    assert status == 503 and took < READINESS + SLACK
    assert body_["status"] == f"prometheus unavailable or slower than {READINESS:g} s"


def test_the_judge_command_exits_5_when_the_deadline_passes() -> None:
    out, err = io.StringIO(), io.StringIO()
    with blackholed() as prometheus:
        argv = ["judge", "--prometheus-url", prometheus, "--agent", "a", "--canary", "c0ffee1"]
        argv += ["--baseline", "ba5e11e", "--end", str(END), "--timeout", "9", "--deadline", str(DEADLINE)]
        began = time.monotonic()
        status = main(argv, Console(out, err))
        took = time.monotonic() - began
    assert status == 5 and out.getvalue() == ""
    assert "no verdict" in err.getvalue() and "timestamp(" in err.getvalue() and took < DEADLINE + SLACK
