"""Exit codes of `agent-rollouts`, one meaning each, documented in the README."""

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1  # the command ran and failed: invalid manifests, rejected release, bad input file
    USAGE = 2  # unknown subcommand or bad flags
    VERDICT_FAIL = 3  # `judge`: the canary is worse than the tolerance
    VERDICT_INCONCLUSIVE = 4  # `judge`: not enough evidence either way yet
    UNAVAILABLE = 5  # a backend could not be reached: Prometheus, a git remote
    CTRL_C = 130  # 128 + SIGINT
