"""The `agent-rollouts` command line: the top of the import graph; nothing imports it."""
