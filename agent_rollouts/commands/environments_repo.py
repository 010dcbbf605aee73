"""`init`, `bootstrap`, `release` and `promote`: write the environments repo that Argo CD syncs.

Agent, environment and component names are checked against the repo's `agent-rollouts.yaml`, not
by argparse: the names are the team's.
"""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent_rollouts.commands.day_two import (
    add_cluster_flags,
    add_repo_flags,
    add_review_flags,
    review_options,
    verifier,
)
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.toolpaths import CRD_DIR_VARIABLE

if TYPE_CHECKING:
    from gitops.writer import Options, Result


def _options(args: argparse.Namespace, env: Console) -> "Options":
    from gitops.writer import Options
    from kernel.toolpaths import use_tool

    def progress(line: str) -> None:
        print(f"agent-rollouts: {line}", file=env.stderr, flush=True)

    if getattr(args, "kubeconform", None):
        use_tool("kubeconform", args.kubeconform)
    return Options(
        branch=args.branch,
        dry_run=args.dry_run,
        message=getattr(args, "message", None),
        progress=progress,
        crd_dir=getattr(args, "crd_dir", None),
    )


def _report(run: Callable[[], "Result"], env: Console) -> int:
    result = run()  # a GitopsError is reported by the CLI as one line
    if result.diff:
        print(result.diff, file=env.stdout, end="")
    print(result.summary, file=env.stdout)
    return ExitStatus.SUCCESS


def run_init(args: argparse.Namespace, env: Console) -> int:
    """Write agent-rollouts.yaml to the environments repo: the given file, or the commented example."""
    from gitops.errors import GitopsError
    from gitops.writer import init
    from kernel.platform import example_text

    if args.source is None:
        text = example_text()
    else:
        try:
            text = args.source.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise GitopsError(f"--from: {args.source}: unreadable: {exc}") from exc
    return _report(lambda: init(args.repo, text, _options(args, env)), env)


def run_bootstrap(args: argparse.Namespace, env: Console) -> int:
    """Create or refresh the environments repo in one pushed commit."""
    from gitops.writer import bootstrap

    settings = {"repo_url": args.repo_url}
    return _report(lambda: bootstrap(args.repo, settings, _options(args, env), prune=args.prune), env)


def run_release(args: argparse.Namespace, env: Console) -> int:
    """Pin an agent's (or the judge's) image in one environment."""
    from gitops.writer import release

    options = _options(args, env)
    review_options(args, options)
    return _report(
        lambda: release(args.repo, args.env, args.agent, args.image, options, component=args.component), env
    )


def run_promote(args: argparse.Namespace, env: Console) -> int:
    """Copy an agent's (or the judge's) pinned digest to the next environment, once the source
    environment verified it."""
    from gitops.writer import promote

    options = _options(args, env)
    review_options(args, options)
    verify = verifier(args, env)
    return _report(
        lambda: promote(
            args.repo, args.agent, args.source, args.target, options, component=args.component, verify=verify
        ),
        env,
    )


def _common(parser: argparse.ArgumentParser, validates: bool = True) -> None:
    add_repo_flags(parser)
    parser.add_argument("--dry-run", action="store_true", help="validate and print the diff; push nothing")
    if validates:
        parser.add_argument(
            "--crd-dir",
            type=Path,
            help=f"CRD YAML to validate against (default ${CRD_DIR_VARIABLE}, else the current cluster's CRDs)",
        )
        parser.add_argument("--kubeconform", metavar="PATH", help="the kubeconform binary (default: on PATH)")


def _component(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--agent", help="an agent of agent-rollouts.yaml")
    which.add_argument("--component", help="`judge`: the canary judge of the environment's cluster")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("init", help="write agent-rollouts.yaml to a new environments repo")
    _common(parser, validates=False)
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="your platform file (default: a commented example)",
    )
    parser.set_defaults(handler=run_init)

    parser = subparsers.add_parser(
        "bootstrap", help="create or refresh the environments repo from agent-rollouts.yaml"
    )
    _common(parser)
    parser.add_argument(
        "--repo-url", help="URL Argo CD clones (default: --repo, or the one stored by a previous run)"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete folders of agents and environments no longer in agent-rollouts.yaml (their workloads stay)",
    )
    parser.set_defaults(handler=run_bootstrap)

    parser = subparsers.add_parser("release", help="pin an image in one environment")
    _common(parser)
    parser.add_argument("--env", required=True, help="an environment of agent-rollouts.yaml")
    _component(parser)
    parser.add_argument("--image", required=True, help="REPO@sha256:DIGEST (or REPO:TAG@sha256:DIGEST)")
    parser.add_argument("--message", help="why: added to the commit message body")
    add_review_flags(parser)
    parser.set_defaults(handler=run_release)

    parser = subparsers.add_parser("promote", help="copy the pinned digest to the next environment")
    _common(parser)
    _component(parser)
    parser.add_argument("--from", dest="source", required=True, help="the environment that runs the digest")
    parser.add_argument(
        "--to",
        dest="target",
        required=True,
        help="the next environment in agent-rollouts.yaml's `promotion:`",
    )
    parser.add_argument("--message", help="why: added to the commit message body")
    parser.add_argument(
        "--force",
        action="store_true",
        help="skip the check of the source env's Rollout (trailer Verified: no)",
    )
    add_cluster_flags(parser)
    add_review_flags(parser)
    parser.set_defaults(handler=run_promote)
