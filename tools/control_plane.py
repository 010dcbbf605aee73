"""A local Kubernetes control plane on loopback, for `agent-rollouts cluster up|down|status`.

etcd, kube-apiserver, kube-controller-manager (ReplicaSets, namespaces, garbage collection),
kube-scheduler, kwok (fake nodes: pods become Ready without containers) and the Argo Rollouts
controller, built by `make cluster` into `.tools/cluster/bin`. Certificates are generated per
`up`; state, logs and the kubeconfig live in `.cluster/` (git-ignored).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from kernel.errors import ToolMissing, Unavailable
from kernel.toolpaths import REPO_ROOT, find_tool, tools_dir
from tools.procs import LOOPBACK, free_port

CRD_DIR = REPO_ROOT.parent / "shared" / "crds"
# CRDs the rendered agent manifests use: the Argo Rollouts kinds, the PodMonitor and PrometheusRule,
# and the Istio kinds the canary's traffic routing rewrites (nothing routes: no mesh runs here).
CRD_FILES = (
    "argo-rollouts/rollout-crd.yaml",
    "argo-rollouts/analysis-template-crd.yaml",
    "argo-rollouts/cluster-analysis-template-crd.yaml",
    "argo-rollouts/analysis-run-crd.yaml",
    "argo-rollouts/experiment-crd.yaml",
    "prometheus-operator/monitoring.coreos.com_podmonitors.yaml",
    "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
    "istio/virtualservices-crd.yaml",
    "istio/destinationrules-crd.yaml",
)
# The processes `up` starts, in start order.
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "rollouts-controller",
)
KWOK_NODE = "kwok-node-0"
SERVICE_CIDR = "10.96.0.0/16"
START_TIMEOUT = 90.0


class ClusterError(Unavailable):
    """A component is missing or did not start; the message names it and its log."""


@dataclass(frozen=True)
class State:
    """Where one run keeps its files."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def processes(self) -> Path:
        return self.root / "processes.json"


def cluster_binary(name: str) -> str:
    """A component built by `make cluster`; etcd may also come from Debian's etcd-server."""
    built = tools_dir() / "cluster" / "bin" / name
    if built.is_file():
        return str(built)
    if name == "etcd":
        try:
            return find_tool("etcd")
        except ToolMissing:
            raise ClusterError("etcd is not installed; run `make cluster`") from None
    raise ClusterError(f"{name} is not built; run `make cluster`")


def kwok_stages() -> Path:
    """kwok's Stages (how nodes and pods change state), extracted by `make cluster`."""
    stages = tools_dir() / "cluster" / "kwok-stages.yaml"
    if not stages.is_file():
        raise ClusterError(f"{stages} is missing; run `make cluster`")
    return stages


