"""JWT bearer auth: missing, expired, forged and malformed tokens get clear 401 JSON errors."""

import time

import jwt
import pytest
from agents_support import SECRET, auth_headers

from agents.auth import AuthError, mint_token, verify_token
from agents.settings import AgentSettings
from kernel.secrets import SecretMissing
from tools.loadgen import sample_payload

URL = "/api/agents/knowledge-qna/execute"
BODY = sample_payload("knowledge-qna", 0)


def test_minted_token_verifies_to_its_subject() -> None:
    assert verify_token(mint_token(SECRET, "ci-bot"), SECRET) == "ci-bot"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (mint_token(SECRET, "me", ttl_seconds=-10), "token expired"),
        (mint_token("another-secret-of-sufficient-length-123", "me"), "token signature is invalid"),
        (jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"), "required claim 'sub'"),
        (jwt.encode({"sub": "me"}, SECRET, algorithm="HS256"), "required claim 'exp'"),
        (jwt.encode({"sub": "me", "exp": int(time.time()) + 60}, "k" * 64, algorithm="HS512"), "algorithm"),
        ("not.a.jwt", "malformed"),
    ],
)
def test_unacceptable_tokens_raise_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        verify_token(token, SECRET)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Bearer <JWT>'"),
        ({"Authorization": "Bearer "}, "must be 'Bearer <JWT>'"),
        (auth_headers(ttl=-5), "token expired"),
        (auth_headers(secret="forged-secret-forged-secret-forged-secret"), "signature is invalid"),
        ({"Authorization": "Bearer abc.def.ghi"}, "malformed"),
    ],
)
def test_service_answers_401_json_naming_the_problem(
    make_client, headers: dict[str, str], reason: str
) -> None:
    with make_client() as client:
        response = client.post(URL, json=BODY, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert reason in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert client.post(URL, json=BODY, headers=auth_headers()).status_code == 200


def test_unauthenticated_requests_are_not_counted_as_agent_executions(make_client, registry) -> None:
    with make_client() as client:
        client.post(URL, json=BODY)
    assert (
        registry.get_sample_value(
            "agent_requests_total", {"agent_name": "knowledge-qna", "status": "failure"}
        )
        == 0
    )


def test_secret_comes_from_a_file_when_the_variable_is_unset(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("AGENT_JWT_SECRET", raising=False)
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(SECRET + "\n")
    assert AgentSettings(jwt_secret_file=secret_file).jwt_secret_value() == SECRET
    with pytest.raises(SecretMissing, match="AGENT_JWT_SECRET or AGENT_JWT_SECRET_FILE must be set"):
        AgentSettings().jwt_secret_value()
    with pytest.raises(SecretMissing, match="AGENT_JWT_SECRET_FILE: cannot read"):
        AgentSettings(jwt_secret_file=tmp_path / "missing").jwt_secret_value()
