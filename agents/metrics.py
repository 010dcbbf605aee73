"""The agent side of the metric contract (`kernel.contract`): the collectors one agent process owns."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kernel.contract import (
    ACTIVE_AGENTS,
    AGENT_LABEL,
    CONFIDENCE,
    CONFIDENCE_BUCKETS,
    COST_BUCKETS,
    DURATION_BUCKETS,
    DURATION_SECONDS,
    GEN_AI_DURATION_BUCKETS,
    GEN_AI_OPERATION,
    GEN_AI_OPERATION_DURATION_SECONDS,
    GEN_AI_TOKEN_BUCKETS,
    GEN_AI_TOKEN_USAGE,
    LLM_COST_TOTAL,
    LLM_TOKENS_TOTAL,
    REQUEST_COST_USD,
    REQUESTS_TOTAL,
    STATUS_LABEL,
    STATUSES,
    TOKEN_TYPES,
)


class AgentMetrics:
    """Owns all metrics of the contract in `registry`; known series start at 0."""

    def __init__(
        self, registry: CollectorRegistry, agent_names: Iterable[str], provider: str, model: str
    ) -> None:
        self.requests = Counter(
            REQUESTS_TOTAL, "Agent executions by outcome.", [AGENT_LABEL, STATUS_LABEL], registry=registry
        )
        self.duration = Histogram(
            DURATION_SECONDS,
            "Wall time of one agent execution.",
            [AGENT_LABEL],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.confidence = Histogram(
            CONFIDENCE,
            "Confidence in [0, 1] of each successful answer.",
            [AGENT_LABEL],
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.request_cost = Histogram(
            REQUEST_COST_USD,
            "LLM cost of one successful request, in USD.",
            [AGENT_LABEL],
            buckets=COST_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            LLM_TOKENS_TOTAL,
            "LLM tokens used.",
            [AGENT_LABEL, "provider", "model", "token_type"],
            registry=registry,
        )
        self.cost = Counter(LLM_COST_TOTAL, "LLM cost in USD.", [AGENT_LABEL, "provider"], registry=registry)
        self.active = Gauge(ACTIVE_AGENTS, "Agent executions in flight.", [AGENT_LABEL], registry=registry)
        self.gen_ai_tokens = Histogram(
            GEN_AI_TOKEN_USAGE,
            "OTel GenAI: tokens per LLM call.",
            ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
            buckets=GEN_AI_TOKEN_BUCKETS,
            registry=registry,
        )
        self.gen_ai_duration = Histogram(
            GEN_AI_OPERATION_DURATION_SECONDS,
            "OTel GenAI: duration of one LLM call.",
            ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"],
            buckets=GEN_AI_DURATION_BUCKETS,
            registry=registry,
        )
        self._initialise(agent_names, provider, model)

    def _initialise(self, agent_names: Iterable[str], provider: str, model: str) -> None:
        """Create every known series at 0, so a fresh pod has no missing series."""
        for agent in agent_names:
            for status in STATUSES:
                self.requests.labels(agent, status)
            self.duration.labels(agent)
            self.confidence.labels(agent)
            self.request_cost.labels(agent)
            for token_type in TOKEN_TYPES:
                self.tokens.labels(agent, provider, model, token_type)
            self.cost.labels(agent, provider)
            self.active.labels(agent)
        for token_type in TOKEN_TYPES:
            self.gen_ai_tokens.labels(GEN_AI_OPERATION, provider, model, token_type)
        self.gen_ai_duration.labels(GEN_AI_OPERATION, provider, model)

    def record_llm_call(
        self,
        *,
        agent: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        seconds: float,
    ) -> None:
        """Count one LLM call's tokens, cost and duration."""
        self.tokens.labels(agent, provider, model, "input").inc(input_tokens)
        self.tokens.labels(agent, provider, model, "output").inc(output_tokens)
        self.cost.labels(agent, provider).inc(cost_usd)
        self.gen_ai_tokens.labels(GEN_AI_OPERATION, provider, model, "input").observe(input_tokens)
        self.gen_ai_tokens.labels(GEN_AI_OPERATION, provider, model, "output").observe(output_tokens)
        self.gen_ai_duration.labels(GEN_AI_OPERATION, provider, model).observe(seconds)

    def record_execution(
        self, *, agent: str, ok: bool, seconds: float, confidence: float | None, cost_usd: float
    ) -> None:
        """Count one agent execution; confidence and cost are only observed for answers."""
        self.requests.labels(agent, "success" if ok else "failure").inc()
        self.duration.labels(agent).observe(seconds)
        if ok and confidence is not None:
            self.confidence.labels(agent).observe(confidence)
            self.request_cost.labels(agent).observe(cost_usd)
