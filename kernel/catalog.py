"""The project's own agents and environments, read from the example platform file.

`kernel/agent-rollouts.example.yaml` is the one place they are named: the demo, the tests and the
platform's own overlays use it; a team's environments repo has its own `agent-rollouts.yaml`.
"""

from kernel.platform import example

EXAMPLE = example()
AGENTS = EXAMPLE.agent_names
ENVIRONMENTS = EXAMPLE.environment_names


def image_repository(agent: str) -> str:
    """The container image repository an agent is built into."""
    return EXAMPLE.agent(agent).image


def namespace(env: str) -> str:
    """The Kubernetes namespace an environment's agents run in."""
    return EXAMPLE.environment(env).namespace
