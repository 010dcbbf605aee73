"""`bootstrap`, `release` and `promote`: write the environments repo that Argo CD syncs."""

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_rollouts.commands.day_two import add_cluster_flags, add_review_flags, pull_requests, verifier
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.catalog import AGENTS, ENVIRONMENTS

if TYPE_CHECKING:
    from gitops.writer import Options, Result


def _options(args: argparse.Namespace, env: Console) -> "Options":
    from gitops.writer import Options

    def progress(line: str) -> None:
        print(f"agent-rollouts: {line}", file=env.stderr, flush=True)

    return Options(
        branch=args.branch, dry_run=args.dry_run, message=getattr(args, "message", None), progress=progress
    )


def _report(run: Callable[[], "Result"], env: Console) -> int:
    result = run()  # a GitopsError is reported by the CLI as one line
    if result.diff:
        print(result.diff, file=env.stdout, end="")
    print(result.summary, file=env.stdout)
    return ExitStatus.SUCCESS


def run_bootstrap(args: argparse.Namespace, env: Console) -> int:
    """Create or refresh the environments repo in one pushed commit."""
    from gitops.writer import bootstrap

    settings = {"repo_url": args.repo_url, "grafana_url": args.grafana_url, "judge_url": args.judge_url}
    return _report(lambda: bootstrap(args.repo, settings, _options(args, env)), env)


def run_release(args: argparse.Namespace, env: Console) -> int:
    """Pin an agent's image in one environment."""
    from gitops.writer import release

    options = _options(args, env)
    options.pull_request = pull_requests(args, args.env)
    return _report(lambda: release(args.repo, args.env, args.agent, args.image, options), env)


def run_promote(args: argparse.Namespace, env: Console) -> int:
    """Copy an agent's pinned digest to the next environment, once the source environment verified it."""
    from gitops.writer import promote

    options = _options(args, env)
    options.pull_request = pull_requests(args, args.target)
    verify = verifier(args, env)
    return _report(lambda: promote(args.repo, args.agent, args.source, args.target, options, verify), env)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, help="environments repo: a git URL or a local path")
    parser.add_argument("--branch", default="main", help="branch Argo CD syncs (default: main)")
    parser.add_argument("--dry-run", action="store_true", help="validate and print the diff; push nothing")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("bootstrap", help="create or refresh the environments repo")
    _common(parser)
    parser.add_argument(
        "--repo-url", help="URL Argo CD clones (default: --repo, or the one stored by a previous run)"
    )
    parser.add_argument("--grafana-url", help="Grafana base URL for Argo CD links")
    parser.add_argument("--judge-url", help="canary judge base URL for report links")
    parser.set_defaults(handler=run_bootstrap)

    parser = subparsers.add_parser("release", help="pin an image in one environment")
    _common(parser)
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--agent", required=True, choices=AGENTS)
    parser.add_argument("--image", required=True, help="REPO@sha256:DIGEST (or REPO:TAG@sha256:DIGEST)")
    parser.add_argument("--message", help="why: added to the commit message body")
    add_review_flags(parser)
    parser.set_defaults(handler=run_release)

    parser = subparsers.add_parser("promote", help="copy the pinned digest to the next environment")
    _common(parser)
    parser.add_argument("--agent", required=True, choices=AGENTS)
    parser.add_argument("--from", dest="source", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--to", dest="target", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--message", help="why: added to the commit message body")
    parser.add_argument(
        "--force",
        action="store_true",
        help="skip the check of the source env's Rollout (trailer Verified: no)",
    )
    add_cluster_flags(parser)
    add_review_flags(parser)
    parser.set_defaults(handler=run_promote)
