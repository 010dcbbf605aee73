"""knowledge-qna: answers questions about progressive delivery from a small built-in knowledge base."""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.base import Answer, BaseAgent, LLMSession, rating_prompt


@dataclass(frozen=True)
class Entry:
    topic: str
    keywords: frozenset[str]
    answer: str


def _entry(topic: str, keywords: str, answer: str) -> Entry:
    return Entry(topic, frozenset(keywords.split()), answer)


KNOWLEDGE = (
    _entry(
        "canary",
        "canary release traffic weight step",
        "A canary release sends a small share of traffic to the new version and raises it step by step "
        "while the analysis stays healthy.",
    ),
    _entry(
        "abort",
        "abort rollback revert failed canary",
        "When an analysis fails, Argo Rollouts aborts the canary and shifts all traffic back to the stable "
        "ReplicaSet.",
    ),
    _entry(
        "analysis",
        "analysisrun analysis template metric provider web",
        "An AnalysisRun evaluates metrics from providers such as Prometheus or a web endpoint and marks "
        "each measurement successful, failed or inconclusive.",
    ),
    _entry(
        "confidence",
        "confidence agent answer score quality",
        "Agent confidence is the self-rated certainty of an answer in [0, 1]; a canary whose confidence "
        "distribution drops is a regression even when HTTP errors do not change.",
    ),
    _entry(
        "cost",
        "cost tokens price llm usd budget",
        "LLM cost is tokens multiplied by the model's price; a canary that uses twice the tokens costs "
        "about twice as much per request.",
    ),
    _entry(
        "gitops",
        "argo cd sync gitops environments repo",
        "Argo CD syncs each environment from the environments repository, so a release is a commit that "
        "pins an image digest.",
    ),
    _entry(
        "pod-template-hash",
        "pod template hash rollouts label prometheus scrape",
        "Prometheus tells canary and stable pods apart by the rollouts-pod-template-hash label that the "
        "scrape adds to every series.",
    ),
    _entry(
        "blue-green",
        "blue green preview active switch",
        "A blue-green rollout runs the new version beside the old one and switches all traffic at once "
        "after the preview is verified.",
    ),
)
# Share of an entry's keywords a question must mention for the entry to count as a match.
MATCH_THRESHOLD = 0.4
NO_MATCH_CONFIDENCE_CAP = 0.3


class QuestionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=3, max_length=2000)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def best_entry(question: str) -> tuple[Entry, float]:
    """The entry sharing the largest share of its keywords with the question."""
    asked = words(question)
    return max(((e, len(e.keywords & asked) / len(e.keywords)) for e in KNOWLEDGE), key=lambda m: m[1])


class KnowledgeQnAAgent(BaseAgent):
    name = "knowledge-qna"
    input_model = QuestionRequest

    def process(self, request: QuestionRequest, llm: LLMSession) -> Answer:
        """Look the question up, then have the LLM review the answer."""
        entry, score = best_entry(request.question)
        matched = score >= MATCH_THRESHOLD
        answer = entry.answer if matched else "The knowledge base has no answer to this question."
        reply = llm.ask(rating_prompt(self.name), f"question: {request.question}\nanswer: {answer}")
        output: dict[str, Any] = {
            "answer": answer,
            "topic": entry.topic if matched else None,
            "match_score": round(score, 3),
            "review": reply.answer,
        }
        return Answer(output, reply.confidence if matched else min(reply.confidence, NO_MATCH_CONFIDENCE_CAP))
