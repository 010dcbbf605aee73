"""Subcommands (placeholder until implemented)."""

import argparse

from agent_rollouts.context import Environment
from agent_rollouts.status import ExitStatus


def _todo(args: argparse.Namespace, env: Environment) -> int:
    env.error(f"{args.command}: not implemented yet")
    return ExitStatus.ERROR


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    subparsers.add_parser("bootstrap", help="bootstrap").set_defaults(handler=_todo)
    subparsers.add_parser("release", help="release").set_defaults(handler=_todo)
    subparsers.add_parser("promote", help="promote").set_defaults(handler=_todo)
