"""Prometheus stopped mid-run: the judge answers 503 (never a verdict), then recovers on restart."""

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from webhook_support import SCENARIOS, body, client

from tools.local_prometheus import backfill, scrape_config
from tools.procs import LOOPBACK, free_port, spawn
from tools.traffic import openmetrics, openmetrics_document

DURATION = 600


@contextmanager
def prometheus_on(prometheus: str, port: int, workdir: Path) -> Iterator[None]:
    """Prometheus on a fixed port, so the judge's URL stays valid across a restart."""
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config([], "1s")))
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--storage.tsdb.retention.time=100y",
        "--log.level=warn",
    ]
    with spawn(
        argv, log=workdir / "prometheus.log", ready_url=f"http://{LOOPBACK}:{port}/-/ready", ready_timeout=60
    ):
        yield


def test_prometheus_outage_is_503_then_recovers(tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    require_tool("promtool")
    prometheus = require_tool("prometheus")
    end = math.floor((time.time() - 3 * 3600) / 60) * 60
    backfill(
        openmetrics_document(
            [openmetrics("no-change", SCENARIOS["no-change"], start=end - DURATION, duration=DURATION)]
        ),
        tmp_path / "data",
        tmp_path,
    )
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    request = body("no-change", end)
    with client(url, cache_ttl=0) as api:
        with prometheus_on(prometheus, port, tmp_path):
            before = api.post("/api/v1/judgements", json=request)
            assert before.status_code == 200 and before.json()["verdict"] in ("pass", "inconclusive")
            assert api.get("/readyz").status_code == 200
        down = api.post("/api/v1/judgements", json=request)
        assert down.status_code == 503
        assert "unreachable" in down.json()["detail"]
        assert api.get("/readyz").status_code == 503
        assert api.get("/healthz").status_code == 200  # alive, just not ready
        with prometheus_on(prometheus, port, tmp_path):
            after = api.post("/api/v1/judgements", json=request)
            assert after.status_code == 200
            assert after.json()["verdict"] == before.json()["verdict"]
            assert api.get("/readyz").status_code == 200


def test_prometheus_error_is_503(tmp_path: Path) -> None:
    """A server that is not Prometheus (an HTML error page) is an error, not data."""
    server = ThreadingHTTPServer((LOOPBACK, 0), SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with client(f"http://{LOOPBACK}:{server.server_port}") as api:
            response = api.post("/api/v1/judgements", json=body("no-change", 1_700_000_000))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
    finally:
        server.shutdown()
        server.server_close()
