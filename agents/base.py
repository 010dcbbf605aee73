"""BaseAgent: `execute()` wraps each agent's `process()` with metrics, logging and error handling."""

import json
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from agents.logs import agent_name_var
from agents.metrics import AgentMetrics
from agents.pricing import price_of
from agents.providers import LLMProvider, Message, ProviderError

log = logging.getLogger("agents.execute")

# Confidence when the model's reply carries no usable self-rating: undecided.
UNRATED_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Answer:
    """What `process()` returns: the agent's output and its confidence in [0, 1]."""

    output: dict[str, Any]
    confidence: float


@dataclass(frozen=True)
class AgentResult:
    agent: str
    output: dict[str, Any]
    confidence: float
    cost_usd: float
    input_tokens: int
    output_tokens: int
    duration_ms: float


@dataclass(frozen=True)
class LLMReply:
    answer: str
    confidence: float


def parse_reply(text: str) -> LLMReply:
    """Read `{"answer": ..., "confidence": ...}`; free text counts as an unrated answer."""
    try:
        data = json.loads(text)
        confidence = float(data["confidence"])
        if 0.0 <= confidence <= 1.0:
            return LLMReply(str(data.get("answer", "")), confidence)
    except (ValueError, TypeError, KeyError):
        pass
    return LLMReply(text, UNRATED_CONFIDENCE)


class LLMSession:
    """The LLM as one execution sees it: counts tokens and cost per call and in total."""

    def __init__(self, agent: str, provider: LLMProvider, metrics: AgentMetrics) -> None:
        self.agent = agent
        self.provider = provider
        self.metrics = metrics
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0

    def ask(self, system: str, user: str) -> LLMReply:
        """One chat completion; raises ProviderError when the provider fails."""
        started = time.perf_counter()
        completion = self.provider.complete([Message("system", system), Message("user", user)])
        seconds = time.perf_counter() - started
        cost = price_of(completion.model).cost_usd(completion.input_tokens, completion.output_tokens)
        self.input_tokens += completion.input_tokens
        self.output_tokens += completion.output_tokens
        self.cost_usd += cost
        self.metrics.record_llm_call(
            agent=self.agent,
            provider=self.provider.name,
            model=completion.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost,
            seconds=seconds,
        )
        return parse_reply(completion.text)


def rating_prompt(agent: str) -> str:
    """The system prompt asking the model to review a result and rate its confidence."""
    return (
        f"You are the {agent} agent's reviewer. Check the result below and reply with JSON only: "
        '{"answer": "<one-sentence review>", "confidence": <number in [0, 1] that the result is right>}'
    )


class BaseAgent(ABC):
    """An agent: subclasses set `name` and `input_model` and implement `process()`."""

    name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]

    def __init__(self, provider: LLMProvider, metrics: AgentMetrics) -> None:
        self.provider = provider
        self.metrics = metrics

    @abstractmethod
    def process(self, request: Any, llm: LLMSession) -> Answer:
        """Do the agent's work on a validated `input_model` instance."""

    def execute(self, request: BaseModel) -> AgentResult:
        """Run `process()` once, counting it as success or failure; re-raises failures."""
        context = agent_name_var.set(self.name)
        self.metrics.active.labels(self.name).inc()
        llm = LLMSession(self.name, self.provider, self.metrics)
        started = time.perf_counter()
        answer: Answer | None = None
        failure: dict[str, str] = {}
        try:
            answer = self.process(request, llm)
            if not 0.0 <= answer.confidence <= 1.0:
                raise ValueError(f"confidence {answer.confidence} outside [0, 1]")
            return AgentResult(
                agent=self.name,
                output=answer.output,
                confidence=answer.confidence,
                cost_usd=llm.cost_usd,
                input_tokens=llm.input_tokens,
                output_tokens=llm.output_tokens,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        except ProviderError as exc:
            failure = {"message": "LLM provider failed", "reason": str(exc)}
            raise
        except Exception as exc:
            failure = {"message": "agent failed", "reason": type(exc).__name__}
            raise
        finally:
            seconds = time.perf_counter() - started
            ok = not failure and answer is not None
            self.metrics.record_execution(
                agent=self.name,
                ok=ok,
                seconds=seconds,
                confidence=answer.confidence if ok and answer else None,
                cost_usd=llm.cost_usd,
            )
            self.metrics.active.labels(self.name).dec()
            fields = {"duration_ms": round(seconds * 1000, 3), "status": "success" if ok else "failure"}
            if ok:
                log.info("agent executed", extra=fields)
            else:
                # A BaseException (e.g. KeyboardInterrupt) sets no failure; still log it, never mask it.
                message, reason = (
                    failure.get("message", "agent interrupted"),
                    failure.get("reason", "interrupted"),
                )
                log.error(message, exc_info=True, extra={**fields, "reason": reason})
            agent_name_var.reset(context)
