"""The agent runtime: BaseAgent, three agents, LLM providers, and the instrumented HTTP service."""
