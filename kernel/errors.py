"""Typed errors the libraries raise; only the CLI turns them into exit codes."""


class AgentRolloutsError(Exception):
    """A refusal or failure the CLI reports as one line; nothing half-done is left behind."""


class Unavailable(AgentRolloutsError):
    """A backend could not be reached: Prometheus, a git remote, the local control plane."""


class ToolMissing(AgentRolloutsError):
    """A required external tool is not installed; the message says how to install it."""
