"""`agent-rollouts demo --fast` end to end: real processes, a real git remote, a real browser.

Asserts what a new user is promised: the regressed canary is aborted at the first analysis gate
with a reason naming the regressed check, the good canary is promoted and released as exactly one
new commit with its digest, the report's charts render, and no process or port is left behind.
"""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from browser_support import screenshot

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (e.g. the demo's work dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, *args], capture_output=True, text=True, check=True
    ).stdout


def test_fast_demo_aborts_the_regression_and_releases_the_good_build(
    tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    workdir = tmp_path / "demo"
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--fast", "--workdir", str(workdir)], Console(stdout=out, stderr=err))
    assert code == ExitStatus.SUCCESS, err.getvalue() + out.getvalue()[-3000:]
    assert "In a cluster, Argo Rollouts executes the same manifests" in out.getvalue()

    summary = json.loads((workdir / "summary.json").read_text())
    bad, good = summary["releases"]
    first_gate = next(i for i, step in enumerate(summary["steps"]) if step.startswith("analysis"))
    assert bad["status"] == "aborted" and bad["decided_at_step"] == first_gate
    assert "confidence" in bad["reason"]
    assert good["status"] == "promoted", good["reason"]

    repo = summary["environments_repo"]
    history = git(repo, "log", "--format=%H", "main").split()
    assert len(history) == 3, "init, bootstrap and exactly one release"
    release_commit = git(repo, "show", "--format=%B", "--stat", "main")
    assert f"Image: {good['image']}" in release_commit
    assert bad["image"] not in git(repo, "log", "-p", "main")
    pin = git(repo, "show", f"main:envs/{summary['env']}/{summary['agent']}/kustomization.yaml")
    assert good["image"].split("@")[1] in pin

    assert processes_mentioning(str(workdir)) == []
    assert len(summary["endpoints"]) == 5  # Prometheus, judge, stable and two canaries
    for endpoint in summary["endpoints"]:
        host, port = endpoint.removeprefix("http://").split(":")
        with socket.socket() as sock:
            assert sock.connect_ex((host, int(port))) != 0, f"{endpoint} is still listening"

    require_tool("chromium")
    image = screenshot(workdir / "report.html", tmp_path, window="1200,1600")
    r, g, b = np.asarray(image).reshape(-1, 3).astype(int).T
    orange = int(((r > 200) & (g > 80) & (g < 150) & (b < 60)).sum())  # the canary's lines
    blue = int(((r < 100) & (g > 80) & (g < 130) & (b > 190)).sum())  # the baseline's lines
    assert orange > 500 and blue > 500, f"charts look blank: {orange} canary and {blue} baseline pixels"


def test_ctrl_c_stops_every_process_the_demo_started(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "agent_rollouts", "demo", "--fast", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    seen: list[str] = []
    try:
        for line in demo.stdout:
            seen.append(line)
            if "step 1/" in line:  # Prometheus, the judge, the stable and a canary are all up
                break
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        demo.kill()
    output = "".join(seen) + rest
    assert demo.returncode == ExitStatus.CTRL_C, output[-2000:]
    endpoints = set(re.findall(r"http://127\.0\.0\.1:\d+", "".join(seen)))
    assert len(endpoints) >= 4, output[-2000:]
    for endpoint in endpoints:
        host, port = endpoint.removeprefix("http://").split(":")
        with socket.socket() as sock:
            assert sock.connect_ex((host, int(port))) != 0, f"{endpoint} is still listening"
    assert processes_mentioning(str(workdir)) == []
