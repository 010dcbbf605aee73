"""A new user's path: the built wheel in a fresh venv, their own agents on their own clusters.

Nothing from the clone is on the path: the wheel is built from a copy of the tracked files and run
from a folder outside it, with only the venv, git, kubectl, promtool and kubeconform on PATH.
Dependencies come from PyPI.
"""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from gitops_support import digest, git_out, head

from ci.render import kustomize_build
from kernel.toolpaths import REPO_ROOT
from tools.procs import LOOPBACK, free_port, stop, wait_for_http

USER_FILE = """\
apiVersion: agent-rollouts/v1
agents:
  - name: support-bot
    image: registry.acme.test/bots/support-bot
    port: 9000
    tolerances: {confidence: 0.02}
  - name: invoice-parser
    image: registry.acme.test/bots/invoice-parser
    command: [invoice-parser, serve]
environments:
  - name: qa
    cluster: https://qa.k8s.acme.test
    pauses: [30s, 1m, 1m]
  - name: live
    cluster: https://live.k8s.acme.test:6443
    namespace: bots
    sync: manual
    gate: manual
    review: direct   # pushed, not a pull request: no forge here
promotion: [qa, live]
links: {judge: https://judge.acme.test, grafana: https://grafana.acme.test}
"""
DUPLICATE = USER_FILE.replace("name: invoice-parser", "name: support-bot")


