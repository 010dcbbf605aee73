"""JSON logs: fixed fields, the request's trace id on every line, no secrets."""

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from agents_support import auth_headers

from agents.logs import configure_logging
from agents.providers.local import LocalProvider
from tools.loadgen import sample_payload

URL = "/api/agents/knowledge-qna/execute"
BODY = sample_payload("knowledge-qna", 0)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
FIELDS = {"timestamp", "level", "logger", "message", "agent_name", "trace_id", "duration_ms", "status"}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's JSON log lines, captured; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_of_a_request_carries_the_callers_trace_id(make_client, json_logs: io.StringIO) -> None:
    with make_client() as client:
        json_logs.truncate(0)
        json_logs.seek(0)
        response = client.post(URL, json=BODY, headers={**auth_headers(), "traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert response.headers["x-trace-id"] == TRACE_ID
    assert re.fullmatch(rf"00-{TRACE_ID}-[0-9a-f]{{16}}-01", response.headers["traceparent"])
    assert response.json()["trace_id"] == TRACE_ID
    request_lines = [line for line in lines(json_logs) if line["trace_id"] is not None]
    assert {line["logger"] for line in request_lines} == {"agents.execute", "agents.http"}
    for line in request_lines:
        assert FIELDS <= set(line)
        assert line["trace_id"] == TRACE_ID
        assert line["agent_name"] == "knowledge-qna"
        assert line["status"] == "success"
        assert isinstance(line["duration_ms"], float)


@pytest.mark.parametrize("header", [None, "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01"])
def test_a_missing_or_invalid_traceparent_starts_a_new_trace(make_client, json_logs, header) -> None:
    headers = auth_headers() | ({"traceparent": header} if header else {})
    with make_client() as client:
        first = client.post(URL, json=BODY, headers=headers).headers["x-trace-id"]
        second = client.post(URL, json=BODY, headers=headers).headers["x-trace-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second and first != "0" * 32
    logged = {line["trace_id"] for line in lines(json_logs)}
    assert {first, second} <= logged


def test_failures_log_the_exception_type_and_reason_but_answer_without_a_stack_trace(
    make_client, json_logs: io.StringIO
) -> None:
    always_fails = LocalProvider("flaky", seed=0)
    always_fails.variant = replace(always_fails.variant, failure_share=1.0)
    with make_client(provider=always_fails) as client:
        response = client.post(URL, json=BODY, headers=auth_headers())
        assert client.get("/health").status_code == 200  # the process keeps serving
    assert response.status_code == 502
    assert response.json() == {
        "error": "provider_error",
        "detail": "LLM provider failed: local-sim: simulated upstream failure (HTTP 503)",
        "field": None,
    }
    assert "Traceback" not in response.text
    failure = next(line for line in lines(json_logs) if line["level"] == "ERROR")
    assert failure["exception_type"] == "ProviderError"
    assert failure["status"] == "failure"
    assert "Traceback" not in json_logs.getvalue()
