"""`status`, `rollback` and `rotate-key`: what a release operator runs after a release, and the flags
`release`/`promote` share with them (the cluster of an environment, pull-request mode).

Each environment's kubeconfig context and review mode are the repo's `agent-rollouts.yaml`
(`context:`, `review:`); `--context` and `--review` override them for one run.
"""

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.errors import AgentRolloutsError

if TYPE_CHECKING:
    from gitops.images import ImageRef
    from gitops.writer import Options
    from kernel.platform import Environment, Platform
    from kube.cluster import Target
    from kube.rollouts import RolloutStatus

# The exit status of `status`: the worst phase shown wins.
PHASE_STATUS = {
    "Healthy": ExitStatus.SUCCESS,
    "Progressing": ExitStatus.ROLLOUT_PROGRESSING,
    "Paused": ExitStatus.ROLLOUT_PAUSED,
    "Degraded": ExitStatus.ROLLOUT_DEGRADED,
}
SEVERITY = [
    ExitStatus.SUCCESS,
    ExitStatus.ROLLOUT_PROGRESSING,
    ExitStatus.ROLLOUT_PAUSED,
    ExitStatus.ROLLOUT_DEGRADED,
]


def rollout_name(agent: str) -> str:
    """The Rollout the platform's manifests name for an agent."""
    return f"{agent}-agent"


# --- flags shared with release and promote -----------------------------------------------------


def add_repo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, help="environments repo: a git URL or a local path")
    parser.add_argument("--branch", default="main", help="branch Argo CD syncs (default: main)")


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="[ENV=]NAME",
        help="kubeconfig context of an environment's cluster (ENV=NAME, repeatable; a bare NAME: every env)",
    )
    parser.add_argument(
        "--kubeconfig", type=Path, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )


def cluster_target(args: argparse.Namespace, env: "Environment", platform: "Platform") -> "Target":
    """The kubeconfig context of `env`: `--context ENV=NAME`, else a bare `--context NAME`, else the
    platform file's `context:`, else the current one."""
    from kube.cluster import Target

    named = dict(item.split("=", 1) for item in args.context if "=" in item)
    for name in sorted(named):
        platform.environment(name, flag="--context")
    bare = [item for item in args.context if "=" not in item]
    return Target(named.get(env.name) or (bare[-1] if bare else env.context), args.kubeconfig)


def add_review_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--review",
        choices=("direct", "pr"),
        help="push to the branch (direct) or open a pull request (pr); default: the environment's `review:`",
    )
    parser.add_argument("--forge-api-url", help="forge REST API (default: GitHub's for github.com remotes)")
    parser.add_argument(
        "--forge-repo", metavar="OWNER/NAME", help="the repository on the forge (default: from --repo)"
    )
    parser.add_argument(
        "--forge-token-file", type=Path, help="file holding the forge token (default: $GITHUB_TOKEN)"
    )


def review_options(args: argparse.Namespace, options: "Options") -> None:
    """`--review` over the environments' `review:`, and the forge a pull request is opened on."""
    from gitops.forge import forge_for

    options.review = args.review
    options.forge = lambda remote: forge_for(
        remote, args.forge_api_url, args.forge_repo, args.forge_token_file
    )


def verifier(
    args: argparse.Namespace, console: Console
) -> "Callable[[ImageRef, Environment, Platform], str]":
    """`promote`'s check: the source env's Rollout runs the digest as its Healthy, analysed stable."""

    def verify(image: "ImageRef", source: "Environment", platform: "Platform") -> str:
        from kube.cluster import Cluster
        from kube.rollouts import read_status, verify

        if args.force:
            print(f"agent-rollouts: --force: {image} not checked against {args.source}", file=console.stderr)
            return "no"
        assert image.digest is not None
        cluster = Cluster(cluster_target(args, source, platform))
        return verify(read_status(cluster, source.namespace, rollout_name(args.agent)), image.digest)

    return verify


# --- status ------------------------------------------------------------------------------------


