"""Fixtures for the agent runtime: a fresh registry and in-process services per test."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from agents_support import SECRET, FakeChatCompletions
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from agents.providers import LLMProvider
from agents.providers.local import LocalProvider
from agents.service import create_app
from agents.settings import AgentSettings

ClientFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def make_client(registry: CollectorRegistry) -> ClientFactory:
    """A TestClient for one agent service (lifespan running), with the given provider and settings."""

    @contextmanager
    def factory(
        agent: str = "knowledge-qna", provider: LLMProvider | None = None, **settings: Any
    ) -> Iterator[TestClient]:
        config = AgentSettings(jwt_secret=SECRET, **settings)
        app = create_app(agent, config, registry, provider or LocalProvider("baseline", seed=1))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    return factory


@pytest.fixture
def llm_server() -> Iterator[str]:
    FakeChatCompletions.requests_seen = []
    FakeChatCompletions.reply_status = 200
    FakeChatCompletions.reply_body = json.dumps(
        {
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"message": {"role": "assistant", "content": '{"answer": "ok", "confidence": 0.8}'}}],
            "usage": {"prompt_tokens": 42, "completion_tokens": 7},
        }
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
