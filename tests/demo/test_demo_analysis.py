"""The AnalysisRun lifecycle against a real HTTP server playing the judge's part."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tools.demo.analysis import Measurement, MetricState, assess, run_analysis
from tools.demo.conditions import Phase


class Script:
    """The verdicts the fake judge answers, in order; the last repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, bytes]] = []
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def judge() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            script.requests.append(
                {"auth": self.headers["Authorization"], "body": json.loads(self.rfile.read(length))}
            )
            status, body = script.answers[min(len(script.requests), len(script.answers)) - 1]
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/judgements", script
    server.shutdown()
    server.server_close()


def metric(url: str, **limits: Any) -> dict[str, Any]:
    return {
        "name": "agent-quality",
        "interval": "1s",
        "successCondition": 'result.verdict == "pass"',
        "failureCondition": 'result.verdict == "fail"',
        "provider": {
            "web": {
                "url": url,
                "method": "POST",
                "headers": [{"key": "Authorization", "value": "Bearer t"}],
                "jsonBody": {"agent": "a"},
                "jsonPath": "{$}",
            }
        },
        **limits,
    }


def verdict(name: str) -> tuple[int, bytes]:
    return 200, json.dumps({"verdict": name, "reason": name}).encode()


def run(metrics: list[dict[str, Any]]) -> Phase:
    seen: list[str] = []
    result = run_analysis(
        metrics,
        time_scale=0.01,
        stop=threading.Event(),
        on_measurement=lambda m, _: seen.append(m),
        min_interval=0.01,
    )
    return result.phase


def test_inconclusive_within_the_limit_keeps_asking_until_a_pass(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [verdict("inconclusive"), verdict("inconclusive"), verdict("pass")]
    assert run([metric(url, count=5, inconclusiveLimit=4, consecutiveSuccessLimit=1)]) == Phase.SUCCESSFUL
    assert len(script.requests) == 3
    assert script.requests[0] == {"auth": "Bearer t", "body": {"agent": "a"}}


def test_a_fail_ends_the_run_at_once(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [verdict("inconclusive"), verdict("fail")]
    assert run([metric(url, count=5, inconclusiveLimit=4)]) == Phase.FAILED
    assert len(script.requests) == 2


def test_inconclusive_beyond_the_limit_pauses(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [verdict("inconclusive")]
    assert run([metric(url, count=5, inconclusiveLimit=1)]) == Phase.INCONCLUSIVE
    assert len(script.requests) == 2


def test_http_errors_become_error_after_the_consecutive_error_limit(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [(503, b'{"detail": "prometheus down"}')]
    assert run([metric(url, count=3, consecutiveErrorLimit=2)]) == Phase.ERROR
    assert len(script.requests) == 3


def test_count_reached_is_successful_even_with_failures_within_the_limit(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [verdict("fail"), verdict("pass")]
    assert run([metric(url, count=3, failureLimit=1)]) == Phase.SUCCESSFUL


def test_a_non_json_body_passes_as_in_argo_v1_9(judge: tuple[str, Script]) -> None:
    url, script = judge
    script.answers = [(200, b"ok")]
    assert run([metric(url, count=1)]) == Phase.SUCCESSFUL


def test_without_interval_a_metric_measures_once() -> None:
    state = MetricState({"name": "m"}, due=0.0)
    assert assess(state) is None
    state.measurements.append(Measurement(Phase.SUCCESSFUL, 1, ""))
    assert assess(state) == Phase.SUCCESSFUL


def states(*phases: Phase, **spec: Any) -> MetricState:
    state = MetricState({"name": "m", "interval": "1m", **spec}, due=0.0)
    state.measurements = [Measurement(p, None, "") for p in phases]
    return state


def test_later_limits_override_earlier_ones_as_in_argo() -> None:
    both = states(Phase.FAILED, Phase.INCONCLUSIVE, count=5)
    assert assess(both) == Phase.INCONCLUSIVE  # failed > 0 and inconclusive > 0: inconclusive wins


def test_count_reached_without_the_success_streak_is_inconclusive() -> None:
    done = states(Phase.SUCCESSFUL, Phase.FAILED, count=2, failureLimit=1, consecutiveSuccessLimit=2)
    assert assess(done) == Phase.INCONCLUSIVE
    no_failure_limit = states(
        Phase.SUCCESSFUL, Phase.FAILED, count=2, failureLimit=-1, consecutiveSuccessLimit=2
    )
    assert assess(no_failure_limit) == Phase.FAILED


def test_errors_break_a_success_streak_and_do_not_count() -> None:
    state = states(Phase.SUCCESSFUL, Phase.ERROR, Phase.SUCCESSFUL, count=3, consecutiveSuccessLimit=2)
    assert assess(state) is None
