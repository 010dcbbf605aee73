"""Liveness and readiness endpoints."""

from agents_support import SECRET
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from agents.providers.local import LocalProvider
from agents.service import create_app
from agents.settings import AgentSettings


def test_ready_only_between_start_up_and_shutdown() -> None:
    app = create_app("code-analysis", AgentSettings(jwt_secret=SECRET), CollectorRegistry(), LocalProvider())
    not_started = TestClient(app)  # without `with`, the lifespan has not run
    assert not_started.get("/ready").status_code == 503
    assert not_started.get("/health").json() == {"status": "ok"}
    with TestClient(app) as client:
        assert client.get("/ready").json() == {"status": "ready", "agent": "code-analysis"}
    assert not_started.get("/ready").status_code == 503


def test_metrics_answers_at_the_exact_path_without_a_redirect(make_client) -> None:
    with make_client("code-analysis") as client:
        response = client.get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    assert "agent_confidence_bucket" in response.text
