"""Argo CD on the local control plane, for `agent-rollouts cluster up --argocd`.

Its components run outside the cluster as Argo CD's own developers run them (its Procfile): with
the in-cluster client faked from the kubeconfig (`ARGOCD_FAKE_IN_CLUSTER`), plaintext gRPC between
them, the API server `--insecure` (plain HTTP), every port a loopback one the OS picked. The
binary is one multi-call `argocd` (v3.2.11, built by `make cluster` from tools/argocd/go.mod),
started by its link names; redis is Debian's `redis-server`; the repo-server runs `git` and the
pinned `kustomize` from `.tools/argocd/bin`.
"""

import base64
import json
import os
import secrets
import socket
import time
from pathlib import Path

import requests

from kernel.errors import ToolMissing
from kernel.toolpaths import REPO_ROOT, find_tool, tools_dir
from tools.control_plane import ClusterError, State, _http_ok, _start, _wait, kubectl
from tools.procs import LOOPBACK, free_port

ARGOCD_NAMESPACE = "argocd"
ARGOCD_CRD_DIR = REPO_ROOT.parent / "shared" / "cluster" / "argo-cd-v3.2.11-crds"
# The processes `up --argocd` adds, in start order.
ARGOCD_COMPONENTS = (
    "redis",
    "argocd-repo-server",
    "argocd-application-controller",
    "argocd-applicationset-controller",
    "argocd-server",
)
# Argo CD reads only the ConfigMaps and Secrets of its namespace that carry this label.
PART_OF = {"app.kubernetes.io/part-of": "argocd"}


def argocd_bin_dir() -> str:
    return str(tools_dir() / "argocd" / "bin")


def argocd_binary(name: str) -> str:
    """`argocd` or one of its link names, built by `make cluster`."""
    built = tools_dir() / "argocd" / "bin" / name
    if not built.is_file():
        raise ClusterError(f"{name} is not built; run `make cluster`")
    return str(built)


def redis_binary() -> str:
    try:
        return find_tool("redis-server")
    except ToolMissing:
        raise ClusterError("redis-server is not installed; run `make cluster`") from None


def server_address(ports: dict[str, int]) -> str:
    """HOST:PORT of the API server, for `argocd --server ... --plaintext` and the REST API."""
    return f"{LOOPBACK}:{ports['argocd-server']}"


def admin_token_file(state: State) -> Path:
    """An admin session token `up --argocd` writes (mode 0600), for ARGOCD_AUTH_TOKEN."""
    return state.root / "argocd-admin-token"


def _config_objects() -> list[dict[str, object]]:
    """The namespace and the settings Argo CD's install manifests would create, with defaults."""

    def labelled(kind: str, name: str, **fields: object) -> dict[str, object]:
        meta = {"name": name, "namespace": ARGOCD_NAMESPACE, "labels": PART_OF}
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, **fields}

    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NAMESPACE}},
        labelled("ConfigMap", "argocd-cm", data={"admin.enabled": "true"}),
        # Deny by default, as the install does: only admin and the roles granted below may act.
        labelled("ConfigMap", "argocd-rbac-cm", data={"policy.default": ""}),
        labelled("ConfigMap", "argocd-cmd-params-cm", data={}),
        # No admin.password: argocd-server then writes argocd-initial-admin-secret, as on a new install.
        labelled("Secret", "argocd-secret", stringData={"server.secretkey": secrets.token_urlsafe(32)}),
    ]


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def apply_argocd_crds(state: State) -> None:
    """Argo CD's own CRDs (../shared/cluster, the release that runs here), never copied into the repo."""
    files = sorted(ARGOCD_CRD_DIR.glob("*-crd.yaml"))
    if not files:
        raise ClusterError(f"no Argo CD CRDs in {ARGOCD_CRD_DIR}")
    args = [arg for f in files for arg in ("-f", str(f))]
    kubectl(state, "apply", "--server-side", *args)
    # Right after the apply a CRD may have no conditions yet, which `kubectl wait` calls an error.
    deadline = time.monotonic() + 60
    while True:
        try:
            kubectl(state, "wait", "--for=condition=Established", "--timeout=10s", *args)
            return
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def argocd_binaries() -> dict[str, str]:
    """Each component's executable; the repo-server also needs kustomize."""
    binaries = {name: argocd_binary(name) for name in ARGOCD_COMPONENTS if name != "redis"}
    binaries["redis"] = redis_binary()
    argocd_binary("kustomize")
    return binaries


