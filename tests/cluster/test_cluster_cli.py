"""`agent-rollouts cluster` without the control plane's binaries: runs in `make test`."""

import io
import json
import time
from pathlib import Path

import pytest

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from tools.control_plane import State, _start, _start_time, stop_all


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Console(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def test_status_and_down_without_a_cluster(tmp_path: Path) -> None:
    assert run("cluster", "--state-dir", str(tmp_path), "status") == (
        ExitStatus.UNAVAILABLE,
        "cluster not running\n",
        "",
    )
    assert run("cluster", "--state-dir", str(tmp_path), "down") == (
        ExitStatus.SUCCESS,
        "cluster not running\n",
        "",
    )


def test_up_without_the_built_binaries_says_how_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_ROLLOUTS_TOOLS", str(tmp_path / "no-tools"))
    code, out, err = run("cluster", "--state-dir", str(tmp_path / "state"), "up")
    assert code == ExitStatus.UNAVAILABLE
    assert out == ""
    # etcd comes first: Debian's etcd-server may be installed (then kube-apiserver is missing) or not.
    assert "is not built; run `make cluster`" in err or "etcd is not installed; run `make cluster`" in err
    assert not (tmp_path / "state" / "processes.json").exists()


def test_down_stops_what_was_recorded_and_status_tells_running_from_stopped(tmp_path: Path) -> None:
    state = State(tmp_path)
    sleeper = _start(state, "sleeper", ["sleep", "60"])
    finished = _start(state, "finished", ["true"])
    pids = [sleeper["pid"], finished["pid"]]
    state.processes.write_text(json.dumps({"processes": [sleeper, finished], "ports": {}}))
    time.sleep(0.5)  # `true` has exited: a zombie until reaped, not running either

    code, out, _ = run("cluster", "--state-dir", str(tmp_path), "status")
    assert code == ExitStatus.UNAVAILABLE  # not every component runs
    assert f"sleeper                           running (pid {pids[0]})" in out
    assert f"finished                          stopped (pid {pids[1]})" in out

    assert run("cluster", "--state-dir", str(tmp_path), "down") == (
        ExitStatus.SUCCESS,
        "stopped: sleeper\n",
        "",
    )
    assert _start_time(pids[0]) is None  # gone, or a zombie this test process has not reaped yet
    assert not state.processes.exists()
    assert stop_all(state) == []


def test_status_names_the_argocd_api_server_when_up_started_it(tmp_path: Path) -> None:
    state = State(tmp_path)
    sleeper = _start(state, "sleeper", ["sleep", "60"])
    state.processes.write_text(json.dumps({"processes": [sleeper], "ports": {"argocd-server": 43210}}))
    try:
        _, out, _ = run("cluster", "--state-dir", str(tmp_path), "status")
    finally:
        stop_all(state)
    token = tmp_path / "argocd-admin-token"
    assert f"ARGOCD_SERVER=127.0.0.1:43210 (plaintext; admin token in {token})\n" in out
