"""Errors the writer reports as one line, each carrying its exit status."""

from agent_rollouts.status import ExitStatus


class GitopsError(Exception):
    """A refusal or failure, reported as one line; nothing was pushed."""

    status = ExitStatus.ERROR


class RemoteUnavailable(GitopsError):
    """The environments repo could not be reached or refused our credentials."""

    status = ExitStatus.UNAVAILABLE
