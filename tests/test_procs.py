"""Starting servers on free ports: a port taken between choosing it and binding it is survived."""

import socket
import sys
from pathlib import Path

import requests

from tools.procs import LOOPBACK, spawn_on_free_port


def test_a_server_whose_port_was_taken_starts_again_on_another(tmp_path: Path) -> None:
    """The first start is sent to a port this test holds, as when a parallel process took it."""
    with socket.create_server((LOOPBACK, 0)) as taken:
        ports: list[int] = []

        def argv(port: int) -> list[str]:
            ports.append(port)
            bind = taken.getsockname()[1] if len(ports) == 1 else port
            return [sys.executable, "-m", "http.server", str(bind), "--bind", LOOPBACK, "-d", str(tmp_path)]

        log = tmp_path / "server.log"
        with spawn_on_free_port(argv, log=log, ready_path="/") as (proc, url):
            assert requests.get(url, timeout=5).status_code == 200 and proc.poll() is None
    assert len(ports) == 2 and url.endswith(f":{ports[1]}")
    assert "address already in use" in log.read_text().lower()
