"""Both services, the agent and the judge, follow one HTTP convention (kernel.web): the same health
paths, one error body, one body limit counted as bytes arrive, the same security headers.

The services run as real processes on loopback; requests go over real sockets.
"""

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from agents.auth import mint_token
from kernel.web import SECURITY_HEADERS
from tools.procs import LOOPBACK, free_port, spawn

TOKEN = "convention-test-token-0123456789"
JWT_SECRET = "convention-test-jwt-secret-0123456789abcdef"
# service -> (argv after `agent-rollouts`, its JSON route, its default body limit)
SERVICES = {
    "agent": (["agent", "knowledge-qna"], "/api/agents/knowledge-qna/execute", 64 * 1024),
    "judge": (["serve", "--prometheus-url", f"http://{LOOPBACK}:9"], "/api/v1/judgements", 16_384),
}


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    route: str
    limit: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@contextmanager
def running(name: str, workdir: Path, **env: str) -> Iterator[Service]:
    """One service, running as `agent-rollouts ...` on a free loopback port."""
    argv, route, limit = SERVICES[name]
    service = Service(name, free_port(), route, limit)
    env = {**os.environ, "AGENT_JWT_SECRET": JWT_SECRET, "AGENT_ROLLOUTS_TOKEN": TOKEN, **env}
    command = [sys.executable, "-m", "agent_rollouts", *argv, "--port", str(service.port)]
    with spawn(command, log=workdir / f"{name}.log", ready_url=f"{service.url}/healthz", env=env):
        yield service


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running(request.param, tmp_path_factory.mktemp(request.param)) as started:
        yield started


def raw_request(service: Service, head: str, chunks: Iterator[bytes]) -> bytes:
    """Send `head` then `chunks` over one socket; return what the server answered (it may stop reading)."""
    with socket.create_connection((LOOPBACK, service.port), timeout=10) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
    yield b"0\r\n\r\n"


def test_health_paths_and_their_aliases(service: Service) -> None:
    for path in ("/healthz", "/health"):
        assert requests.get(f"{service.url}{path}", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{service.url}/readyz", timeout=5).status_code in (200, 503)
    assert requests.get(f"{service.url}/ready", timeout=5).status_code in (200, 503)


def test_errors_have_one_shape(service: Service) -> None:
    unauthenticated = requests.post(f"{service.url}{service.route}", json={}, timeout=5)
    missing = requests.get(f"{service.url}/no-such-page", timeout=5)
    for response, status, code in ((unauthenticated, 401, "unauthorized"), (missing, 404, "not_found")):
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"error", "detail", "field"} and body["error"] == code and body["detail"]


def test_a_declared_oversize_body_is_refused_before_auth(service: Service) -> None:
    response = requests.post(
        f"{service.url}{service.route}", data=b"{" + b" " * service.limit + b"}", timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large" and response.json()["field"] == "body"


@pytest.mark.parametrize("framing", ["chunked", "content-length-and-chunked"])
def test_a_streamed_body_is_counted_as_it_arrives(service: Service, framing: str) -> None:
    """A small Content-Length beside Transfer-Encoding: chunked used to let 20-200 MB through."""
    declared = "Content-Length: 10\r\n" if framing == "content-length-and-chunked" else ""
    head = (
        f"POST {service.route} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
        f"{declared}Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_request(service, head, chunked(20 * 1024 * 1024))
    status = answer.split(b" ", 2)[1] if answer else b"no answer"
    assert status == b"413", answer[:200]


def test_every_response_carries_the_security_headers(service: Service) -> None:
    for response in (
        requests.get(f"{service.url}/healthz", timeout=5),
        requests.post(f"{service.url}{service.route}", json={}, timeout=5),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    assert (
        "script-src" not in SECURITY_HEADERS["content-security-policy"]
    )  # default-src 'none' forbids scripts


def test_the_judge_serves_no_third_party_docs_page(service: Service) -> None:
    assert requests.get(f"{service.url}/docs", timeout=5).status_code == 404


# Tight buckets for requests without a valid token: five, refilled about once a minute.
UNAUTHENTICATED_LIMITS = {
    "AGENT_UNAUTHENTICATED_RATE_LIMIT_BURST": "5",
    "AGENT_UNAUTHENTICATED_RATE_LIMIT_RPS": "0.01",
    "AGENT_ROLLOUTS_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE": "5",
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_unauthenticated_floods_neither_forge_a_bucket_nor_starve_callers(name: str, tmp_path: Path) -> None:
    with running(name, tmp_path, **UNAUTHENTICATED_LIMITS) as service:
        url = f"{service.url}{service.route}"
        wrong = {"Authorization": "Bearer wrong"}
        statuses = [requests.post(url, json={}, headers=wrong, timeout=5).status_code for _ in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        # X-Forwarded-For is believed only from configured proxies (none here): no fresh bucket.
        forged = {**wrong, "X-Forwarded-For": "203.0.113.7"}
        assert requests.post(url, json={}, headers=forged, timeout=5).status_code == 429
        token = TOKEN if name == "judge" else mint_token(JWT_SECRET, "tester", 300)
        valid = requests.post(url, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert valid.status_code == 422, valid.text  # judged (and refused as empty), not rate limited
