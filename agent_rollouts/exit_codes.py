"""Exit codes of `agent-rollouts`, one meaning each, documented in the README."""

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    ERROR = 1  # the command ran and failed: invalid manifests, rejected release, bad input file
    USAGE = 2  # unknown subcommand or bad flags
    VERDICT_FAIL = 3  # `judge`: the canary is worse than the tolerance
    VERDICT_INCONCLUSIVE = 4  # `judge`: not enough evidence either way yet
    UNAVAILABLE = 5  # a backend could not be reached: Prometheus, a git remote, a cluster
    # `status`: the worst Rollout shown (0 when every one is Healthy)
    ROLLOUT_PROGRESSING = 6  # a canary is walking its steps
    ROLLOUT_PAUSED = 7  # a canary waits: a timed pause, the manual gate or an inconclusive analysis
    ROLLOUT_DEGRADED = 8  # a canary was aborted, or the Rollout cannot become Healthy
    CTRL_C = 130  # 128 + SIGINT
