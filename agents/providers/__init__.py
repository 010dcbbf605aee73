"""The LLM provider interface every agent calls through."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    model: str


class ProviderError(Exception):
    """The LLM call failed; the message is a reason safe to return to clients (no secrets)."""


class LLMProvider(Protocol):
    name: str  # the OTel `gen_ai.provider.name`, e.g. "openai" or "local"
    model: str

    def complete(self, messages: list[Message]) -> Completion:
        """One chat completion; raises ProviderError on any failure."""
        ...
