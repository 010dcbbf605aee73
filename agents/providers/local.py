"""A deterministic, seeded stand-in for an LLM whose behaviour is set by a named variant.

A canary build is made measurably worse (or better) on purpose by choosing a variant, so the
canary judge can be exercised end to end without a real model.
"""

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agents.providers import Completion, Message, ProviderError

LOCAL_MODEL = "local-sim-1"


@dataclass(frozen=True)
class Variant:
    """How the simulated model answers: confidence, token use, latency and failures."""

    description: str
    # Self-rated confidence ~ Beta(alpha, beta); mean = alpha / (alpha + beta).
    confidence_alpha: float = 18.0
    confidence_beta: float = 3.0
    # A share of answers whose confidence collapses to ~ Beta(2, 8) (mean 0.2): a tail regression.
    collapse_share: float = 0.0
    output_tokens_mean: float = 120.0
    output_tokens_sd: float = 20.0
    # Latency ~ lognormal with this median; a larger sigma gives a heavier tail.
    latency_median_ms: float = 18.0
    latency_sigma: float = 0.35
    # Like a real LLM provider, every build fails a few calls (errors, timeouts): 0.5 %.
    failure_share: float = 0.005

    @property
    def mean_confidence(self) -> float:
        healthy = self.confidence_alpha / (self.confidence_alpha + self.confidence_beta)
        return (1 - self.collapse_share) * healthy + self.collapse_share * 0.2


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("the stable build"),
    "low-confidence": Variant(
        "answers with clearly lower confidence (mean ~0.64 vs ~0.86)",
        confidence_alpha=9.0,
        confidence_beta=5.0,
    ),
    "token-bloat": Variant(
        "twice the output tokens, so ~1.8x the cost (input tokens stay the same)",
        output_tokens_mean=240.0,
        output_tokens_sd=40.0,
    ),
    "slow": Variant(
        "higher latency with a heavier tail (median ~60 ms)",
        latency_median_ms=60.0,
        latency_sigma=0.6,
    ),
    "flaky": Variant("20% of LLM calls fail (HTTP 502 from the agent)", failure_share=0.2),
    "bimodal": Variant(
        "about the same mean confidence, but 10% of answers collapse to ~0.2",
        confidence_alpha=30.0,
        confidence_beta=2.0,
        collapse_share=0.1,
    ),
    "improved": Variant(
        "a better build: higher confidence and fewer tokens",
        confidence_alpha=24.0,
        confidence_beta=2.0,
        output_tokens_mean=100.0,
        output_tokens_sd=15.0,
    ),
}


def estimate_tokens(messages: list[Message]) -> int:
    """Roughly 4 characters per token plus a few tokens of framing per message."""
    return sum(len(m.content) // 4 + 4 for m in messages)


class LocalProvider:
    """Answers in JSON `{"answer", "confidence"}` with numbers drawn from the variant."""

    name = "local"
    model = LOCAL_MODEL

    def __init__(
        self, variant: str = "baseline", seed: int = 0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
        self.variant_name = variant
        self.variant = VARIANTS[variant]
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # one seeded stream shared by the server's worker threads
        self._sleep = sleep  # tests record latencies instead of waiting them out

    def complete(self, messages: list[Message]) -> Completion:
        """Sleep for the simulated latency, then fail or answer as the variant says."""
        v = self.variant
        with self._lock:
            latency = self._rng.lognormvariate(0.0, v.latency_sigma) * v.latency_median_ms / 1000
            fails = self._rng.random() < v.failure_share
            if self._rng.random() < v.collapse_share:
                confidence = self._rng.betavariate(2.0, 8.0)
            else:
                confidence = self._rng.betavariate(v.confidence_alpha, v.confidence_beta)
            output_tokens = max(1, round(self._rng.gauss(v.output_tokens_mean, v.output_tokens_sd)))
        self._sleep(latency)
        if fails:
            raise ProviderError("local-sim: simulated upstream failure (HTTP 503)")
        question = messages[-1].content if messages else ""
        answer = f"{LOCAL_MODEL} ({self.variant_name}) reviewed: {question[:80]}"
        return Completion(
            text=json.dumps({"answer": answer, "confidence": round(confidence, 4)}),
            input_tokens=estimate_tokens(messages),
            output_tokens=output_tokens,
            model=LOCAL_MODEL,
        )
