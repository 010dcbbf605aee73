"""Fixtures of the control-plane suites (`make cluster-test`): each module gets a stack of its own."""

import secrets
import sys
import threading
from collections.abc import Iterator

import pytest
from cluster_support import DEV, PROD, Stack, Traffic, create_namespace
from prometheus_client import start_http_server

from tools.control_plane import State, cluster_binary, stop_all, up
from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn


@pytest.fixture(scope="module")
def traffic() -> Iterator[tuple[Traffic, str]]:
    """The exporter's address; a thread adds requests every quarter second."""
    feed = Traffic()
    server, _ = start_http_server(0, addr=LOOPBACK, registry=feed.registry)
    port = server.server_port
    stopped = threading.Event()

    def run() -> None:
        while not stopped.wait(0.25):
            feed.tick(0.25)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield feed, f"{LOOPBACK}:{port}"
    stopped.set()
    thread.join()
    server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, traffic: tuple[Traffic, str]) -> Iterator[Stack]:
    """Control plane, Prometheus scraping the exporter, and the judge service."""
    for name in ("kube-apiserver", "rollouts-controller", "kubectl-argo-rollouts", "kwok"):
        cluster_binary(name)  # fails with "run `make cluster`" when missing
    workdir = tmp_path_factory.mktemp("cluster-e2e")
    state = State(workdir / "cluster")
    token = secrets.token_hex(16)
    token_file = workdir / "judge-token"
    token_file.write_text(token)
    try:
        up(state)
        with run_prometheus(workdir / "prometheus", [ScrapeTarget(traffic[1])]) as prometheus_url:
            port = free_port()
            judge = [sys.executable, "-m", "agent_rollouts", "serve", "--prometheus-url", prometheus_url]
            judge += ["--token-file", str(token_file), "--host", LOOPBACK, "--port", str(port)]
            with spawn(judge, log=workdir / "judge.log", ready_url=f"http://{LOOPBACK}:{port}/readyz"):
                stack = Stack(state, f"http://{LOOPBACK}:{port}/api/v1/judgements", prometheus_url, workdir)
                for name in (DEV, PROD):
                    create_namespace(state, name, token)
                yield stack
    finally:
        stop_all(state)
