"""Bad input gets a clear 4xx JSON error naming the problem: never a 500, never a stack trace."""

import pytest
from agents_support import auth_headers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from agents.code_analysis import CodeAnalysisAgent, CodeAnalysisRequest
from agents.metrics import AgentMetrics
from agents.providers.local import LocalProvider
from kernel.catalog import AGENTS
from tools.loadgen import sample_payload

URL = "/api/agents/data-standardization/execute"
FIELDS = {
    "data-standardization": ["record"],
    "code-analysis": ["code", "language"],
    "knowledge-qna": ["question"],
}


def check_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.fixture
def client(make_client):
    with make_client("data-standardization", max_body_bytes=2048) as client:
        yield client


def test_malformed_json_is_400(client) -> None:
    body = check_error(
        client.post(URL, content=b'{"record": {', headers=auth_headers()), 400, "malformed_json"
    )
    assert "not valid JSON" in body["detail"]
    check_error(client.post(URL, content=b"\xff\xfe", headers=auth_headers()), 400, "malformed_json")


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["record"]),
        ({"record": {}}, ["record"]),
        ({"record": {"a": [1, 2]}}, ["record.a.str", "record.a.int", "record.a.float", "record.a.bool"]),
        ({"record": {"a": "b"}, "extra": 1}, ["extra"]),
        ([1, 2], ["body"]),
    ],
)
def test_invalid_bodies_are_422_naming_the_fields(client, payload, fields: list[str]) -> None:
    body = check_error(client.post(URL, json=payload, headers=auth_headers()), 422, "invalid_request")
    named = [field["field"] for field in body["fields"]]
    assert all(field in named for field in fields), named
    assert fields[0] in body["detail"]


def test_oversize_bodies_are_413_with_or_without_a_content_length(client) -> None:
    big = {"record": {"note": "x" * 4096}}
    check_error(client.post(URL, json=big, headers=auth_headers()), 413, "body_too_large")

    def chunks():  # streamed: no Content-Length to trust
        yield b'{"record": {"note": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}}'

    check_error(client.post(URL, content=chunks(), headers=auth_headers()), 413, "body_too_large")


def test_unknown_agent_is_404_naming_it(client) -> None:
    body = check_error(
        client.post("/api/agents/summarizer/execute", json={}, headers=auth_headers()), 404, "unknown_agent"
    )
    assert "'summarizer'" in body["detail"] and "data-standardization" in body["detail"]


def test_unknown_route_and_wrong_method_are_json(client) -> None:
    check_error(client.get("/nope"), 404, "not_found")
    check_error(client.get(URL), 405, "method_not_allowed")


def test_service_keeps_serving_after_bad_input(client, registry) -> None:
    for payload in (b"{", b"[]", b'{"record": 5}'):
        assert client.post(URL, content=payload, headers=auth_headers()).status_code < 500
    ok = client.post(URL, json=sample_payload("data-standardization", 0), headers=auth_headers())
    assert ok.status_code == 200
    # Rejected input never reached the agent, so it is not counted as an execution.
    assert (
        registry.get_sample_value(
            "agent_requests_total", {"agent_name": "data-standardization", "status": "success"}
        )
        == 1
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
CLIENT_ERRORS = {200, 400, 413, 422}


@pytest.mark.parametrize("agent", AGENTS)
def test_arbitrary_json_bodies_never_cause_a_server_error(make_client, agent: str) -> None:
    instant = LocalProvider("baseline", seed=4, sleep=lambda _: None)
    headers = auth_headers()
    with make_client(agent, provider=instant) as client:

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(body=json_values | st.fixed_dictionaries(dict.fromkeys(FIELDS[agent], json_values)))
        def check(body: object) -> None:
            response = client.post(f"/api/agents/{agent}/execute", json=body, headers=headers)
            assert response.status_code in CLIENT_ERRORS, response.text

        check()


@given(code=st.text(min_size=1, max_size=200))
@example(code="a\x00b")  # null bytes: the parser raises SyntaxError
@example(code="-" * 19_000 + "1")  # deep nesting: the parser raises MemoryError
@settings(max_examples=80, deadline=None)
def test_any_code_text_is_analysed_or_reported_unparsable(code: str) -> None:
    registry = CollectorRegistry()
    provider = LocalProvider("baseline", seed=5, sleep=lambda _: None)
    agent = CodeAnalysisAgent(
        provider, AgentMetrics(registry, ["code-analysis"], provider.name, provider.model)
    )
    result = agent.execute(CodeAnalysisRequest(code=code))
    assert ("syntax_error" in result.output) or ("max_complexity" in result.output)
    assert 0 <= result.confidence <= 1
