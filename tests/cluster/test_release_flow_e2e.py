"""The day-two commands against the real Argo Rollouts controller on the local control plane.

`status`, `promote`'s verification, `rollback` and `rotate-key` talk to the cluster through the
`kubernetes` client with the kubeconfig `cluster up` writes; the environments repo is a real bare
repo bootstrapped from this checkout. The Rollouts run the shortened replica-weighted example and
a prod-like overlay, as in test_cluster_e2e.py (its stand-ins apply here too: kwok's pods run no
containers, and a metrics exporter emits each pod-template hash's traffic). Argo CD does not run:
the test applies what each pin renders, as Argo CD would sync it.
"""

import base64
import io
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cluster_support import (
    AGENT,
    DEV,
    EXAMPLE,
    HEALTHY,
    PROD,
    REGRESSED,
    REPLICAS,
    ROLLOUT,
    Stack,
    Traffic,
    analysis_runs,
    apply,
    deploy_first,
    digest,
    get,
    healthy_on,
    plugin,
    prod_like_overlay,
    release,
    release_manifests,
    rollout,
    wait_for,
)

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from gitops.generate import PlatformManifests
from gitops.writer import Options, bootstrap, init
from kernel.catalog import AGENTS, image_repository
from kernel.platform import example_text
from tools.control_plane import kubectl

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

