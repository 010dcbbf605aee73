"""A commit to the environments repo is synced by a real Argo CD and walks the real canary.

`agent-rollouts cluster up --argocd` (built by `make cluster`) runs the local control plane with
the Argo Rollouts controller and Argo CD v3.2.11 (repo-server, application controller,
ApplicationSet controller, API server). The environments repo is made by `agent-rollouts
bootstrap` in a bare repo that `git daemon` serves on loopback (Argo CD reads it over git://);
its argocd/ folder is applied as a user would, `kubectl apply -n argocd -f argocd/`. Releases are
`agent-rollouts release` commits; Argo CD hears of each through a refresh (`?refresh=normal`, the
UI's Refresh button, as a git webhook would) instead of waiting for its 3-minute poll. Syncs and
Rollout actions go through the API server's REST API, the one the UI calls.

As in test_cluster_e2e, kwok's pods run no containers: the agents' metrics come from the exporter
in conftest, and the judge and Prometheus run on loopback. Two things are done here that
bootstrap does not do, because they are the user's: a commit to the repo's variants/ (each
environment's own settings, which bootstrap never overwrites) with patches that point the
AnalysisTemplates at the loopback judge and Prometheus and shorten pauses to 8 s and analysis
intervals and delays to 3 s; and Argo CD accounts (argocd-cm, argocd-rbac-cm), as its admin would
set them up: `operator`, bound to the project's `release-operator` role, and the read-only `viewer`.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from cluster_support import (
    AGENT,
    HEALTHY,
    REGRESSED,
    ROLLOUT,
    Traffic,
    create_namespace,
    digest,
    judge_verdicts,
    of_type,
    wait_for,
)

from ci.render import kustomize_build
from gitops import layout
from gitops.generate import PROJECT, PROJECT_PLATFORM_APP
from kernel import catalog
from kernel.platform import cluster_name, example_text
from tools.control_plane import State, cluster_binary, kubectl, load_ports, stop_all, up
from tools.local_argocd import ARGOCD_NAMESPACE, admin_token_file, argocd_binaries, server_address
from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn, stop

# Starting Argo CD, three canaries and a manual gate take minutes.
pytestmark = [pytest.mark.argocd, pytest.mark.timeout(1500)]

DEV, PROD = catalog.namespace("dev"), catalog.namespace("prod")
DEV_APP, PROD_APP = f"{AGENT}-dev", f"{AGENT}-prod"
# Namespaces of the platform folder's objects that other installs own on a real cluster (Argo
# Rollouts', the monitoring stack's, the judge's): Argo CD creates only each Application's own.
PLATFORM_NAMESPACES = ("argo-rollouts", "monitoring", "agent-rollouts")
GRAFANA = "http://grafana.test"
JUDGE_REPORTS = "http://judge.test"
GIT = {"GIT_AUTHOR_NAME": "Test User", "GIT_AUTHOR_EMAIL": "test@example.com"}
GIT |= {"GIT_COMMITTER_NAME": GIT["GIT_AUTHOR_NAME"], "GIT_COMMITTER_EMAIL": GIT["GIT_AUTHOR_EMAIL"]}


@dataclass(frozen=True)
class Stack:
    state: State
    api: str  # the Argo CD API server's base URL
    admin_token: str
    remote: Path  # the bare environments repo: `release` pushes here, git daemon serves it
    git_daemon: subprocess.Popen[bytes]
    workdir: Path


def run_cli(*argv: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "agent_rollouts", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **GIT}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- the environments repo ----------------------------------------------------------------------


def shortening_ops(doc: dict[str, Any], judge_url: str, prometheus_url: str) -> list[dict[str, Any]]:
    """JSON patch operations: loopback URLs, seconds instead of minutes (module docstring)."""
    ops: list[dict[str, Any]] = []
    if doc["kind"] == "AnalysisTemplate":
        urls = {"judge-url": judge_url, "prometheus-address": prometheus_url}
        for i, arg in enumerate(doc["spec"]["args"]):
            if arg["name"] in urls:
                ops.append({"op": "replace", "path": f"/spec/args/{i}/value", "value": urls[arg["name"]]})
        for i, metric in enumerate(doc["spec"]["metrics"]):
            for key in ("interval", "initialDelay"):
                if key in metric:
                    ops.append({"op": "replace", "path": f"/spec/metrics/{i}/{key}", "value": "3s"})
    if doc["kind"] == "Rollout":
        for i, step in enumerate(doc["spec"]["strategy"]["canary"]["steps"]):
            if step.get("pause", {}).get("duration"):
                path = f"/spec/strategy/canary/steps/{i}/pause/duration"
                ops.append({"op": "replace", "path": path, "value": "8s"})
    return ops


def customize_variants(checkout: Path, judge_url: str, prometheus_url: str) -> None:
    """The user's commit to variants/: patches for every agent object of dev and prod."""
    for env in ("dev", "prod"):
        patches = []
        for agent in catalog.AGENTS:
            for doc in yaml.safe_load_all(kustomize_build(checkout / layout.env_folder(env, agent))):
                ops = shortening_ops(doc or {"kind": ""}, judge_url, prometheus_url)
                if ops:
                    target = {"kind": doc["kind"], "name": doc["metadata"]["name"]}
                    patches.append({"target": target, "patch": json.dumps(ops)})
        component = checkout / layout.VARIANTS_DIR / env / layout.KUSTOMIZATION
        settings = yaml.safe_load(component.read_text())
        settings["patches"] = patches
        component.write_text(yaml.safe_dump(settings, sort_keys=False))
    git(checkout, "commit", "--quiet", "-am", "variants: loopback judge and Prometheus, short pauses (test)")
    git(checkout, "push", "--quiet", "origin", "main")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, traffic: tuple[Traffic, str]) -> Iterator[Stack]:
    """Control plane with Argo CD, Prometheus, the judge, and the environments repo on git daemon."""
    argocd_binaries()  # fails with "run `make cluster`" when missing
    cluster_binary("rollouts-controller")
    workdir = tmp_path_factory.mktemp("argocd-e2e")
    state = State(workdir / "cluster")
    token = secrets.token_hex(16)
    token_file = workdir / "judge-token"
    token_file.write_text(token)
    remote = workdir / "git" / "envs.git"
    git(workdir, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git_port = free_port()
    repo_url = f"git://{LOOPBACK}:{git_port}/envs.git"
    daemon = ["git", "daemon", "--export-all", "--reuseaddr", "--informative-errors"]
    daemon += [
        f"--base-path={remote.parent}",
        f"--listen={LOOPBACK}",
        f"--port={git_port}",
        str(remote.parent),
    ]
    try:
        up(state, argocd=True)
        with (
            run_prometheus(workdir / "prometheus", [ScrapeTarget(traffic[1])]) as prometheus_url,
            spawn(daemon, log=workdir / "git-daemon.log") as git_daemon,
        ):
            port = free_port()
            judge = [sys.executable, "-m", "agent_rollouts", "serve", "--prometheus-url", prometheus_url]
            judge += ["--token-file", str(token_file), "--host", LOOPBACK, "--port", str(port)]
            with spawn(judge, log=workdir / "judge.log", ready_url=f"http://{LOOPBACK}:{port}/readyz"):
                wait_for("git daemon", lambda: _ls_remote_ok(workdir, repo_url), timeout=30)
                # The project's own platform file, linking to the test's Grafana and judge.
                platform_file = workdir / "agent-rollouts.yaml"
                platform_file.write_text(
                    re.sub(
                        r"(?m)^links: .*$",
                        f"links: {{judge: {JUDGE_REPORTS}, grafana: {GRAFANA}}}",
                        example_text(),
                    )
                )
                run_cli("init", "--repo", str(remote), "--from", str(platform_file))
                run_cli("bootstrap", "--repo", str(remote), "--repo-url", repo_url)
                checkout = workdir / "checkout"
                git(workdir, "clone", "--quiet", str(remote), str(checkout))
                customize_variants(checkout, f"http://{LOOPBACK}:{port}/api/v1/judgements", prometheus_url)
                for namespace in (DEV, PROD):
                    create_namespace(state, namespace, token)
                for namespace in PLATFORM_NAMESPACES:
                    kubectl(state, "create", "namespace", namespace)
                kubectl(state, "apply", "-n", ARGOCD_NAMESPACE, "-f", str(checkout / layout.ARGOCD_DIR))
                yield Stack(
                    state,
                    f"http://{server_address(load_ports(state))}",
                    admin_token_file(state).read_text(),
                    remote,
                    git_daemon,
                    workdir,
                )
    finally:
        stop_all(state)


def _ls_remote_ok(cwd: Path, url: str) -> bool:
    return (
        subprocess.run(["git", "ls-remote", url], cwd=cwd, capture_output=True, check=False).returncode == 0
    )


# --- Argo CD's API and objects -----------------------------------------------------------------


def api(stack: Stack, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or stack.admin_token}"}
    return requests.request(method, f"{stack.api}/api/v1/{path}", headers=headers, timeout=60, **kwargs)


def application(stack: Stack, name: str) -> dict[str, Any]:
    app: dict[str, Any] = json.loads(
        kubectl(stack.state, "-n", ARGOCD_NAMESPACE, "get", "application", name, "-o", "json")
    )
    return app


def application_names(stack: Stack) -> set[str]:
    apps = json.loads(kubectl(stack.state, "-n", ARGOCD_NAMESPACE, "get", "applications", "-o", "json"))
    return {app["metadata"]["name"] for app in apps["items"]}


def sync_and_health(stack: Stack, name: str) -> tuple[str, str]:
    status = application(stack, name).get("status", {})
    return status.get("sync", {}).get("status", ""), status.get("health", {}).get("status", "")


def refresh(stack: Stack, name: str) -> None:
    """What the UI's Refresh button does: compare with the branch's tip now."""
    response = api(stack, "GET", f"applications/{name}", params={"refresh": "normal"})
    assert response.ok, response.text


def release(stack: Stack, env: str, number: int) -> str:
    """`agent-rollouts release` of the n-th image, then a refresh; returns the commit."""
    image = f"{catalog.image_repository(AGENT)}@{digest(number)}"
    run_cli("release", "--repo", str(stack.remote), "--env", env, "--agent", AGENT, "--image", image)
    if env == "prod":  # prod's release is a branch for review: a reviewer merges it
        checkout = stack.workdir / "checkout"
        branch = f"agent-rollouts/prod/{AGENT}/{digest(number).removeprefix('sha256:')[:12]}"
        git(checkout, "fetch", "--quiet", "origin")
        git(checkout, "checkout", "--quiet", "-B", "main", "origin/main")
        git(checkout, "merge", "--quiet", "--ff-only", f"origin/{branch}")
        git(checkout, "push", "--quiet", "origin", "main")
    refresh(stack, f"{AGENT}-{env}")
    return git(stack.remote, "rev-parse", "main").strip()


def rollout(stack: Stack, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        kubectl(stack.state, "-n", namespace, "get", "rollout", ROLLOUT, "-o", "json")
    )
    return found


def rollout_image(stack: Stack, namespace: str) -> str:
    return str(rollout(stack, namespace)["spec"]["template"]["spec"]["containers"][0]["image"])


def canary_weight(stack: Stack, namespace: str) -> int:
    """The canary route's weight in the VirtualService, as the Rollouts controller set it."""
    service = json.loads(
        kubectl(stack.state, "-n", namespace, "get", "virtualservice", ROLLOUT, "-o", "json")
    )
    routes = service["spec"]["http"][0]["route"]
    return int(next(r.get("weight", 0) for r in routes if r["destination"]["subset"] == "canary"))


def ready_replicas(stack: Stack, namespace: str) -> dict[str, int]:
    sets = json.loads(kubectl(stack.state, "-n", namespace, "get", "replicasets", "-o", "json"))["items"]
    return {
        rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs["status"].get("readyReplicas", 0)
        for rs in sets
        if rs["metadata"]["name"].startswith(ROLLOUT)
    }


def new_canary(stack: Stack, namespace: str, stable: str, image: str) -> str | None:
    """The canary's hash once Argo CD synced `image` and the controller made its ReplicaSet."""
    found = rollout(stack, namespace)
    current = found.get("status", {}).get("currentPodHash")
    synced = found["spec"]["template"]["spec"]["containers"][0]["image"].endswith(image)
    return str(current) if synced and current and current != stable else None


def healthy_on(stack: Stack, namespace: str, pod_hash: str) -> bool:
    status = rollout(stack, namespace).get("status", {})
    return bool(status.get("phase") == "Healthy" and status.get("stableRS") == pod_hash)


def analysis_runs(stack: Stack, namespace: str, pod_hash: str) -> list[dict[str, Any]]:
    runs = json.loads(kubectl(stack.state, "-n", namespace, "get", "analysisruns", "-o", "json"))["items"]
    return [r for r in runs if r["metadata"]["labels"].get("rollouts-pod-template-hash") == pod_hash]


def resource_status(app: dict[str, Any], kind: str) -> str:
    return str(next(r.get("status", "") for r in app["status"]["resources"] if r["kind"] == kind))


def run_action(stack: Stack, token: str, app: str, namespace: str, action: str) -> requests.Response:
    """A Rollout action as the UI's Actions menu runs it."""
    body = {
        "name": app,
        "namespace": namespace,
        "resourceName": ROLLOUT,
        "group": "argoproj.io",
        "kind": "Rollout",
        "version": "v1alpha1",
        "action": action,
    }
    return api(stack, "POST", f"applications/{app}/resource/actions/v2", token, json=body)


# --- the tests ----------------------------------------------------------------------------------


def test_applicationsets_make_one_application_per_folder_and_dev_syncs_itself(stack: Stack) -> None:
    # One per agent and environment, and one platform Application for the one cluster they share.
    expected = {f"{name}-{env}" for env in catalog.ENVIRONMENTS for name in catalog.AGENTS}
    expected.add(PROJECT_PLATFORM_APP.format(cluster=cluster_name(catalog.EXAMPLE.environments[0].cluster)))
    wait_for("an Application per env folder", lambda: application_names(stack) == expected, timeout=120)
    wait_for("dev to sync itself", lambda: sync_and_health(stack, DEV_APP) == ("Synced", "Healthy"))
    tracking = rollout(stack, DEV)["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"]
    assert tracking.startswith(f"{DEV_APP}:argoproj.io/Rollout:")  # Argo CD created it
    # prod is never synced by itself: its Application knows the Rollout only from git.
    prod = application(stack, PROD_APP)
    assert "automated" not in prod["spec"].get("syncPolicy", {})
    assert prod["status"]["sync"]["status"] == "OutOfSync"
    assert json.loads(kubectl(stack.state, "-n", PROD, "get", "rollouts", "-o", "json"))["items"] == []
    # The UI shows the Application's links from its annotations (read through the API server).
    shown = api(stack, "GET", f"applications/{DEV_APP}").json()["metadata"]["annotations"]
    assert shown["link.argocd.argoproj.io/grafana"] == (
        f"{GRAFANA}/d/agent-rollouts-canary/agent-rollouts-canary?var-namespace={DEV}&var-agent={AGENT}"
    )
    assert shown["link.argocd.argoproj.io/judge-report"] == f"{JUDGE_REPORTS}/reports?agent={AGENT}"


def test_a_release_commit_walks_the_canary_through_argocd(stack: Stack, traffic: tuple[Traffic, str]) -> None:
    feed = traffic[0]
    stable = str(rollout(stack, DEV)["status"]["stableRS"])
    feed.add(DEV, stable, HEALTHY)
    release(stack, "dev", 2)
    canary = str(wait_for("Argo CD to sync release 2", lambda: new_canary(stack, DEV, stable, digest(2))))
    feed.add(DEV, canary, HEALTHY)

    weights: set[int] = set()
    health: list[str] = []
    fought: list[str] = []  # sync states seen while the controller had moved weights away from git

    def walked() -> bool:
        weight = canary_weight(stack, DEV)
        weights.add(weight)
        app = application(stack, DEV_APP)
        status = app["status"]
        if not health or health[-1] != status["health"]["status"]:
            health.append(status["health"]["status"])
        if weight:
            for kind in ("VirtualService", "DestinationRule", "Service", "Rollout"):
                if resource_status(app, kind) != "Synced":
                    fought.append(f"{kind} {resource_status(app, kind)} at weight {weight}")
        assert not rollout(stack, DEV)["status"].get("abort"), rollout(stack, DEV)["status"].get("message")
        return healthy_on(stack, DEV, canary)

    wait_for("release 2 to become stable", walked, timeout=400)
    assert {10, 25, 50} <= weights, weights
    assert canary_weight(stack, DEV) == 0  # promoted: the stable subset is the new ReplicaSet again
    assert fought == []
    assert "Progressing" in health, health
    wait_for("the Application Healthy", lambda: sync_and_health(stack, DEV_APP) == ("Synced", "Healthy"))
    runs = of_type(analysis_runs(stack, DEV, canary), "Step")
    assert len(runs) == 3 and all(r["status"]["phase"] == "Successful" for r in runs)
    assert all("pass" in judge_verdicts(r) for r in runs)


def test_a_regressed_release_degrades_rollout_and_application(
    stack: Stack, traffic: tuple[Traffic, str]
) -> None:
    feed = traffic[0]
    stable = str(rollout(stack, DEV)["status"]["stableRS"])
    release(stack, "dev", 3)
    regressed = str(wait_for("Argo CD to sync release 3", lambda: new_canary(stack, DEV, stable, digest(3))))
    feed.add(DEV, regressed, REGRESSED)

    def aborted() -> bool:
        status = rollout(stack, DEV)["status"]
        return bool(status.get("abort") and status.get("phase") == "Degraded")

    wait_for("the regressed release to be aborted", aborted, timeout=300)
    wait_for("the Application Degraded", lambda: sync_and_health(stack, DEV_APP) == ("Synced", "Degraded"))
    replicas = int(rollout(stack, DEV)["spec"]["replicas"])
    wait_for(
        "every replica back on stable",
        lambda: (
            ready_replicas(stack, DEV).get(regressed) == 0 and ready_replicas(stack, DEV)[stable] == replicas
        ),
        timeout=90,
    )
    assert canary_weight(stack, DEV) == 0
    assert rollout_image(stack, DEV).endswith(digest(3))  # Argo CD left the controller's abort alone
    failed = [r for r in analysis_runs(stack, DEV, regressed) if r["status"]["phase"] == "Failed"]
    assert failed and "fail" in judge_verdicts(failed[0])
    # The AnalysisRuns carry the Rollout's analysisRunMetadata links; the UI shows them on the
    # resource tree; bootstrap set them from the platform file's `links:`.
    steps = rollout(stack, DEV)["spec"]["strategy"]["canary"]["steps"]
    annotations = next(s["analysis"]["analysisRunMetadata"]["annotations"] for s in steps if "analysis" in s)
    expected = {url for key, url in annotations.items() if key.startswith("link.argocd.argoproj.io/")}
    assert all(url.startswith((f"{JUDGE_REPORTS}/", f"{GRAFANA}/")) for url in expected), expected
    tree = api(stack, "GET", f"applications/{DEV_APP}/resource-tree").json()
    links = {
        url
        for node in tree["nodes"]
        if node["kind"] == "AnalysisRun" and node["name"] == failed[0]["metadata"]["name"]
        for url in node.get("networkingInfo", {}).get("externalURLs", [])
    }
    assert len(expected) == 2 and links == expected, links


def configure_accounts(stack: Stack) -> dict[str, str]:
    """Argo CD's admin adds two API-key accounts and binds them; returns a token for each."""
    accounts = {"accounts.operator": "apiKey", "accounts.viewer": "apiKey"}
    kubectl(stack.state, "-n", ARGOCD_NAMESPACE, "patch", "configmap", "argocd-cm", "--type=merge",
            "-p", json.dumps({"data": accounts}))  # fmt: skip
    policy = f"g, operator, proj:{PROJECT}:release-operator\ng, viewer, role:readonly\n"
    kubectl(stack.state, "-n", ARGOCD_NAMESPACE, "patch", "configmap", "argocd-rbac-cm", "--type=merge",
            "-p", json.dumps({"data": {"policy.csv": policy}}))  # fmt: skip

    def token(name: str) -> str | None:
        response = api(stack, "POST", f"account/{name}/token", json={"name": name})
        return str(response.json()["token"]) if response.ok else None

    return {
        name: wait_for(f"a token for {name}", lambda n=name: token(n), timeout=60)
        for name in ("operator", "viewer")
    }


def test_prod_syncs_only_when_asked_and_the_release_operator_resumes_its_gate(
    stack: Stack, traffic: tuple[Traffic, str]
) -> None:
    feed = traffic[0]
    tokens = configure_accounts(stack)
    assert api(stack, "POST", f"applications/{PROD_APP}/sync", json={}).ok
    wait_for("prod's first sync", lambda: sync_and_health(stack, PROD_APP) == ("Synced", "Healthy"))
    stable = str(rollout(stack, PROD)["status"]["stableRS"])
    feed.add(PROD, stable, HEALTHY)
    synced_revision = application(stack, PROD_APP)["status"]["sync"]["revision"]

    commit = release(stack, "prod", 2)
    wait_for(
        "prod to see the commit", lambda: application(stack, PROD_APP)["status"]["sync"]["revision"] == commit
    )
    app = application(stack, PROD_APP)
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert app["status"]["operationState"]["syncResult"]["revision"] == synced_revision
    assert not rollout_image(stack, PROD).endswith(digest(2))

    assert api(stack, "POST", f"applications/{PROD_APP}/sync", json={}).ok  # the UI's Sync button
    canary = str(wait_for("Argo CD to sync prod", lambda: new_canary(stack, PROD, stable, digest(2))))
    feed.add(PROD, canary, HEALTHY)
    steps = rollout(stack, PROD)["spec"]["strategy"]["canary"]["steps"]
    gate = next(i for i, s in enumerate(steps) if s.get("pause") == {})

    def at_gate() -> bool:
        status = rollout(stack, PROD)["status"]
        assert not status.get("abort"), status.get("message")
        return bool(status.get("currentStepIndex") == gate and status.get("pauseConditions"))

    wait_for("the manual gate", at_gate, timeout=400)
    wait_for("the Application Suspended", lambda: sync_and_health(stack, PROD_APP) == ("Synced", "Suspended"))

    refused = run_action(stack, tokens["viewer"], PROD_APP, PROD, "resume")
    assert refused.status_code == 403, refused.text
    assert rollout(stack, PROD)["status"].get("pauseConditions")

    resumed = run_action(stack, tokens["operator"], PROD_APP, PROD, "resume")
    assert resumed.ok, resumed.text
    wait_for("the resumed release to be stable", lambda: healthy_on(stack, PROD, canary), timeout=300)
    wait_for("prod Healthy", lambda: sync_and_health(stack, PROD_APP) == ("Synced", "Healthy"))


def test_an_unreachable_git_server_is_reported_and_nothing_is_promoted(stack: Stack) -> None:
    before = rollout(stack, DEV)
    stop(stack.git_daemon)
    release(stack, "dev", 4)

    def reported() -> str | None:
        conditions = application(stack, DEV_APP)["status"].get("conditions", [])
        errors = [c["message"] for c in conditions if c["type"] == "ComparisonError"]
        return errors[0] if errors else None

    message = wait_for("the Application to report the unreachable repo", reported, timeout=120)
    assert f"{LOOPBACK}:" in message or "connection refused" in message, message
    after = rollout(stack, DEV)
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["status"]["stableRS"] == before["status"]["stableRS"]
