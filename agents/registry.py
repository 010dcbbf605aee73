"""The agents this runtime can serve, by the names in `kernel.catalog.AGENTS`."""

from agents.base import BaseAgent
from agents.code_analysis import CodeAnalysisAgent
from agents.data_standardization import DataStandardizationAgent
from agents.knowledge_qna import KnowledgeQnAAgent
from kernel.catalog import AGENTS

AGENT_TYPES: dict[str, type[BaseAgent]] = {
    agent.name: agent for agent in (DataStandardizationAgent, CodeAnalysisAgent, KnowledgeQnAAgent)
}
assert tuple(AGENT_TYPES) == AGENTS, "the runtime and the catalog must name the same agents"
