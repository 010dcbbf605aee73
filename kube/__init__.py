"""The Kubernetes side of a release: Rollouts and AnalysisRuns read through the API, verification,
and the agent's LLM key rotated with the Rollout's own restart. Raises `kube.errors` types only."""