def run(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "agent-rollouts"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def owners_by_cluster(checkout: Path) -> dict[str, Counter[tuple[str, str, str]]]:
    """For each destination server, how many Applications own each (kind, namespace, name)."""
    appsets = [
        doc for doc in yaml.safe_load_all((checkout / "argocd/2-applicationsets.yaml").read_text()) if doc
    ]
    platform_apps = [
        doc for doc in yaml.safe_load_all((checkout / "argocd/3-platform.yaml").read_text()) if doc
    ]
    folders: list[tuple[str, str, Path]] = []
    for appset in appsets:
        pattern = appset["spec"]["generators"][0]["git"]["directories"][0]["path"]
        destination = appset["spec"]["template"]["spec"]["destination"]
        folders += [
            (destination["server"], destination["namespace"], f)
            for f in sorted(checkout.glob(pattern))
            if f.is_dir()
        ]
    for app in platform_apps:
        folders.append((app["spec"]["destination"]["server"], "", checkout / app["spec"]["source"]["path"]))
    owners: dict[str, Counter[tuple[str, str, str]]] = {}
    for server, namespace, folder in folders:
        for doc in yaml.safe_load_all(kustomize_build(folder)):
            if doc:
                key = (doc["kind"], doc["metadata"].get("namespace", namespace), doc["metadata"]["name"])
                owners.setdefault(server, Counter())[key] += 1
    return owners


@pytest.mark.slow
def test_an_installed_wheel_ships_a_users_own_agents_to_two_clusters(tmp_path: Path, require_tool) -> None:
    crds = REPO_ROOT.parent / "shared" / "crds"
    assert crds.is_dir(), f"{crds}: the upstream CRDs are needed (see README, Set-up)"
    kubeconform = require_tool("kubeconform")
    tools = {name: require_tool(name) for name in ("git", "kubectl", "promtool")}

    # The wheel, built from a copy of the tracked files, installed into a fresh venv.
    source = tmp_path / "source"
    tracked = git_out(REPO_ROOT, "ls-files", "-z").split("\0")
    for name in filter(None, tracked):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO_ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", *map(str, wheels.glob("*.whl"))],
        check=True,
        capture_output=True,
    )

    # On PATH only the venv and links to the tools it needs; kubeconform is named by flag.
    tool_links = tmp_path / "bin"
    tool_links.mkdir()
    for name, path in tools.items():
        (tool_links / name).symlink_to(path)
    bin_dirs = [str(venv / "bin"), str(tool_links)]
    env = {
        "PATH": os.pathsep.join(bin_dirs),
        "HOME": str(tmp_path),
        "AGENT_ROLLOUTS_TOOLS": str(tmp_path / "cache"),
    }
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env[name] = "New User"
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env[name] = "new.user@acme.test"
    work = tmp_path / "work"
    work.mkdir()
    (work / "bad.yaml").write_text(DUPLICATE)
    (work / "agent-rollouts.yaml.in").write_text(USER_FILE)
    remote = tmp_path / "envs.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    flags = ["--crd-dir", str(crds), "--kubeconform", kubeconform]

    bad = run(venv, work, env, "init", "--repo", str(remote), "--from", "bad.yaml")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "agent-rollouts: error: agent-rollouts.yaml:7: agents[1].name: duplicate agent 'support-bot'"
    ]
    assert git_out(remote, "for-each-ref") == ""  # nothing committed

    init = run(venv, work, env, "init", "--repo", str(remote), "--from", "agent-rollouts.yaml.in")
    assert init.returncode == 0, init.stderr
    missing = run(venv, work, env, "bootstrap", "--repo", str(remote), "--crd-dir", str(crds))
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        .splitlines()[-1]
        .startswith("agent-rollouts: error: kubeconform is not installed: install it with `go install")
    ), missing.stderr
    before = head(remote)
    booted = run(venv, work, env, "bootstrap", "--repo", str(remote), *flags)
    assert booted.returncode == 0, booted.stderr
    assert head(remote) != before

    def succeeds(*argv: str) -> None:
        result = run(venv, work, env, *argv, "--repo", str(remote), *flags)
        assert result.returncode == 0, result.stderr

    image = f"registry.acme.test/bots/support-bot@{digest('support-bot 1.0')}"
    succeeds("release", "--env", "qa", "--agent", "support-bot", "--image", image)
    parser = f"registry.acme.test/bots/invoice-parser:v1@{digest('invoice-parser 1.0')}"
    succeeds("release", "--env", "qa", "--agent", "invoice-parser", "--image", parser)
    # No cluster here to verify qa's Rollout against (tests/cluster does): --force, trailer Verified: no.
    succeeds("promote", "--agent", "support-bot", "--from", "qa", "--to", "live", "--force")
    judge = f"ghcr.io/agent-rollouts/agent-rollouts@{digest('judge 1.0')}"
    succeeds("release", "--env", "live", "--component", "judge", "--image", judge)
    unknown = run(
        venv,
        work,
        env,
        "release",
        "--repo",
        str(remote),
        "--env",
        "prod",
        "--agent",
        "support-bot",
        "--image",
        image,
        *flags,
    )
    assert unknown.returncode == 1
    assert "--env: unknown environment 'prod' (agent-rollouts.yaml names qa, live)" in unknown.stderr

    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(remote), str(checkout)], check=True, env=env)
    synced = sorted(
        path.parent.relative_to(checkout).as_posix()
        for pattern in ("envs/*/*/kustomization.yaml", "clusters/*/kustomization.yaml")
        for path in checkout.glob(pattern)
    )
    assert synced == [
        "clusters/live-k8s-acme-test-6443",
        "clusters/qa-k8s-acme-test",
        "envs/live/support-bot",
        "envs/qa/invoice-parser",
        "envs/qa/support-bot",
    ]
    validated = run(venv, checkout, env, "validate", "--no-policy", *flags)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # qa runs both agents, live the one promoted there (a folder appears with its first release), and
    # each cluster its shared services.
    assert "5 overlays valid" in validated.stderr
    assert not (checkout / "envs/live/invoice-parser").exists()
    # What is missing is named in one line: no CRDs given and no cluster to read them from, no checkov.
    no_crds = run(venv, checkout, env, "validate", "--no-policy", "--kubeconform", kubeconform)
    assert no_crds.returncode == 1
    [line] = no_crds.stderr.strip().splitlines()
    assert line.startswith("agent-rollouts: error: validate: no CRD schemas: pass --crd-dir DIR"), line
    no_checkov = run(venv, checkout, env, "validate", *flags)
    assert no_checkov.returncode == 1
    assert no_checkov.stderr.strip().splitlines() == [
        "agent-rollouts: error: validate: checkov is not installed: install it with `pip install checkov`, "
        "or skip the policy scan with --no-policy"
    ]

    live_pin = yaml.safe_load((checkout / "envs/live/support-bot/kustomization.yaml").read_text())["images"]
    assert live_pin == [{"name": "registry.acme.test/bots/support-bot", "digest": digest("support-bot 1.0")}]
    live_judge = yaml.safe_load(
        (checkout / "clusters/live-k8s-acme-test-6443/kustomization.yaml").read_text()
    )
    assert live_judge["images"][0]["digest"] == digest("judge 1.0")

    owners = owners_by_cluster(checkout)
    assert set(owners) == {"https://qa.k8s.acme.test", "https://live.k8s.acme.test:6443"}
    for server, counts in owners.items():
        assert [key for key, count in counts.items() if count > 1] == [], server
        assert ("Deployment", "agent-rollouts", "agent-rollouts-judge") in counts
    assert ("Rollout", "bots", "support-bot-agent") in owners["https://live.k8s.acme.test:6443"]

    folders = [folder for folder in sorted(checkout.glob("envs/*/*")) if folder.is_dir()]
    rendered = "\n".join(kustomize_build(folder) for folder in folders + sorted(checkout.glob("clusters/*")))
    rendered += "".join(path.read_text() for path in sorted((checkout / "argocd").glob("*.yaml")))
    assert "localhost" not in rendered
    assert "https://judge.acme.test/reports?agent=support-bot" in rendered
    qa = {
        doc["kind"]: doc
        for doc in yaml.safe_load_all(kustomize_build(checkout / "envs/qa/support-bot"))
        if doc
    }
    container = qa["Rollout"]["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 9000}]
    assert qa["Rollout"]["spec"]["strategy"]["canary"]["dynamicStableScale"] is True
    assert qa["PodMonitor"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    parser_rollout = next(
        doc
        for doc in yaml.safe_load_all(kustomize_build(checkout / "envs/qa/invoice-parser"))
        if doc and doc["kind"] == "Rollout"
    )
    assert parser_rollout["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "invoice-parser",
        "serve",
    ]

    # The judge runs from the wheel too (its templates are package data).
    token = tmp_path / "token"
    token.write_text("a-judge-token-of-enough-length-0123456789\n")
    port = free_port()
    judge_proc = subprocess.Popen(
        [str(venv / "bin" / "agent-rollouts"), "serve", "--port", str(port), "--token-file", str(token)],
        cwd=work,
        env={**env, "AGENT_ROLLOUTS_PROMETHEUS_URL": f"http://{LOOPBACK}:1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # `stop` ends its process group
    )
    try:
        wait_for_http(f"http://{LOOPBACK}:{port}/healthz", timeout=60, proc=judge_proc)
    finally:
        stop(judge_proc)
