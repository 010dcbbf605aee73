"""Fixtures of the control-plane suites (`make cluster-test`)."""

import threading
from collections.abc import Iterator

import pytest
from cluster_support import Traffic
from prometheus_client import start_http_server

from tools.procs import LOOPBACK, free_port


@pytest.fixture(scope="module")
def traffic() -> Iterator[tuple[Traffic, str]]:
    """The exporter's address; a thread adds requests every quarter second."""
    feed = Traffic()
    port = free_port()
    server, _ = start_http_server(port, addr=LOOPBACK, registry=feed.registry)
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