def kubectl(state: State, *args: str, stdin: str | None = None) -> str:
    """Run kubectl against the local cluster and return its output; raise with its stderr."""
    result = subprocess.run(
        [find_tool("kubectl"), f"--kubeconfig={state.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


# --- certificates -------------------------------------------------------------------------------


def _openssl(*args: str) -> None:
    result = subprocess.run([find_tool("openssl"), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {args[0]}: {result.stderr.strip()}")


def _issue(pki: Path, name: str, subject: str, extensions: list[str]) -> None:
    """An EC key and a certificate signed by the run's CA, valid for two days."""
    options = [opt for ext in extensions for opt in ("-addext", ext)]
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(pki / f"{name}.key"), "-out", str(pki / f"{name}.crt"),
        "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"), "-days", "2", "-subj", subject,
        *options,
    )  # fmt: skip


def generate_certificates(pki: Path) -> None:
    """A fresh CA, the API server's serving certificate, an admin client and service-account keys."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"), "-days", "2",
        "-subj", "/CN=agent-rollouts-local-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _issue(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        [
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default",
            "extendedKeyUsage=serverAuth",
        ],
    )
    _issue(pki, "admin", "/O=system:masters/CN=agent-rollouts-admin", ["extendedKeyUsage=clientAuth"])
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pki / "sa.key"))
    _openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    for key in pki.glob("*.key"):
        key.chmod(0o600)


def write_kubeconfig(state: State, server: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {"server": server, "certificate-authority": str(state.pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate": str(state.pki / "admin.crt"),
                    "client-key": str(state.pki / "admin.key"),
                },
            }
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }
    state.kubeconfig.write_text(json.dumps(config, indent=2))
    state.kubeconfig.chmod(0o600)


# --- processes ----------------------------------------------------------------------------------


def _start(state: State, name: str, argv: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Start one component detached (it outlives this command) and remember its pid."""
    state.logs.mkdir(parents=True, exist_ok=True)
    with (state.logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return {"name": name, "pid": proc.pid, "started": _start_time(proc.pid)}


def _start_time(pid: object) -> str | None:
    """The process's start time in clock ticks, None once it is gone or a zombie.

    Together with the pid it names one process: pids get reused, start times do not repeat.
    (Not the command line: right after fork it is still Python's, until the exec.)
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)", which may contain spaces
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else start_time


def alive(entry: dict[str, object]) -> bool:
    """True while the recorded process still runs."""
    return entry["started"] is not None and _start_time(entry["pid"]) == entry["started"]


def _wait(state: State, entry: dict[str, object], check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive(entry):
            raise ClusterError(f"{entry['name']} exited; see {state.logs / (str(entry['name']) + '.log')}")
        if check():
            return
        time.sleep(0.3)
    raise ClusterError(f"{entry['name']}: {what} not seen in {START_TIMEOUT:.0f}s; see {state.logs}")


def _http_ok(url: str, **kwargs: object) -> bool:
    try:
        return requests.get(url, timeout=2, **kwargs).ok  # type: ignore[arg-type]
    except requests.RequestException:
        return False


def _kubectl_ok(state: State, *args: str) -> bool:
    try:
        kubectl(state, *args)
    except ClusterError:
        return False
    return True


def load_processes(state: State) -> list[dict[str, object]]:
    if not state.processes.exists():
        return []
    processes: list[dict[str, object]] = json.loads(state.processes.read_text())["processes"]
    return processes


def load_ports(state: State) -> dict[str, int]:
    if not state.processes.exists():
        return {}
    ports: dict[str, int] = json.loads(state.processes.read_text())["ports"]
    return ports


def _save(state: State, processes: list[dict[str, object]], ports: dict[str, int]) -> None:
    state.processes.write_text(json.dumps({"processes": processes, "ports": ports}, indent=2))


def stop_all(state: State) -> list[str]:
    """Stop the recorded processes, newest first; return the names that were running."""
    processes = load_processes(state)
    stopped = []
    for entry in reversed(processes):
        if not alive(entry):
            continue
        pid = int(str(entry["pid"]))
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(entry) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(entry):
            os.killpg(pid, signal.SIGKILL)
        stopped.append(str(entry["name"]))
    state.processes.unlink(missing_ok=True)
    return stopped


def kwok_node() -> str:
    """A fake node kwok manages: big enough for every replica the tests schedule."""
    capacity = {"cpu": "64", "memory": "256Gi", "pods": "250"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": KWOK_NODE,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": KWOK_NODE, "kubernetes.io/os": "linux"},
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }
    return json.dumps(node)


def up(state: State, argocd: bool = False) -> list[dict[str, object]]:
    """Start every component, and Argo CD's with `argocd` (after stopping leftovers of an earlier run)."""
    stop_all(state)
    binaries = {name: cluster_binary(name) for name in COMPONENTS}
    if argocd:
        from tools.local_argocd import argocd_binaries, start_argocd  # it builds on this module

        argocd_binaries()  # missing ones fail before anything starts
    # A fresh cluster each time: the certificates and service-account keys are new, so objects
    # kept from an earlier run would refer to keys nobody holds any more.
    shutil.rmtree(state.root / "etcd", ignore_errors=True)
    state.root.mkdir(parents=True, exist_ok=True)
    generate_certificates(state.pki)
    ports = {
        name: free_port()
        for name in (
            "etcd",
            "etcd-peer",
            "apiserver",
            "scheduler",
            "kwok",
            "rollouts-metrics",
            "rollouts-healthz",
        )
    }
    etcd_url = f"http://{LOOPBACK}:{ports['etcd']}"
    peer_url = f"http://{LOOPBACK}:{ports['etcd-peer']}"
    server = f"https://{LOOPBACK}:{ports['apiserver']}"
    write_kubeconfig(state, server)
    kubeconfig = f"--kubeconfig={state.kubeconfig}"
    pki = state.pki
    processes: list[dict[str, object]] = []
    try:
        etcd = _start(
            state,
            "etcd",
            [
                binaries["etcd"],
                "--name=default",
                f"--data-dir={state.root / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--initial-cluster-state=new",
                "--log-level=warn",
            ],
        )
        processes.append(etcd)
        _wait(state, etcd, lambda: _http_ok(f"{etcd_url}/health"), "/health")
        apiserver = _start(
            state,
            "kube-apiserver",
            [
                binaries["kube-apiserver"],
                f"--etcd-servers={etcd_url}",
                f"--bind-address={LOOPBACK}",
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                # A single loopback server: no kubernetes Service endpoints to keep pointing at it.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                # New nodes would be tainted not-ready until the node-lifecycle controller, which
                # we do not run, saw them Ready; kwok reports its node Ready at once.
                "--disable-admission-plugins=TaintNodesByCondition",
                # Debian's etcd 3.4 lacks the progress notifications watch-list streams need: the
                # API server would accept such a stream and then end it with an error, and clients
                # (kube-controller-manager, kwok) saw new pods only ~30 s later. Refused up front,
                # clients fall back to list-then-watch at once.
                "--feature-gates=WatchList=false",
            ],
        )
        processes.append(apiserver)
        _wait(
            state,
            apiserver,
            lambda: _http_ok(
                f"{server}/readyz",
                verify=str(pki / "ca.crt"),
                cert=(str(pki / "admin.crt"), str(pki / "admin.key")),
            ),
            "/readyz",
        )
        processes.append(
            _start(
                state,
                "kube-controller-manager",
                [
                    binaries["kube-controller-manager"],
                    kubeconfig,
                    # Deployments and PodDisruptionBudgets get a status, which Argo CD's health reads.
                    "--controllers=replicaset-controller,deployment-controller,disruption-controller,"
                    "garbage-collector-controller,namespace-controller,serviceaccount-controller",
                    "--leader-elect=false",
                    f"--bind-address={LOOPBACK}",
                    "--secure-port=0",
                    f"--root-ca-file={pki / 'ca.crt'}",
                ],
            )
        )
        processes.append(
            _start(
                state,
                "kube-scheduler",
                [
                    binaries["kube-scheduler"],
                    kubeconfig,
                    "--leader-elect=false",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={ports['scheduler']}",
                ],
            )
        )
        kwok = _start(
            state,
            "kwok",
            [
                binaries["kwok"],
                kubeconfig,
                f"--config={kwok_stages()}",
                f"--manage-single-node={KWOK_NODE}",
                f"--server-address={LOOPBACK}:{ports['kwok']}",
                "--node-ip=10.0.0.1",
                "--cidr=10.0.0.0/16",
            ],
        )
        processes.append(kwok)
        kubectl(state, "apply", "-f", "-", stdin=kwok_node())
        _wait(
            state,
            kwok,
            lambda: _kubectl_ok(state, "wait", "--for=condition=Ready", f"node/{KWOK_NODE}", "--timeout=1s"),
            f"node {KWOK_NODE} Ready",
        )
        apply_crds(state)
        processes.append(
            _start(
                state,
                "rollouts-controller",
                [
                    binaries["rollouts-controller"],
                    kubeconfig,
                    "--leader-elect=false",
                    f"--metricsPort={ports['rollouts-metrics']}",
                    f"--healthzPort={ports['rollouts-healthz']}",
                    "--loglevel=info",
                ],
            )
        )
        _wait(
            state,
            processes[-1],
            lambda: _http_ok(f"http://{LOOPBACK}:{ports['rollouts-healthz']}/healthz"),
            "/healthz",
        )
        if argocd:
            start_argocd(state, processes, ports)
    finally:
        _save(state, processes, ports)
    return processes


def apply_crds(state: State) -> None:
    """Install the upstream CRDs (from ../shared/crds, never copied into the repo) and wait for them."""
    files = [CRD_DIR / name for name in CRD_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ClusterError(f"CRD file not found: {', '.join(missing)}")
    args = [arg for f in files for arg in ("-f", str(f))]
    kubectl(state, "apply", "--server-side", *args)
    kubectl(state, "wait", "--for=condition=Established", "--timeout=60s", *args)


def healthy(state: State, argocd: bool = False) -> bool:
    """Every component runs (Argo CD's too, if asked for)."""
    from tools.local_argocd import ARGOCD_COMPONENTS

    processes = load_processes(state)
    wanted = {*COMPONENTS, *(ARGOCD_COMPONENTS if argocd else ())}
    return wanted <= {str(p["name"]) for p in processes} and all(alive(p) for p in processes)
