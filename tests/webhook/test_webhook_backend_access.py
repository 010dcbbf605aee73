"""Backends at scale: the real Prometheus behind a loopback reverse proxy that, like a Thanos or
Mimir front-end, demands credentials and tenant headers, speaks TLS with client certificates, and
can add the warnings a partial response carries.
"""

import json
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import Backfilled
from webhook_support import body, client

from tools.procs import LOOPBACK

PARTIAL = "PromQL warning: partial response: store gateway 10.0.0.7:10901 unavailable"


@dataclass
class Gate:
    """What the proxy demands and adds; `seen` records the headers each request arrived with."""

    upstream: str
    required: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seen: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def proxy(gate: Gate, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            headers = dict(self.headers.items())
            gate.seen.append(headers)
            form = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if any(headers.get(name) != value for name, value in gate.required.items()):
                self._send(401, b'{"error": "missing or wrong credentials"}')
                return
            answer = requests.post(
                f"{gate.upstream}{self.path}",
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=10,
            )
            document = answer.json()
            if gate.warnings:
                document["warnings"] = gate.warnings
            self._send(answer.status_code, json.dumps(document).encode())

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def secret_file(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_bearer_token_from_a_file_and_a_tenant_header_reach_the_backend(
    backfilled: Backfilled, tmp_path: Path
) -> None:
    gate = Gate(backfilled.url, required={"Authorization": "Bearer mimir-token", "X-Scope-OrgID": "team-a"})
    with proxy(gate) as url:
        token = secret_file(tmp_path / "prometheus-token", "mimir-token")
        settings = {"prometheus_bearer_token_file": token, "prometheus_headers": {"X-Scope-OrgID": "team-a"}}
        with client(url, cache_ttl=0, **settings) as api:
            judged = api.post("/api/v1/judgements", json=body("error-increase", backfilled.end))
            ready = api.get("/readyz")
        configured = list(gate.seen)
        with client(url, cache_ttl=0) as anonymous:
            refused = anonymous.post("/api/v1/judgements", json=body("error-increase", backfilled.end))
    assert judged.status_code == 200 and judged.json()["verdict"] == "fail"
    assert ready.status_code == 200
    assert refused.status_code == 503 and "HTTP 401" in refused.json()["detail"]
    assert len(configured) >= 3 and all(h.get("X-Scope-OrgID") == "team-a" for h in configured)


def test_basic_auth_with_the_password_from_a_file(backfilled: Backfilled, tmp_path: Path) -> None:
    gate = Gate(backfilled.url, required={"Authorization": "Basic dGhhbm9zOnMzY3JldA=="})  # thanos:s3cret
    with proxy(gate) as url:
        password = secret_file(tmp_path / "password", "s3cret")
        with client(url, prometheus_basic_user="thanos", prometheus_basic_password_file=password) as api:
            assert api.get("/readyz").status_code == 200


def test_a_partial_response_is_inconclusive_with_the_warning_unless_it_is_harmless(
    backfilled: Backfilled,
) -> None:
    gate = Gate(backfilled.url, warnings=[PARTIAL])
    request = body("error-increase", backfilled.end)
    with proxy(gate) as url:
        with client(url, cache_ttl=0) as api:
            warned = api.post("/api/v1/judgements", json=request).json()
            index = api.get("/reports?agent=error-increase")
        with client(url, cache_ttl=0, harmless_warnings=["store gateway 10.0.0.7"]) as api:
            accepted = api.post("/api/v1/judgements", json=request).json()
    assert warned["verdict"] == "inconclusive" and PARTIAL in warned["reason"]
    assert (
        index.status_code == 503 and PARTIAL in index.json()["detail"]
    )  # an index without all data is no index
    assert accepted["verdict"] == "fail"  # the same data, with a warning the team declared harmless


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path, require_tool: Callable[[str], str]) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by real openssl."""
    require_tool("openssl")
    for name in ("ca", "server", "client"):
        openssl("genrsa", "-out", str(tmp_path / f"{name}.key"), "2048")
    openssl("req", "-x509", "-new", "-key", str(tmp_path / "ca.key"), "-subj", "/CN=test-ca", "-days", "2",
            "-out", str(tmp_path / "ca.pem"))  # fmt: skip
    (tmp_path / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", str(tmp_path / "san.cnf")]), ("client", [])):
        openssl("req", "-new", "-key", str(tmp_path / f"{name}.key"), "-subj", f"/CN={name}",
                "-out", str(tmp_path / f"{name}.csr"))  # fmt: skip
        openssl("x509", "-req", "-in", str(tmp_path / f"{name}.csr"), "-CA", str(tmp_path / "ca.pem"),
                "-CAkey", str(tmp_path / "ca.key"), "-CAcreateserial", "-days", "2",
                "-out", str(tmp_path / f"{name}.pem"), *extra)  # fmt: skip
    return tmp_path


def test_tls_with_a_private_ca_and_a_client_certificate(backfilled: Backfilled, pki: Path) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.load_verify_locations(pki / "ca.pem")
    server.verify_mode = ssl.CERT_REQUIRED  # mTLS: no client certificate, no answer
    with proxy(Gate(backfilled.url), tls=server) as url:
        trusted = {"prometheus_ca_file": pki / "ca.pem"}
        with client(
            url, **trusted, prometheus_cert_file=pki / "client.pem", prometheus_key_file=pki / "client.key"
        ) as api:
            assert api.get("/readyz").status_code == 200
            judged = api.post("/api/v1/judgements", json=body("error-increase", backfilled.end))
            assert judged.status_code == 200 and judged.json()["verdict"] == "fail"
        with client(url, **trusted, cache_ttl=0) as no_certificate:
            refused = no_certificate.post("/api/v1/judgements", json=body("error-increase", backfilled.end))
            assert refused.status_code == 503 and "unreachable" in refused.json()["detail"]
        with client(url, cache_ttl=0) as untrusted:  # the system CAs do not know the private CA
            assert untrusted.get("/readyz").status_code == 503
