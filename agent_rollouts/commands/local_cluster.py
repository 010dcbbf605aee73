"""`agent-rollouts cluster up|down|status`: the local control plane (`tools.control_plane`)."""

import argparse
from pathlib import Path

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.errors import AgentRolloutsError
from kernel.toolpaths import REPO_ROOT


def run_up(args: argparse.Namespace, env: Console) -> int:
    """Start the local control plane, or report that it already runs."""
    from tools.control_plane import ClusterError, State, healthy, stop_all, up

    state = State(args.state_dir)
    if healthy(state, args.argocd):
        print(f"cluster already up; KUBECONFIG={state.kubeconfig}", file=env.stdout)
        return ExitStatus.SUCCESS
    try:
        up(state, args.argocd)
    except AgentRolloutsError as exc:  # a missing binary too: the control plane did not start
        stop_all(state)
        raise ClusterError(str(exc)) from exc
    print(f"cluster up; KUBECONFIG={state.kubeconfig}", file=env.stdout)
    return ExitStatus.SUCCESS


def run_down(args: argparse.Namespace, env: Console) -> int:
    """Stop every process `up` started."""
    from tools.control_plane import State, stop_all

    stopped = stop_all(State(args.state_dir))
    print(f"stopped: {', '.join(stopped)}" if stopped else "cluster not running", file=env.stdout)
    return ExitStatus.SUCCESS


def run_status(args: argparse.Namespace, env: Console) -> int:
    """Print each component's state; exit 5 unless all run."""
    from tools.control_plane import State, alive, healthy, load_ports, load_processes
    from tools.local_argocd import admin_token_file, server_address

    state = State(args.state_dir)
    processes = load_processes(state)
    if not processes:
        print("cluster not running", file=env.stdout)
        return ExitStatus.UNAVAILABLE
    for entry in processes:
        print(
            f"{entry['name']:<33} {'running' if alive(entry) else 'stopped'} (pid {entry['pid']})",
            file=env.stdout,
        )
    print(f"KUBECONFIG={state.kubeconfig}", file=env.stdout)
    ports = load_ports(state)
    if "argocd-server" in ports:
        print(
            f"ARGOCD_SERVER={server_address(ports)} (plaintext; admin token in {admin_token_file(state)})",
            file=env.stdout,
        )
    return ExitStatus.SUCCESS if healthy(state) else ExitStatus.UNAVAILABLE


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cluster = subparsers.add_parser(
        "cluster",
        help="a local control plane with the Argo Rollouts controller (build it with `make cluster`)",
        description="etcd, kube-apiserver, controller-manager, scheduler, kwok and Argo Rollouts on loopback;"
        " with `up --argocd`, Argo CD too.",
    )
    cluster.add_argument(
        "--state-dir", type=Path, default=REPO_ROOT / ".cluster", help="default: .cluster/ in the repo"
    )
    actions = cluster.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, handler, text in (
        ("up", run_up, "start it (idempotent)"),
        ("down", run_down, "stop every process it started"),
        ("status", run_status, "show which components run"),
    ):
        actions.add_parser(name, help=text).set_defaults(handler=handler)
    actions.choices["up"].add_argument(
        "--argocd",
        action="store_true",
        help="also start Argo CD (repo-server, controllers, API server, redis)",
    )
