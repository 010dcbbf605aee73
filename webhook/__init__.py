"""The canary judge: a web metric provider for Argo Rollouts."""
