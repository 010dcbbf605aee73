"""LLM prices per model, so every request's cost is tokens x price."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """The USD cost of one call with these token counts."""
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1e6


# USD per million tokens. The local simulator is priced like a mid-size hosted model so that
# cost regressions in a canary (e.g. the token-bloat variant) are visible in dollars.
PRICES: dict[str, Price] = {
    "local-sim-1": Price(2.50, 10.00),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
}
# A model missing from the table is charged like the most expensive entry, never as free.
UNKNOWN_MODEL_PRICE = max(PRICES.values(), key=lambda p: p.output_per_million)


def price_of(model: str) -> Price:
    """The price of `model`, or a conservative default for a model not in the table."""
    return PRICES.get(model, UNKNOWN_MODEL_PRICE)
