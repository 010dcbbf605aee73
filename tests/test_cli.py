"""The CLI dispatcher: usage errors are one line with exit 2, --help works for every subcommand."""

import io

import pytest

from agent_rollouts.cli import COMMAND_MODULES, build_parser, main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus

SUBCOMMANDS = [
    "agent",
    "init",
    "crds",
    "render",
    "validate",
    "affected",
    "bootstrap",
    "release",
    "promote",
    "status",
    "rollback",
    "rotate-key",
    "judge",
    "serve",
    "demo",
    "cluster",
]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Console(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def test_every_documented_subcommand_is_registered() -> None:
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert sorted(choices) == sorted(SUBCOMMANDS)
    assert len(COMMAND_MODULES) == 7


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_works_for_every_subcommand(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(command, "--help")
    assert code == ExitStatus.SUCCESS
    assert f"agent-rollouts {command}" in capsys.readouterr().out


def test_unknown_subcommand_is_a_one_line_usage_error() -> None:
    code, out, err = run("deploy")
    assert code == ExitStatus.USAGE
    assert out == ""
    assert err.count("\n") == 1 and "invalid choice: 'deploy'" in err


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_bad_flag_is_a_one_line_usage_error(command: str) -> None:
    code, _, err = run(command, "--no-such-flag")
    assert code == ExitStatus.USAGE
    # argparse names a missing required argument before an unknown flag; either way one line.
    assert err.count("\n") == 1 and err.startswith("agent-rollouts")
    assert "--no-such-flag" in err or "required" in err


def test_unknown_flag_is_named() -> None:
    code, _, err = run("render", "--no-such-flag")
    assert code == ExitStatus.USAGE and "unrecognized arguments: --no-such-flag" in err


def test_exit_codes_are_distinct() -> None:
    assert len({status.value for status in ExitStatus}) == len(ExitStatus)
