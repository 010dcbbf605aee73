"""A backend that answers junk or trickles: every case is a 503 naming the problem, in bounded time.

The backends here are real HTTP servers on loopback sockets (`hostile_backends`).
"""

import json
import socket
import time

import pytest
from hostile_backends import Answer, serving, trickle
from webhook_support import body, client

from webhook.backends import BackendUnavailable, DeadlineExceeded, MalformedAnswer, PrometheusBackend

END = 1_700_000_000


def json_answer(document: object, status: str = "200 OK") -> Answer:
    payload = json.dumps(document).encode()

    def answer(conn: socket.socket) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + payload)

    return answer


def vector(value: object = "1", t: object = END) -> dict[str, object]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [t, value]}]},
    }


MALFORMED = [
    ([vector()], "the answer is list, not an object"),
    ({"status": "success", "data": None}, "data is null, not an object"),
    ({"status": "success"}, "data is null"),
    ({"status": "success", "data": {"resultType": "vector", "result": {"a": 1}}}, "data.result is dict, not a list"),
    ({"status": "success", "data": {"resultType": "vector", "result": None}}, "data.result is null"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": "1"}]}}, "data.result[0].values is str"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [["x", "1"]]}]}}, "data.result[0].values[0][0] is 'x', not a unix timestamp"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1", 2]]}]}}, "has 3 elements"),
    (vector(None), "data.result[0].value[1] is null, not a sample value string"),
    (vector(1.5), "value[1] is float, not a sample value string"),
    (vector("lots"), "value[1] is 'lots', not a number"),
    (vector("1", None), "value[0] is None, not a unix timestamp"),
    (vector("1", True), "value[0] is True, not a unix timestamp"),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"a": 1}, "value": [1, "1"]}]}}, "data.result[0].metric.a is int"),
    ({"status": "success", "data": {"resultType": "vector", "result": ["x"]}}, "data.result[0] is str, not an object"),
    ({"status": "success", "data": {"resultType": "streams", "result": []}}, "data.resultType is 'streams'"),
    ({"status": "success", "warnings": "w", "data": {"resultType": "vector", "result": []}}, "warnings is str, not a list"),
    ({"status": "maybe"}, "status 'maybe', not success"),
    ("success", "the answer is str, not an object"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "named"), MALFORMED)
def test_a_malformed_answer_is_503_naming_what_was_wrong(document: object, named: str) -> None:
    with serving(json_answer(document)) as url:
        with pytest.raises(MalformedAnswer, match="malformed|not success") as caught:
            PrometheusBackend(url, cache_ttl=0).query("up", END)
        assert named in str(caught.value)
        with client(url, cache_ttl=0) as api:
            judged = api.post("/api/v1/judgements", json=body("no-change", END))
            ready = api.get("/readyz")
    assert judged.status_code == 503, judged.text
    assert judged.json()["error"] == "backend_unavailable" and named in judged.json()["detail"]
    assert ready.status_code == 503


def test_readyz_needs_vector_1_to_be_one_sample_valued_1() -> None:
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    for document, ready in ((vector(), 200), (vector("0"), 503), (empty, 503)):
        with serving(json_answer(document)) as url, client(url) as api:
            assert api.get("/readyz").status_code == ready, document


def test_an_error_status_is_unavailable_with_the_backends_reason() -> None:
    rejected = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    with serving(json_answer(rejected, "400 Bad Request")) as url:
        with pytest.raises(BackendUnavailable, match="parse error at char 3"):
            PrometheusBackend(url).query("up{", END)


@pytest.mark.parametrize("head", [False, True], ids=["body", "status-line"])
def test_a_trickling_backend_times_out_in_total(head: bool) -> None:
    """A byte every 0.2 s resets a per-read timeout forever; the query's total time is bounded."""
    with serving(trickle(0.2, head=head)) as url:
        began = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="did not answer within"):
            PrometheusBackend(url, timeout=1.0).query("up", END)
        assert time.monotonic() - began < 3.0  # 1 s and scheduling slack; the trickle lasts 200 s
        began = time.monotonic()
        with pytest.raises(DeadlineExceeded):  # the caller's deadline is earlier than the timeout
            PrometheusBackend(url, timeout=8.0).query("up", END, deadline=time.monotonic() + 0.5)
        assert time.monotonic() - began < 2.5


def test_a_spent_deadline_asks_nothing() -> None:
    with serving(json_answer(vector())) as url:
        with pytest.raises(DeadlineExceeded, match="no time left"):
            PrometheusBackend(url).query("up", END, deadline=time.monotonic() - 1)


def test_readyz_and_judgements_answer_503_in_bounded_time_from_a_trickling_backend() -> None:
    with serving(trickle(0.2)) as url, client(url, query_timeout=1.0, cache_ttl=0) as api:
        began = time.monotonic()
        assert api.get("/readyz").status_code == 503
        assert time.monotonic() - began < 3.0
        assert api.get("/healthz").status_code == 200
        began = time.monotonic()
        judged = api.post("/api/v1/judgements", json=body("no-change", END))
        assert judged.status_code == 503 and "did not answer within" in judged.json()["detail"]
        assert time.monotonic() - began < 5.0
