"""The metric contract: every series the canary judge and the manifests read, in one place."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60,
)  # fmt: skip
# 0.05 steps across [0, 1], plus 0.99 to see the top of the distribution.
CONFIDENCE_BUCKETS = (*(round(0.05 * i, 2) for i in range(1, 20)), 0.99, 1.0)
COST_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1)
# OpenTelemetry GenAI semantic-convention buckets: tokens x4 from 1, seconds x2 from 0.01.
GEN_AI_TOKEN_BUCKETS = tuple(4**i for i in range(14))
GEN_AI_DURATION_BUCKETS = tuple(round(0.01 * 2**i, 2) for i in range(14))

STATUSES = ("success", "failure")
TOKEN_TYPES = ("input", "output")
GEN_AI_OPERATION = "chat"


class AgentMetrics:
    """Owns all metrics of the contract in `registry`; known series start at 0."""

    def __init__(
        self, registry: CollectorRegistry, agent_names: Iterable[str], provider: str, model: str
    ) -> None:
        self.requests = Counter(
            "agent_requests", "Agent executions by outcome.", ["agent_name", "status"], registry=registry
        )
        self.duration = Histogram(
            "agent_duration_seconds",
            "Wall time of one agent execution.",
            ["agent_name"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.confidence = Histogram(
            "agent_confidence",
            "Confidence in [0, 1] of each successful answer.",
            ["agent_name"],
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.request_cost = Histogram(
            "agent_request_cost_usd",
            "LLM cost of one successful request, in USD.",
            ["agent_name"],
            buckets=COST_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "llm_tokens",
            "LLM tokens used.",
            ["agent_name", "provider", "model", "token_type"],
            registry=registry,
        )
        self.cost = Counter("llm_cost", "LLM cost in USD.", ["agent_name", "provider"], registry=registry)
        self.active = Gauge("active_agents", "Agent executions in flight.", ["agent_name"], registry=registry)
        self.gen_ai_tokens = Histogram(
            "gen_ai_client_token_usage",
            "OTel GenAI: tokens per LLM call.",
            ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
            buckets=GEN_AI_TOKEN_BUCKETS,
            registry=registry,
        )
        self.gen_ai_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
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
