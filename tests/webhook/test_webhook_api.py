"""The HTTP contract around judgements: auth, bad input, limits, health and the service's own metrics."""

import json
from pathlib import Path

import pytest
from conftest import Backfilled
from fastapi.testclient import TestClient
from webhook_support import BASELINE, CANARY, TOKEN, body, client, settings

from kernel.secrets import SecretMissing
from webhook.app.main import create_app

URL = "/api/v1/judgements"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_token_is_401(backfilled: Backfilled, headers: dict[str, str]) -> None:
    with TestClient(create_app(settings(backfilled.url))) as api:
        response = api.post(URL, json=body("no-change", backfilled.end), headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_from_file(backfilled: Backfilled, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    app = create_app(settings(backfilled.url, token=None, token_file=token_file))
    with TestClient(app) as api:
        ok = api.post(
            URL, json=body("no-change", backfilled.end), headers={"Authorization": "Bearer file-token"}
        )
        wrong = api.post(
            URL, json=body("no-change", backfilled.end), headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert ok.status_code == 200 and wrong.status_code == 401


def test_no_token_configured_refuses_to_start(backfilled: Backfilled) -> None:
    with pytest.raises(SecretMissing, match="AGENT_ROLLOUTS_TOKEN"):
        create_app(settings(backfilled.url, token=None))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"canary": "bad hash!"}, "canary"),
        ({"baseline": 'x"}'}, "baseline"),
        ({"agent": ""}, "agent"),
        ({"namespace": "Not_A_Namespace"}, "namespace"),
        ({"checks": ["confidence", "vibes"]}, "checks.1"),
        ({"checks": []}, "checks"),
        ({"tolerances": {"errors": -0.1}}, "tolerances.errors"),
        ({"tolerances": {"style": 0.1}}, "tolerances.style"),
        ({"end": "yesterday"}, "end"),
        ({"end": "2026-01-01T00:00:00"}, "end"),  # no time zone
        ({"surprise": 1}, "surprise"),
        # Strict numbers and sane times: each of these used to be accepted.
        ({"tolerances": {"errors": True}}, "tolerances.errors"),
        ({"tolerances": {"cost": "0.5"}}, "tolerances.cost"),
        ({"end": "1306-01-01T00:00:00Z"}, "end"),
        ({"start": -20_000_000_000}, "start"),
        ({"end": "2200-01-01T00:00:00Z"}, "end"),
        ({"end": True}, "end"),
        # Full-match label patterns: a trailing newline is no label value.
        ({"agent": "no-change\n"}, "agent"),
        ({"namespace": "agents-dev\n"}, "namespace"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    backfilled: Backfilled, change: dict[str, object], field: str
) -> None:
    with client(backfilled.url) as api:
        response = api.post(URL, json={**body("no-change", backfilled.end), **change})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_end_before_start_is_422(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        response = api.post(URL, json=body("no-change", backfilled.end, start=backfilled.end + 60))
    assert response.status_code == 422
    assert "end must be after start" in json.dumps(response.json())


def test_same_canary_and_baseline_is_422(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        response = api.post(URL, json=body("no-change", backfilled.end, canary=BASELINE))
    assert response.status_code == 422
    assert "canary and baseline" in json.dumps(response.json())


def test_end_in_the_future_is_422(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        response = api.post(URL, json=body("no-change", 4_000_000_000))
    assert response.status_code == 422
    assert response.json()["field"] == "end"


def test_missing_required_field_and_bad_json(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        missing = api.post(URL, json={"agent": "no-change", "canary": CANARY})
        garbage = api.post(URL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert missing.status_code == 422 and missing.json()["field"] == "baseline"
    assert garbage.status_code == 422


def test_oversize_body_is_413(backfilled: Backfilled) -> None:
    huge = {**body("no-change", backfilled.end), "padding": "x" * 20_000}
    with client(backfilled.url) as api:
        response = api.post(URL, json=huge)
        chunked = api.post(
            URL, content=iter([json.dumps(huge).encode()]), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413 and response.json()["field"] == "body"
    assert chunked.status_code == 413


def test_rate_limit_is_429(backfilled: Backfilled) -> None:
    with client(backfilled.url, rate_limit_per_minute=3) as api:
        codes = [api.post(URL, json=body("no-change", backfilled.end)).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_health_ready_and_own_metrics(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        assert api.get("/healthz").json() == {"status": "ok"}
        assert api.get("/readyz").status_code == 200
        api.post(URL, json=body("error-increase", backfilled.end))
        api.post(URL, json=body("no-change", backfilled.end))
        text = api.get("/metrics").text
    assert 'judge_verdicts_total{agent="error-increase",verdict="fail"} 1.0' in text
    assert 'judge_verdicts_total{agent="no-change",verdict="pass"} 1.0' in text
    assert 'judge_http_requests_total{route="/api/v1/judgements",status="200"} 2.0' in text
    assert "judge_http_request_duration_seconds_bucket" in text


def test_each_app_has_its_own_registry(backfilled: Backfilled) -> None:
    with client(backfilled.url) as first:
        first.post(URL, json=body("no-change", backfilled.end))
    with client(backfilled.url) as second:
        assert "judge_verdicts_total{" not in second.get("/metrics").text


def test_openapi_documents_the_contract(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/judgements"]["post"]
    assert {"200", "401", "413", "422", "429", "503"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_integer_tolerances_are_numbers_too(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        response = api.post(URL, json=body("no-change", backfilled.end, tolerances={"cost": 1}))
    assert response.status_code == 200, response.text


def test_the_schema_documents_every_error_status(backfilled: Backfilled) -> None:
    with client(backfilled.url) as api:
        documented = api.get("/openapi.json").json()["paths"]["/api/v1/judgements"]["post"]["responses"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(documented)