def _row(
    env: str, agent: str, pin: "ImageRef | None", status: "RolloutStatus | None", error: str
) -> dict[str, object]:
    return {
        "env": env,
        "agent": agent,
        "pinned": str(pin) if pin else None,
        "rollout": status.as_dict() if status else None,
        "error": error or None,
    }


def _short(image: str | None) -> str:
    if not image:
        return "-"
    return image.rsplit("@sha256:", 1)[-1][:12] if "@sha256:" in image else image.rsplit("/", 1)[-1]


def _print_table(rows: list[dict[str, object]], console: Console) -> None:
    header = f"{'ENV':<8} {'AGENT':<22} {'PINNED':<13} {'PHASE':<12} {'STEP':<6} {'WEIGHT':<7} {'STABLE':<11} {'CANARY':<11}"
    print(header, file=console.stdout)
    for row in rows:
        pinned = _short(row["pinned"])  # type: ignore[arg-type]
        state = row["rollout"]
        if not isinstance(state, dict):
            print(
                f"{row['env']:<8} {row['agent']:<22} {pinned:<13} {'unknown':<12} {row['error']}",
                file=console.stdout,
            )
            continue
        weight = "-" if state["weight"] is None else f"{state['weight']}%"
        phase = state["phase"] + ("*" if state["aborted"] else "")
        line = (
            f"{row['env']:<8} {row['agent']:<22} {pinned:<13} {phase:<12} {state['step']}/{state['steps']:<4} "
            f"{weight:<7} {state['stable_hash'] or '-':<11} {state['canary_hash'] or '-':<11}"
        )
        print(line, file=console.stdout)
        if state["desired_image"] and row["pinned"] and state["desired_image"] != row["pinned"]:
            print(
                f"    Argo CD has not synced the pin yet: the Rollout asks for {state['desired_image']}",
                file=console.stdout,
            )
        for gate in state["gates"]:
            print(f"    {gate['name']:<11} {gate['run']} {gate['phase']}", file=console.stdout)
            for metric in gate["metrics"]:
                said = f" {metric['verdict']}:" if metric["verdict"] else ""
                print(
                    f"      {metric['name']}:{said} {metric['reason'] or metric['phase']}",
                    file=console.stdout,
                )
        if state["aborted"] and state["message"]:
            print(f"    aborted: {state['message']}", file=console.stdout)
        print(f"    next: {state['next_step']}", file=console.stdout)


def run_status(args: argparse.Namespace, console: Console) -> int:
    """What runs where: the pin, the Rollout's phase and step, its gates and what to do next."""
    from gitops.pins import read_repo
    from kube.cluster import Cluster
    from kube.errors import ClusterUnavailable, ObjectMissing
    from kube.rollouts import read_status

    platform, pins = read_repo(args.repo, args.branch)
    envs = [platform.environment(args.env)] if args.env else list(platform.environments)
    agents = [platform.agent(args.agent).name] if args.agent else list(platform.agent_names)
    pairs = [(env, agent) for env in envs for agent in agents]
    rows, worst = [], ExitStatus.SUCCESS
    clusters: dict[str, Cluster] = {}
    for env, agent in pairs:
        pin = pins[(env.name, agent)]
        try:
            if env.name not in clusters:
                clusters[env.name] = Cluster(cluster_target(args, env, platform))
            status = read_status(clusters[env.name], env.namespace, rollout_name(agent))
        except ObjectMissing as exc:
            if len(pairs) == 1:
                raise
            rows.append(_row(env.name, agent, pin, None, str(exc)))
            continue
        except ClusterUnavailable:
            raise  # the whole command is blind without the cluster: exit 5 naming the context
        rows.append(_row(env.name, agent, pin, status, ""))
        code = PHASE_STATUS.get(status.phase, ExitStatus.ROLLOUT_PROGRESSING)
        worst = max(worst, code, key=SEVERITY.index)
    if args.json:
        print(json.dumps({"rollouts": rows, "exit_status": int(worst)}, indent=2), file=console.stdout)
    else:
        _print_table(rows, console)
    return worst


