"""Subcommands `render`, `validate` and `affected`: manifests as CI sees them."""

import argparse
from pathlib import Path

from agent_rollouts.catalog import ENVIRONMENTS
from agent_rollouts.context import Environment
from agent_rollouts.status import ExitStatus
from ci.render import RenderError, render, render_stack


def _render(args: argparse.Namespace, env: Environment) -> int:
    """Render overlays to files under -o, or one environment's stack to stdout."""
    try:
        if args.output is None:
            stack = render_stack(args.env or "dev")
            if not stack.strip():
                env.error(f"render: no overlays for environment {args.env or 'dev'}")
                return ExitStatus.ERROR
            env.stdout.write(stack)
            return ExitStatus.SUCCESS
        written = render(Path(args.output), args.env)
    except RenderError as exc:
        env.error(f"render: {exc}")
        return ExitStatus.ERROR
    for path in written:
        print(path, file=env.stdout)
    return ExitStatus.SUCCESS


def _todo(args: argparse.Namespace, env: Environment) -> int:
    env.error(f"{args.command}: not implemented yet")
    return ExitStatus.ERROR


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    render_parser = subparsers.add_parser(
        "render",
        help="render the kustomize overlays",
        description="Render overlays with kubectl kustomize. Without -o, print one environment's "
        "whole stack (default dev) to stdout; with -o, write DIR/<env>/<overlay>.yaml for every "
        "environment (or only --env).",
    )
    render_parser.add_argument("--env", choices=ENVIRONMENTS, help="only this environment")
    render_parser.add_argument("-o", "--output", metavar="DIR", help="write one file per overlay here")
    render_parser.set_defaults(handler=_render)
    subparsers.add_parser("validate", help="validate").set_defaults(handler=_todo)
    subparsers.add_parser("affected", help="affected").set_defaults(handler=_todo)
