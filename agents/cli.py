"""Subcommands (placeholder until implemented)."""

import argparse

from agent_rollouts.context import Environment
from agent_rollouts.status import ExitStatus


def _todo(args: argparse.Namespace, env: Environment) -> int:
    env.error(f"{args.command}: not implemented yet")
    return ExitStatus.ERROR


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    subparsers.add_parser("agent", help="agent").set_defaults(handler=_todo)
