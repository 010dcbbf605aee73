"""What each agent does with its input, and how its confidence is capped by what it understood."""

import json

import pytest
from prometheus_client import CollectorRegistry

from agents.base import Answer, BaseAgent
from agents.knowledge_qna import KnowledgeQnAAgent
from agents.metrics import AgentMetrics
from agents.providers import Completion, Message
from agents.registry import AGENT_TYPES
from kernel.catalog import AGENTS
from tools.loadgen import sample_payload


class FixedReply:
    """An LLM that always rates its answer with `confidence` (isolates the agents' own logic)."""

    name = "local"
    model = "local-sim-1"

    def __init__(self, confidence: float) -> None:
        self.confidence = confidence
        self.prompts: list[list[Message]] = []

    def complete(self, messages: list[Message]) -> Completion:
        self.prompts.append(messages)
        text = json.dumps({"answer": "reviewed", "confidence": self.confidence})
        return Completion(text, input_tokens=10, output_tokens=5, model=self.model)


def make(name: str, confidence: float = 0.9) -> BaseAgent:
    provider = FixedReply(confidence)
    return AGENT_TYPES[name](
        provider, AgentMetrics(CollectorRegistry(), [name], provider.name, provider.model)
    )


def run(agent: BaseAgent, payload: dict) -> tuple[dict, float]:
    result = agent.execute(agent.input_model.model_validate(payload))
    return result.output, result.confidence


def test_registry_serves_exactly_the_catalog_agents() -> None:
    assert tuple(AGENT_TYPES) == AGENTS


@pytest.mark.parametrize("name", AGENTS)
def test_sample_payloads_are_understood_fully(name: str) -> None:
    for i in range(6):
        _, confidence = run(make(name, 0.9), sample_payload(name, i))
        assert confidence == 0.9, (name, i)  # no cap: the model's rating passes through


def test_data_standardization_maps_names_and_values() -> None:
    record = {
        "First Name": "  ada ",
        "E-Mail": "Ada@Example.ORG",
        "phone number": "+44 (20) 7946-0958",
        "DOB": "10.12.1815",
        "Country": "United Kingdom",
        "ZIP": "ec1a 1bb",
    }
    output, confidence = run(make("data-standardization"), {"record": record})
    assert output["record"] == {
        "first_name": "Ada",
        "email": "ada@example.org",
        "phone": "+442079460958",
        "date_of_birth": "1815-12-10",
        "country": "GB",
        "postal_code": "EC1A 1BB",
    }
    assert output["unrecognised_fields"] == [] and confidence == 0.9


def test_data_standardization_caps_confidence_by_the_share_understood() -> None:
    output, confidence = run(
        make("data-standardization", 1.0), {"record": {"email": "not-an-email", "Favourite Colour": "red"}}
    )
    assert output["unrecognised_fields"] == ["email", "Favourite Colour"]
    assert output["record"] == {"email": "not-an-email", "favourite_colour": "red"}
    assert confidence == 0.5


def test_code_analysis_counts_functions_and_complexity() -> None:
    code = (
        "class A:\n"
        "    def f(self, x):\n"
        "        if x and x > 1:\n"
        "            return [y for y in x if y]\n"
        "        for i in x:\n"
        "            pass\n"
        "        return None\n"
        "\n"
        "def g():\n"
        "    return 1\n"
    )
    output, _ = run(make("code-analysis"), {"code": code})
    assert output["classes"] == 1 and output["lines"] == 10
    # f: 1 + if + `and` + comprehension if + for = 5
    assert output["functions"] == [
        {"name": "f", "line": 2, "complexity": 5},
        {"name": "g", "line": 9, "complexity": 1},
    ]
    assert output["max_complexity"] == 5 and output["rating"] == "simple"


def test_code_analysis_reports_syntax_errors_with_low_confidence() -> None:
    output, confidence = run(make("code-analysis", 0.95), {"code": "def broken(:\n  pass"})
    assert output["syntax_error"].startswith("line 1:")
    assert confidence == 0.3


def test_knowledge_qna_answers_from_its_knowledge_base() -> None:
    agent = make("knowledge-qna")
    output, confidence = run(agent, {"question": "What does an abort do to a failed canary?"})
    assert output["topic"] == "abort" and "aborts the canary" in output["answer"]
    assert confidence == 0.9
    assert "aborts the canary" in agent.provider.prompts[0][1].content


def test_knowledge_qna_admits_when_it_does_not_know() -> None:
    output, confidence = run(make("knowledge-qna", 0.99), {"question": "What is the capital of Peru?"})
    assert output["topic"] is None and "no answer" in output["answer"]
    assert confidence == 0.3


class Overconfident(KnowledgeQnAAgent):
    def process(self, request, llm) -> Answer:
        return Answer({}, 1.5)


def test_an_out_of_range_confidence_is_an_agent_failure() -> None:
    registry = CollectorRegistry()
    agent = Overconfident(FixedReply(0.9), AgentMetrics(registry, AGENTS, "local", "local-sim-1"))
    with pytest.raises(ValueError, match="outside"):
        run(agent, sample_payload("knowledge-qna", 0))
    labels = {"agent_name": "knowledge-qna"}
    assert registry.get_sample_value("agent_requests_total", {**labels, "status": "failure"}) == 1
    assert registry.get_sample_value("agent_confidence_count", labels) == 0
