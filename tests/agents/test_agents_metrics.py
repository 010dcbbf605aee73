"""The metric contract: names, labels, buckets, start-up zeros and values after executions."""

import pytest
from agents_support import auth_headers
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from agents.metrics import AgentMetrics
from agents.pricing import PRICES
from agents.providers.local import LOCAL_MODEL, LocalProvider
from agents.registry import AGENT_TYPES
from kernel.catalog import AGENTS
from kernel.contract import CONFIDENCE_BUCKETS
from tools.loadgen import sample_payload


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    result = registry.get_sample_value(name, labels)
    assert result is not None, f"series {name}{labels} is missing"
    return result


def agent(name: str, registry: CollectorRegistry, variant: str = "baseline"):
    provider = LocalProvider(variant, seed=3, sleep=lambda _: None)
    metrics = AgentMetrics(registry, [name], provider.name, provider.model)
    return AGENT_TYPES[name](provider, metrics)


def test_every_contract_series_exists_at_zero_from_start_up(registry: CollectorRegistry) -> None:
    AgentMetrics(registry, AGENTS, "local", LOCAL_MODEL)
    for name in AGENTS:
        for status in ("success", "failure"):
            assert value(registry, "agent_requests_total", agent_name=name, status=status) == 0
        for histogram in ("agent_duration_seconds", "agent_confidence", "agent_request_cost_usd"):
            assert value(registry, f"{histogram}_count", agent_name=name) == 0
        for token_type in ("input", "output"):
            labels = {"agent_name": name, "provider": "local", "model": LOCAL_MODEL, "token_type": token_type}
            assert value(registry, "llm_tokens_total", **labels) == 0
        assert value(registry, "llm_cost_total", agent_name=name, provider="local") == 0
        assert value(registry, "active_agents", agent_name=name) == 0
    gen_ai = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "local",
        "gen_ai_request_model": LOCAL_MODEL,
    }
    for token_type in ("input", "output"):
        assert value(registry, "gen_ai_client_token_usage_count", **gen_ai, gen_ai_token_type=token_type) == 0
    assert value(registry, "gen_ai_client_operation_duration_seconds_count", **gen_ai) == 0


def test_confidence_buckets_cover_0_to_1_in_steps_of_0_05_and_the_seed_buckets() -> None:
    assert CONFIDENCE_BUCKETS[:19] == tuple(round(0.05 * i, 2) for i in range(1, 20))
    assert {0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0} <= set(CONFIDENCE_BUCKETS)
    registry = CollectorRegistry()
    AgentMetrics(registry, ["code-analysis"], "local", LOCAL_MODEL)
    bounds = [
        sample.labels["le"]
        for family in registry.collect()
        if family.name == "agent_confidence"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    ]
    assert bounds[:3] == ["0.05", "0.1", "0.15"] and bounds[-3:] == ["0.99", "1.0", "+Inf"]


@pytest.mark.parametrize("name", AGENTS)
def test_executions_update_counts_confidence_tokens_and_cost(name: str, registry: CollectorRegistry) -> None:
    runner = agent(name, registry)
    results = [runner.execute(runner.input_model.model_validate(sample_payload(name, i))) for i in range(20)]

    assert value(registry, "agent_requests_total", agent_name=name, status="success") == 20
    assert value(registry, "agent_requests_total", agent_name=name, status="failure") == 0
    assert value(registry, "agent_confidence_count", agent_name=name) == 20
    assert value(registry, "agent_confidence_sum", agent_name=name) == pytest.approx(
        sum(r.confidence for r in results)
    )
    assert value(registry, "agent_duration_seconds_count", agent_name=name) == 20
    assert value(registry, "active_agents", agent_name=name) == 0
    tokens = {"agent_name": name, "provider": "local", "model": LOCAL_MODEL}
    input_tokens = value(registry, "llm_tokens_total", **tokens, token_type="input")
    output_tokens = value(registry, "llm_tokens_total", **tokens, token_type="output")
    assert input_tokens == sum(r.input_tokens for r in results) > 0
    assert output_tokens == sum(r.output_tokens for r in results) > 0
    # Cost is tokens x the model's price, both per request and in total.
    price = PRICES[LOCAL_MODEL]
    expected_cost = (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6
    assert value(registry, "llm_cost_total", agent_name=name, provider="local") == pytest.approx(
        expected_cost
    )
    assert value(registry, "agent_request_cost_usd_sum", agent_name=name) == pytest.approx(expected_cost)
    for r in results:
        assert r.cost_usd == pytest.approx(price.cost_usd(r.input_tokens, r.output_tokens))
    gen_ai = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "local",
        "gen_ai_request_model": LOCAL_MODEL,
    }
    assert (
        value(registry, "gen_ai_client_token_usage_sum", **gen_ai, gen_ai_token_type="output")
        == output_tokens
    )
    assert value(registry, "gen_ai_client_operation_duration_seconds_count", **gen_ai) == 20


def test_provider_failures_count_as_failure_without_confidence_or_cost(registry: CollectorRegistry) -> None:
    runner = agent("knowledge-qna", registry, variant="flaky")
    failures = 0
    for i in range(100):
        try:
            runner.execute(runner.input_model.model_validate(sample_payload("knowledge-qna", i)))
        except Exception:
            failures += 1
    assert 5 <= failures <= 40
    assert value(registry, "agent_requests_total", agent_name="knowledge-qna", status="failure") == failures
    assert (
        value(registry, "agent_requests_total", agent_name="knowledge-qna", status="success")
        == 100 - failures
    )
    assert value(registry, "agent_confidence_count", agent_name="knowledge-qna") == 100 - failures
    assert value(registry, "agent_duration_seconds_count", agent_name="knowledge-qna") == 100
    assert value(registry, "active_agents", agent_name="knowledge-qna") == 0


def test_metrics_endpoint_serves_the_contract_as_prometheus_text(make_client) -> None:
    with make_client("code-analysis") as client:
        before = client.get("/metrics")
        assert before.status_code == 200
        assert 'agent_requests_total{agent_name="code-analysis",status="success"} 0.0' in before.text
        assert (
            client.post(
                "/api/agents/code-analysis/execute",
                json=sample_payload("code-analysis", 1),
                headers=auth_headers(),
            ).status_code
            == 200
        )
        text = client.get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name in (
        "agent_requests", "agent_duration_seconds", "agent_confidence", "agent_request_cost_usd",
        "llm_tokens", "llm_cost", "active_agents", "gen_ai_client_token_usage",
        "gen_ai_client_operation_duration_seconds",
    ):  # fmt: skip
        assert name in families, name
    assert 'agent_requests_total{agent_name="code-analysis",status="success"} 1.0' in text
    # Bounded labels only: no trace ids, subjects or prompts.
    assert "tester" not in text and "trace" not in text
