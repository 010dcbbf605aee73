"""LLM providers: the local variants differ as specified; the OpenAI-compatible client speaks HTTP."""

import statistics

import pytest
from agents_support import FakeChatCompletions

from agents.base import parse_reply
from agents.providers import Message, ProviderError
from agents.providers.local import VARIANTS, LocalProvider
from agents.providers.openai_compatible import OpenAICompatibleProvider, chat_completions_url
from tools.procs import free_port

N = 400
MESSAGES = [Message("system", "rate it"), Message("user", "question: what is a canary?")]


def sample(variant: str, n: int = N, seed: int = 7) -> dict[str, list[float]]:
    """n seeded calls; latencies are recorded instead of slept."""
    latencies: list[float] = []
    provider = LocalProvider(variant, seed=seed, sleep=latencies.append)
    confidences, tokens, failures = [], [], 0
    for _ in range(n):
        try:
            completion = provider.complete(MESSAGES)
        except ProviderError:
            failures += 1
            continue
        confidences.append(parse_reply(completion.text).confidence)
        tokens.append(completion.output_tokens)
    return {"confidence": confidences, "tokens": tokens, "latency": latencies, "failures": [failures]}


@pytest.fixture(scope="module")
def baseline() -> dict[str, list[float]]:
    return sample("baseline")


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


def test_variants_are_deterministic_for_a_seed() -> None:
    assert sample("bimodal", 50, seed=3) == sample("bimodal", 50, seed=3)
    assert sample("bimodal", 50, seed=3) != sample("bimodal", 50, seed=4)


def test_baseline_is_fast_confident_and_fails_rarely(baseline: dict[str, list[float]]) -> None:
    assert 0.010 <= statistics.median(baseline["latency"]) <= 0.030
    assert statistics.mean(baseline["confidence"]) == pytest.approx(
        VARIANTS["baseline"].mean_confidence, abs=0.02
    )
    # 0.5 % of calls fail, as a real provider's do: 2 expected in 400 (3 with this seed).
    assert 1 <= baseline["failures"][0] <= 8


def test_low_confidence_shifts_the_mass_down(baseline: dict[str, list[float]]) -> None:
    low = sample("low-confidence")
    assert statistics.mean(baseline["confidence"]) - statistics.mean(low["confidence"]) > 0.15
    assert quantile(low["confidence"], 0.5) < quantile(baseline["confidence"], 0.1)


def test_token_bloat_doubles_output_tokens(baseline: dict[str, list[float]]) -> None:
    ratio = statistics.mean(sample("token-bloat")["tokens"]) / statistics.mean(baseline["tokens"])
    assert 1.8 < ratio < 2.2


def test_slow_has_higher_latency_and_a_heavier_tail(baseline: dict[str, list[float]]) -> None:
    slow = sample("slow")["latency"]
    assert statistics.median(slow) > 2.5 * statistics.median(baseline["latency"])
    tail = quantile(slow, 0.99) / statistics.median(slow)
    assert tail > 1.5 * quantile(baseline["latency"], 0.99) / statistics.median(baseline["latency"])


def test_flaky_fails_about_a_fifth_of_calls() -> None:
    failures = sample("flaky")["failures"][0]
    assert 0.13 * N < failures < 0.27 * N


def test_bimodal_keeps_the_mean_but_grows_a_low_tail(baseline: dict[str, list[float]]) -> None:
    bimodal = sample("bimodal")["confidence"]
    assert statistics.mean(bimodal) == pytest.approx(statistics.mean(baseline["confidence"]), abs=0.04)
    low_share = sum(c < 0.4 for c in bimodal) / len(bimodal)
    baseline_low_share = sum(c < 0.4 for c in baseline["confidence"]) / len(baseline["confidence"])
    assert low_share > 0.06 and baseline_low_share < 0.01
    assert statistics.stdev(bimodal) > 2 * statistics.stdev(baseline["confidence"])


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        LocalProvider("nope")


def test_openai_compatible_provider_posts_chat_completions(llm_server: str) -> None:
    provider = OpenAICompatibleProvider(llm_server, "gpt-4o-mini", "sk-test-key")
    completion = provider.complete(MESSAGES)
    assert (completion.input_tokens, completion.output_tokens) == (42, 7)
    assert completion.model == "gpt-4o-mini"  # the configured name keeps metric labels bounded
    assert parse_reply(completion.text).confidence == 0.8
    seen = FakeChatCompletions.requests_seen[0]
    assert seen["path"] == "/v1/chat/completions"
    assert seen["auth"] == "Bearer sk-test-key"
    assert seen["body"]["model"] == "gpt-4o-mini"
    assert seen["body"]["messages"][1] == {"role": "user", "content": "question: what is a canary?"}
    assert "sk-test-key" not in repr(provider)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"{}", "answered HTTP 500"),
        (401, b'{"error": "bad key sk-test-key"}', "answered HTTP 401"),
        (200, b"not json", "malformed"),
        (200, b'{"choices": []}', "malformed"),
    ],
)
def test_openai_compatible_errors_become_provider_errors_without_secrets(
    llm_server: str, status: int, body: bytes, reason: str
) -> None:
    FakeChatCompletions.reply_status, FakeChatCompletions.reply_body = status, body
    with pytest.raises(ProviderError, match=reason) as caught:
        OpenAICompatibleProvider(llm_server, "gpt-4o-mini", "sk-test-key").complete(MESSAGES)
    assert "sk-test-key" not in str(caught.value)


def test_unreachable_llm_endpoint_is_a_provider_error() -> None:
    provider = OpenAICompatibleProvider(f"http://127.0.0.1:{free_port()}", "m", "k", timeout_seconds=2)
    with pytest.raises(ProviderError, match="unreachable"):
        provider.complete(MESSAGES)


def test_base_url_may_include_v1() -> None:
    assert chat_completions_url("https://llm.example/v1/") == "https://llm.example/v1/chat/completions"
    assert chat_completions_url("https://llm.example") == "https://llm.example/v1/chat/completions"


def test_free_text_replies_count_as_unrated() -> None:
    assert parse_reply("Looks right to me.").confidence == 0.5
    assert parse_reply('{"answer": "x", "confidence": 7}').confidence == 0.5