def start_argocd(state: State, processes: list[dict[str, object]], ports: dict[str, int]) -> None:
    """Install Argo CD's CRDs and settings, then start its components; adds to `processes`/`ports`."""
    binaries = argocd_binaries()
    for name in (
        "redis",
        "repo-server",
        "repo-server-metrics",
        "controller-metrics",
        "appset-metrics",
        "appset-probe",
        "appset-webhook",
        "server",
        "server-metrics",
    ):
        ports[f"argocd-{name}"] = free_port()
    apply_argocd_crds(state)
    kubectl(state, "apply", "-f", "-", stdin="\n".join(json.dumps(o) for o in _config_objects()))
    (state.root / "argocd").mkdir(exist_ok=True)
    env = {
        "ARGOCD_FAKE_IN_CLUSTER": "true",
        "KUBECONFIG": str(state.kubeconfig),
        # Where a pod would mount the known-hosts and TLS ConfigMaps: empty, nothing to trust.
        "ARGOCD_SSH_DATA_PATH": str(state.root / "argocd" / "ssh"),
        "ARGOCD_TLS_DATA_PATH": str(state.root / "argocd" / "tls"),
    }
    namespace = f"--namespace={ARGOCD_NAMESPACE}"
    redis = f"--redis={LOOPBACK}:{ports['argocd-redis']}"
    repo_server = f"{LOOPBACK}:{ports['argocd-repo-server']}"

    redis_proc = _start(
        state,
        "redis",
        [
            binaries["redis"],
            "--bind", LOOPBACK, "--port", str(ports["argocd-redis"]),
            "--save", "", "--appendonly", "no", "--dir", str(state.root / "argocd"),
        ],
    )  # fmt: skip
    processes.append(redis_proc)
    _wait(state, redis_proc, lambda: _redis_ready(ports["argocd-redis"]), "PONG")

    def start(name: str, argv: list[str], ready_url: str, extra_env: dict[str, str] | None = None) -> None:
        entry = _start(state, name, [binaries[name], *argv], env={**env, **(extra_env or {})})
        processes.append(entry)
        _wait(state, entry, lambda: _http_ok(ready_url), ready_url)

    start(
        "argocd-repo-server",
        [
            redis,
            f"--address={LOOPBACK}",
            f"--port={ports['argocd-repo-server']}",
            f"--metrics-address={LOOPBACK}",
            f"--metrics-port={ports['argocd-repo-server-metrics']}",
            "--disable-tls",
        ],
        f"http://{LOOPBACK}:{ports['argocd-repo-server-metrics']}/healthz",
        # GnuPG would look for keys under /app/config/gpg; kustomize is the pinned one.
        {"ARGOCD_GPG_ENABLED": "false", "PATH": f"{argocd_bin_dir()}:{os.environ.get('PATH', '')}"},
    )
    start(
        "argocd-application-controller",
        [
            namespace,
            redis,
            f"--repo-server={repo_server}",
            "--repo-server-plaintext",
            f"--metrics-port={ports['argocd-controller-metrics']}",
        ],
        f"http://{LOOPBACK}:{ports['argocd-controller-metrics']}/healthz",
    )
    start(
        "argocd-applicationset-controller",
        [
            namespace,
            f"--argocd-repo-server={repo_server}",
            "--repo-server-plaintext",
            f"--metrics-addr={LOOPBACK}:{ports['argocd-appset-metrics']}",
            f"--probe-addr={LOOPBACK}:{ports['argocd-appset-probe']}",
            f"--webhook-addr={LOOPBACK}:{ports['argocd-appset-webhook']}",
        ],
        # Its probe server has no checks registered (404); the metrics server starts with the manager.
        f"http://{LOOPBACK}:{ports['argocd-appset-metrics']}/metrics",
    )
    start(
        "argocd-server",
        [
            namespace,
            redis,
            f"--repo-server={repo_server}",
            "--repo-server-plaintext",
            "--insecure",
            f"--address={LOOPBACK}",
            f"--port={ports['argocd-server']}",
            f"--metrics-address={LOOPBACK}",
            f"--metrics-port={ports['argocd-server-metrics']}",
            # No Dex: local accounts only.
            "--dex-server=",
        ],
        f"http://{server_address(ports)}/healthz",
    )
    _write_admin_token(state, ports)


def admin_password(state: State) -> str:
    """The password argocd-server generated for admin, as a user reads it after installing."""
    deadline = time.monotonic() + 30
    while True:
        try:
            out = kubectl(
                state, "-n", ARGOCD_NAMESPACE, "get", "secret", "argocd-initial-admin-secret",
                "-o", "jsonpath={.data.password}",
            )  # fmt: skip
            return base64.b64decode(out).decode()
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def session_token(address: str, username: str, password: str) -> str:
    """A session token from the API server's login endpoint, as the UI's login form gets one."""
    response = requests.post(
        f"http://{address}/api/v1/session", json={"username": username, "password": password}, timeout=10
    )
    if not response.ok:
        raise ClusterError(f"argocd login as {username}: HTTP {response.status_code} {response.text[:200]}")
    return str(response.json()["token"])


def _write_admin_token(state: State, ports: dict[str, int]) -> None:
    """For `ARGOCD_AUTH_TOKEN=$(cat .cluster/argocd-admin-token) argocd app list ...`."""
    token = session_token(server_address(ports), "admin", admin_password(state))
    path = admin_token_file(state)
    path.touch(mode=0o600)
    path.write_text(token)