IMAGE = image_repository(AGENT)
OWN_AGENT = "support-bot"  # an agent of the repo's own platform file, not of the project's catalog
# The project's platform file as a team would write it: each environment names its kubeconfig
# context (the one `cluster up` writes), and one more agent, which has no Rollout in this cluster.
PLATFORM = re.sub(
    r"(\n    cluster: https://kubernetes\.default\.svc[^\n]*\n)", r"\1    context: local\n", example_text()
).replace(
    "\nenvironments:\n", f"  - name: {OWN_AGENT}\n    image: ghcr.io/acme/{OWN_AGENT}\n\nenvironments:\n"
)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Console(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def remote(stack: Stack) -> Path:
    """An environments repo bootstrapped from this checkout."""
    path = stack.workdir / "envs.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)
    assert PLATFORM.count("context: local") == 3 and OWN_AGENT in PLATFORM
    init(str(path), PLATFORM)
    bootstrap(str(path), options=Options(), manifests=PlatformManifests.current())
    return path


def kube_flags(stack: Stack) -> tuple[str, ...]:
    """The kubeconfig; the context is the platform file's (`context: local`)."""
    return ("--kubeconfig", str(stack.state.kubeconfig))


def pin(remote: Path, env: str, release_number: int) -> None:
    code, _, err = cli(
        "release", "--repo", str(remote), "--env", env, "--agent", AGENT,
        "--image", f"{IMAGE}@{digest(release_number)}", "--review", "direct",
    )  # fmt: skip
    assert code == 0, err


def status(stack: Stack, remote: Path, env: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(
        "status", "--repo", str(remote), "--env", env, "--agent", AGENT, "--json", *kube_flags(stack)
    )
    assert out, err
    (row,) = json.loads(out)["rollouts"]
    return code, row


def promote(stack: Stack, remote: Path, *extra: str) -> tuple[int, str, str]:
    return cli(
        "promote", "--repo", str(remote), "--agent", AGENT, "--from", "dev", "--to", "staging",
        *kube_flags(stack), *extra,
    )  # fmt: skip


def head(remote: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(remote), "rev-parse", "main"], capture_output=True, text=True, check=True
    ).stdout


def last_trailer(remote: Path, key: str) -> str:
    return subprocess.run(
        [
            "git",
            "-C",
            str(remote),
            "log",
            "-1",
            f"--format=%(trailers:key={key},valueonly,separator=)",
            "main",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_status_promote_and_rollback_follow_the_canary(
    stack: Stack, traffic: tuple[Traffic, str], remote: Path
) -> None:
    feed = traffic[0]
    pin(remote, "dev", 1)
    stable = deploy_first(stack, EXAMPLE, DEV, feed)

    code, row = status(stack, remote, "dev")
    assert code == ExitStatus.SUCCESS and row["pinned"] == f"{IMAGE}@{digest(1)}"
    assert row["rollout"]["phase"] == "Healthy" and row["rollout"]["stable_hash"] == stable
    # Every agent of the repo's file, its own included: a row each, the missing Rollouts named.
    code, out, err = cli("status", "--repo", str(remote), "--env", "dev", "--json", *kube_flags(stack))
    rows = {row["agent"]: row for row in json.loads(out)["rollouts"]}
    assert code == ExitStatus.SUCCESS, err
    assert set(rows) == {*AGENTS, OWN_AGENT}
    assert rows[AGENT]["rollout"]["phase"] == "Healthy"
    assert f"Rollout {DEV}/{OWN_AGENT}-agent not found" in rows[OWN_AGENT]["error"]
    # A first release skips the canary: no analysis ever measured it, so nothing verified it.
    before = head(remote)
    code, _, err = promote(stack, remote)
    assert code == ExitStatus.ERROR and f"no AnalysisRun measured stable {stable}" in err
    assert head(remote) == before

    # A healthy canary: seen progressing, then paused on a timed pause, then Healthy on the new hash.
    pin(remote, "dev", 2)
    canary = release(stack, EXAMPLE, 2, DEV, feed, HEALTHY)
    seen: dict[int, dict[str, Any]] = {}

    def walked() -> bool:
        code, row = status(stack, remote, "dev")
        seen.setdefault(code, row)
        return code == ExitStatus.SUCCESS and row["rollout"]["stable_hash"] == canary

    wait_for("release 2 to walk its steps and become stable", walked, timeout=300)
    progressing = seen[ExitStatus.ROLLOUT_PROGRESSING]["rollout"]
    assert progressing["phase"] == "Progressing" and progressing["canary_hash"] == canary
    assert progressing["weight"] in (10, 25, 50) and progressing["next_step"].startswith("wait")
    paused = seen[ExitStatus.ROLLOUT_PAUSED]["rollout"]
    assert (
        paused["phase"] == "Paused"
        and paused["next_step"].startswith("wait ")
        and "pause ends" in paused["next_step"]
    )

    code, row = status(stack, remote, "dev")
    gates = row["rollout"]["gates"]
    assert {g["name"] for g in gates} >= {"step 3", "step 6", "step 9"}, gates
    judged = [m for g in gates for m in g["metrics"] if m["verdict"]]
    assert judged and all(m["verdict"] == "pass" and m["reason"] for m in judged)

    code, out, err = promote(stack, remote)
    assert code == 0, err
    verified = last_trailer(remote, "Verified")
    name, phase, runs = verified.split(" ")
    assert (name, phase) == (ROLLOUT, "Healthy")
    assert set(runs.split(",")) == {g["run"] for g in gates}
    assert set(runs.split(",")) <= {r["metadata"]["name"] for r in analysis_runs(stack, DEV, canary)}

    # A regression is aborted: status says Degraded with the judge's fail, promote refuses it.
    pin(remote, "dev", 3)
    regressed = release(stack, EXAMPLE, 3, DEV, feed, REGRESSED)
    wait_for(
        "the regressed canary to be aborted",
        lambda: status(stack, remote, "dev")[0] == ExitStatus.ROLLOUT_DEGRADED,
    )
    code, row = status(stack, remote, "dev")
    assert row["rollout"]["aborted"] and row["rollout"]["canary_hash"] == regressed
    failed = [m for g in row["rollout"]["gates"] for m in g["metrics"] if m["verdict"] == "fail"]
    assert failed and failed[0]["reason"]
    assert "aborted" in row["rollout"]["next_step"]
    before = head(remote)
    code, _, err = promote(stack, remote)
    assert code == ExitStatus.ERROR and f"Rollout {DEV}/{ROLLOUT} is Degraded (aborted)" in err
    assert head(remote) == before
    code, _, err = promote(stack, remote, "--force")
    assert code == 0, err
    assert last_trailer(remote, "Verified") == "no"

    # Rollback: the pin goes back to release 2 (the Previous-Image of release 3); synced, the
    # Rollout is Healthy on release 2's hash again and verifiable.
    code, out, err = cli("rollback", "--repo", str(remote), "--env", "dev", "--agent", AGENT)
    assert code == 0, err
    assert last_trailer(remote, "Image") == f"{IMAGE}@{digest(2)}"
    apply(stack, release_manifests(stack, EXAMPLE, 2))
    wait_for(
        "the rolled-back Rollout to be Healthy",
        lambda: healthy_on(stack, DEV, canary) and not rollout(stack, DEV)["status"].get("abort"),
    )
    code, row = status(stack, remote, "dev")
    assert code == ExitStatus.SUCCESS and row["pinned"] == f"{IMAGE}@{digest(2)}"
    assert row["rollout"]["stable_image"] == f"{IMAGE}@{digest(2)}"


def test_status_at_the_manual_gate_then_rotate_key(
    stack: Stack, traffic: tuple[Traffic, str], remote: Path
) -> None:
    feed = traffic[0]
    overlay = prod_like_overlay(stack)
    deploy_first(stack, overlay, PROD, feed)
    canary = release(stack, overlay, 2, PROD, feed, HEALTHY)

    def at_gate() -> dict[str, Any] | None:
        code, row = status(stack, remote, "prod")
        manual = code == ExitStatus.ROLLOUT_PAUSED and row["rollout"]["next_step"].startswith("manual gate")
        return row if manual else None

    row = wait_for("the manual gate", at_gate, timeout=300)
    assert f"kubectl argo rollouts promote {ROLLOUT} -n {PROD}" in row["rollout"]["next_step"]
    assert row["rollout"]["weight"] == 50
    plugin(stack, "promote", ROLLOUT, "-n", PROD)
    wait_for("the promoted release to be stable", lambda: healthy_on(stack, PROD, canary), timeout=120)

    def running() -> set[str]:
        pods = get(stack, PROD, "pods")["items"]
        return {p["metadata"]["uid"] for p in pods if not p["metadata"].get("deletionTimestamp")}

    before = wait_for(
        "the old ReplicaSet's pods to be gone", lambda: (now := running()) and len(now) == REPLICAS and now
    )
    key = secrets.token_hex(24)
    key_file = stack.workdir / "new-key"
    key_file.write_text(key + "\n")
    argv = [
        sys.executable,
        "-m",
        "agent_rollouts",
        "rotate-key",
        "--repo",
        str(remote),
        "--env",
        "prod",
        "--agent",
        AGENT,
        "--from-file",
        str(key_file),
    ]
    done = subprocess.run(
        [*argv, *kube_flags(stack)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "is Healthy" in done.stdout and f"replaced {len(before)} pods" in done.stdout

    stored = json.loads(
        kubectl(stack.state, "-n", PROD, "get", "secret", f"{AGENT}-llm-credentials", "-o", "json")
    )
    assert base64.b64decode(stored["data"]["api-key"]).decode() == key
    after = running()
    assert after and not before & after, "every pod was replaced"
    assert healthy_on(stack, PROD, canary)
    # The key is nowhere but the Secret: not in output, argv, the control plane's logs or the repo.
    logs = "".join(path.read_text(errors="replace") for path in stack.state.logs.glob("*.log"))
    history = subprocess.run(
        ["git", "-C", str(remote), "log", "--all", "-p"], capture_output=True, text=True, check=True
    ).stdout
    assert key not in done.stdout + done.stderr + " ".join(argv) + logs + history
