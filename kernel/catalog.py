"""The names every part of the stack agrees on: agents, environments, images, namespaces."""

AGENTS = ("data-standardization", "code-analysis", "knowledge-qna")
ENVIRONMENTS = ("dev", "staging", "prod")
IMAGE_REGISTRY = "ghcr.io/agent-rollouts"


def image_repository(agent: str) -> str:
    """The container image repository an agent is built into."""
    return f"{IMAGE_REGISTRY}/{agent}"


def namespace(env: str) -> str:
    """The Kubernetes namespace an environment's agents run in."""
    return f"agents-{env}"
