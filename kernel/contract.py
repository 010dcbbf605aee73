"""The metric contract: every series name, label and bucket layout that agents emit and the judge,
the manifests and the dashboards read. Spelled here once; everything else imports it."""

from typing import Literal

# Series, as Prometheus stores them (counters with `_total`, histograms with `_bucket`/`_sum`/`_count`).
REQUESTS_TOTAL = "agent_requests_total"
DURATION_SECONDS = "agent_duration_seconds"
CONFIDENCE = "agent_confidence"
REQUEST_COST_USD = "agent_request_cost_usd"
LLM_TOKENS_TOTAL = "llm_tokens_total"
LLM_COST_TOTAL = "llm_cost_total"
ACTIVE_AGENTS = "active_agents"
GEN_AI_TOKEN_USAGE = "gen_ai_client_token_usage"
GEN_AI_OPERATION_DURATION_SECONDS = "gen_ai_client_operation_duration_seconds"

# Labels: the agent emits `agent_name` and `status`; the scrape adds the pod-template hash Argo
# Rollouts puts on every pod, which tells canary pods from stable ones.
AGENT_LABEL = "agent_name"
STATUS_LABEL = "status"
POD_TEMPLATE_HASH_LABEL = "rollouts_pod_template_hash"
STATUSES = ("success", "failure")
TOKEN_TYPES = ("input", "output")
GEN_AI_OPERATION = "chat"

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

# The judge's checks, one per way a canary can regress.
CheckName = Literal["confidence", "cost", "errors", "latency"]
CHECK_NAMES: tuple[CheckName, ...] = ("confidence", "cost", "errors", "latency")
# An AnalysisTemplate arg `tolerance-<check>` carries one judge tolerance.
TOLERANCE_ARG_PREFIX = "tolerance-"
