"""A real client for any OpenAI-compatible `/v1/chat/completions` endpoint."""

from typing import Any

import requests

from agents.providers import Completion, Message, ProviderError
from agents.providers.local import estimate_tokens


def chat_completions_url(base_url: str) -> str:
    """Accept a base URL with or without the trailing `/v1`."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


class OpenAICompatibleProvider:
    """Calls the chat-completions API; errors become ProviderError reasons without secrets."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str, timeout_seconds: float = 30.0) -> None:
        self.url = chat_completions_url(base_url)
        self.model = model
        self._timeout = timeout_seconds
        self._session = requests.Session()
        # The key lives only in the session's headers; it is never logged or put in errors.
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(url={self.url!r}, model={self.model!r})"

    def complete(self, messages: list[Message]) -> Completion:
        """POST one chat completion and read the answer and token usage."""
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": 0,
        }
        try:
            response = self._session.post(self.url, json=body, timeout=self._timeout)
        except requests.Timeout:
            raise ProviderError(f"LLM endpoint timed out after {self._timeout:g}s") from None
        except requests.RequestException as exc:
            raise ProviderError(f"LLM endpoint unreachable ({type(exc).__name__})") from None
        if not response.ok:
            raise ProviderError(f"LLM endpoint answered HTTP {response.status_code}")
        try:
            data: dict[str, Any] = response.json()
            text = data["choices"][0]["message"]["content"]
            usage = data.get("usage") or {}
            if not isinstance(text, str):
                raise TypeError("content is not a string")
            return Completion(
                text=text,
                input_tokens=int(usage.get("prompt_tokens", estimate_tokens(messages))),
                output_tokens=int(usage.get("completion_tokens", len(text) // 4)),
                model=self.model,  # the configured name: a bounded metric label
            )
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError("LLM endpoint returned a malformed chat-completions response") from None
