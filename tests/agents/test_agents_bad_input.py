"""Bad input gets a clear 4xx JSON error naming the problem: never a 500, never a stack trace."""

import pytest
from agents_support import auth_headers

from agents.loadgen import sample_payload

URL = "/api/agents/data-standardization/execute"


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
