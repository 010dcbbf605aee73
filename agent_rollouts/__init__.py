"""Agent Rollouts: progressive delivery for AI-agent services on Argo Rollouts and Argo CD."""

__version__ = "0.1.0"
