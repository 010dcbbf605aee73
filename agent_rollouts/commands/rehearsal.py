"""`agent-rollouts demo`: the local release rehearsal of `tools.demo`, run from a clone."""

import argparse
from pathlib import Path

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.catalog import AGENTS, ENVIRONMENTS

DESCRIPTION = (
    "Rehearse an agent release locally: real agent processes, a real Prometheus and the real judge on "
    "loopback walk the rendered Rollout's canary steps, with time compressed. A regressed canary is "
    "aborted, a good one released."
)


def run_demo(args: argparse.Namespace, console: Console) -> int:
    """Rehearse the releases and write the report."""
    from tools import demo

    demo.run(
        agent=args.agent,
        env=args.env,
        canaries=tuple(args.canary or ()),
        fast=args.fast,
        rps=args.rps,
        seed=args.seed,
        workdir=args.workdir,
        out=console.stdout,
    )
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "demo",
        help="rehearse an agent release locally: a regressed canary is aborted, a good one released",
        description=DESCRIPTION,
    )
    parser.add_argument("--agent", choices=AGENTS, default="knowledge-qna", help="agent to release")
    parser.add_argument(
        "--env", choices=ENVIRONMENTS, default="dev", help="environment whose Rollout is rehearsed"
    )
    parser.add_argument(
        "--canary",
        action="append",
        metavar="VARIANT",
        help="a canary build's variant; repeat for several releases (default: low-confidence, then baseline)",
    )
    parser.add_argument("--fast", action="store_true", help="compress time further (for CI)")
    parser.add_argument(
        "--rps",
        type=float,
        help="requests per second of demo traffic in total (default: see tools/demo)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the agents' deterministic provider")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where logs, data and the report go (default .demo)",
    )
    parser.set_defaults(handler=run_demo)