# --- rollback ------------------------------------------------------------------------------------


def run_rollback(args: argparse.Namespace, console: Console) -> int:
    """Pin what ran before (the Previous-Image trailer) or the named digest, as a release commit."""
    from agent_rollouts.commands.environments_repo import _options, _report
    from gitops.writer import rollback

    options = _options(args, console)
    review_options(args, options)
    return _report(lambda: rollback(args.repo, args.env, args.agent, args.to, options), console)


# --- rotate-key ----------------------------------------------------------------------------------


def read_key(args: argparse.Namespace) -> str:
    """The new key from a file or an environment variable; never from argv, never printed."""
    if args.from_file is not None:
        path: Path = args.from_file
        try:
            key = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not text"
            raise AgentRolloutsError(
                f"--from-file: cannot read {args.from_file} ({why}); nothing patched"
            ) from None
        if not key:
            raise AgentRolloutsError(f"--from-file: {args.from_file} is empty; nothing patched")
        return key
    key = os.environ.get(args.from_env, "").strip()
    if not key:
        raise AgentRolloutsError(f"--from-env: ${args.from_env} is unset or empty; nothing patched")
    return key


def run_rotate_key(args: argparse.Namespace, console: Console) -> int:
    """Patch the agent's LLM key Secret and replace its pods with the Rollout's own restart."""
    from gitops.pins import read_repo
    from kube.cluster import Cluster
    from kube.keys import rotate_key

    key = read_key(args)
    platform, _ = read_repo(args.repo, args.branch)
    env = platform.environment(args.env)
    platform.agent(args.agent)
    cluster = Cluster(cluster_target(args, env, platform))

    def progress(line: str) -> None:
        print(f"agent-rollouts: {line}", file=console.stderr, flush=True)

    rotation = rotate_key(
        cluster, env.namespace, args.agent, rollout_name(args.agent), key, args.timeout, progress
    )
    print(
        f"{args.env}/{args.agent}: new key in Secret {rotation.namespace}/{rotation.secret}; Rollout "
        f"{rotation.rollout} replaced {rotation.replaced} pods and is Healthy ({rotation.seconds:.0f}s)",
        file=console.stdout,
    )
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from agent_rollouts.commands.environments_repo import _common

    parser = subparsers.add_parser(
        "status", help="what runs where: pins, canary steps, gates, what to do next"
    )
    add_repo_flags(parser)
    parser.add_argument("--env", help="an environment of agent-rollouts.yaml (default: every one)")
    parser.add_argument("--agent", help="an agent of agent-rollouts.yaml (default: every one)")
    parser.add_argument("--json", action="store_true", help="one JSON document for tools")
    add_cluster_flags(parser)
    parser.set_defaults(handler=run_status)

    parser = subparsers.add_parser("rollback", help="pin the image that ran before, as a release commit")
    _common(parser)
    parser.add_argument("--env", required=True, help="an environment of agent-rollouts.yaml")
    parser.add_argument("--agent", required=True, help="an agent of agent-rollouts.yaml")
    parser.add_argument(
        "--to", metavar="DIGEST", help="sha256:... (of the pinned repository) or a full image reference"
    )
    parser.add_argument("--message", help="why: added to the commit message body")
    add_review_flags(parser)
    parser.set_defaults(handler=run_rollback)

    parser = subparsers.add_parser("rotate-key", help="replace an agent's LLM API key and restart it safely")
    add_repo_flags(parser)
    parser.add_argument("--env", required=True, help="an environment of agent-rollouts.yaml")
    parser.add_argument("--agent", required=True, help="an agent of agent-rollouts.yaml")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-file", type=Path, help="file holding the new key")
    source.add_argument("--from-env", metavar="VAR", help="environment variable holding the new key")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for Healthy (default 600)"
    )
    add_cluster_flags(parser)
    parser.set_defaults(handler=run_rotate_key)
