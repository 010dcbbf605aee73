from agent_rollouts.cli import run

run()
