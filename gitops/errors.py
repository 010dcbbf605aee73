"""Errors the writer raises, each reported as one line; nothing was pushed."""

from kernel.errors import AgentRolloutsError, Unavailable


class GitopsError(AgentRolloutsError):
    """A refusal or failure of the environments repo writer."""


class RemoteUnavailable(GitopsError, Unavailable):
    """The environments repo could not be reached or refused our credentials."""
