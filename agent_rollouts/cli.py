"""`agent-rollouts`: one CLI whose subcommands live next to the code they drive."""

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from agent_rollouts import __version__
from agent_rollouts.context import Environment
from agent_rollouts.status import ExitStatus

# Each module defines `register(subparsers)`, adding its subcommands with a `handler` default.
COMMAND_MODULES = (
    "agents.cli",  # agent
    "ci.cli",  # render, validate, affected
    "gitops.cli",  # bootstrap, release, promote
    "webhook.cli",  # judge, serve
    "agent_rollouts.demo",  # demo
    "agent_rollouts.cluster",  # cluster
)

Handler = Callable[[argparse.Namespace, Environment], int]


class UsageError(Exception):
    """Bad flags or an unknown subcommand."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports usage errors as one line instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> Parser:
    parser = Parser(
        prog="agent-rollouts",
        description="Progressive delivery for AI-agent services on Argo Rollouts and Argo CD.",
    )
    parser.add_argument("--version", action="version", version=f"agent-rollouts {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run one subcommand and return its exit status."""
    env = env or Environment()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=env.stderr)
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    handler: Handler = args.handler
    try:
        return handler(args, env)
    except KeyboardInterrupt:
        env.error("interrupted")
        return ExitStatus.CTRL_C


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
