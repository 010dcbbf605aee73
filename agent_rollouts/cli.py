"""`agent-rollouts`: one CLI on top of the libraries; the only place that knows exit codes.

Each module of `agent_rollouts.commands` adds its subcommands with `register(subparsers)` and
imports its libraries inside the handlers, so `agent-rollouts agent` loads only the agent runtime.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from agent_rollouts.commands import (
    agent_service,
    day_two,
    environments_repo,
    judging,
    local_cluster,
    manifests,
    rehearsal,
)
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel import __version__
from kernel.errors import AgentRolloutsError, Unavailable

COMMAND_MODULES = (agent_service, manifests, environments_repo, day_two, judging, rehearsal, local_cluster)
# Local tooling (the demo, the local control plane) ships with a clone, not with the package.
LOCAL_TOOLING = "tools"

Handler = Callable[[argparse.Namespace, Console], int]


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
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def exit_status(exc: AgentRolloutsError) -> ExitStatus:
    """The exit status of a library error: 5 when a backend could not be reached, else 1."""
    return ExitStatus.UNAVAILABLE if isinstance(exc, Unavailable) else ExitStatus.ERROR


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Run one subcommand and return its exit status."""
    console = console or Console()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=console.stderr)
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    handler: Handler = args.handler
    try:
        return handler(args, console)
    except AgentRolloutsError as exc:
        console.error(str(exc))
        return exit_status(exc)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != LOCAL_TOOLING:
            raise
        console.error(
            f"`{args.command}` is local tooling: run it from a clone of the agent-rollouts repository"
        )
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        console.error("interrupted")
        return ExitStatus.CTRL_C


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
