"""JWT bearer auth: missing, expired, forged and malformed tokens get clear 401 JSON errors."""

import time

import jwt
import pytest
from agents_support import SECRET, auth_headers

from agents.auth import AuthError, mint_token, verify_token
from agents.settings import AgentSettings, ConfigError
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
        (jwt.encode({"exp": int(time.time()) + 3600}, SECRET, algorithm="HS256"), "required claim 'sub'"),
        (jwt.encode({"sub": "me"}, SECRET, algorithm="HS256"), "required claim 'exp'"),
        (jwt.encode({"sub": "me", "exp": int(time.time()) + 3600}, "k" * 64, algorithm="HS512"), "algorithm"),
        ("not.a.jwt", "malformed"),
        # NumericDate is a JSON number: PyJWT alone accepts a numeric string.
        (jwt.encode({"sub": "me", "exp": str(int(time.time()) + 3600)}, SECRET, algorithm="HS256"), "'exp' must be a number"),
        (jwt.encode({"sub": "me", "exp": int(time.time()) + 3600, "iat": str(int(time.time()))}, SECRET, algorithm="HS256"), "must be a number"),
        # Longer than the 24 h maximum: from now (no iat) and from its iat.
        (mint_token(SECRET, "me", ttl_seconds=2 * 86_400), "lifetime exceeds the maximum of 86400 s"),
        (jwt.encode({"sub": "me", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256"), None),
        (jwt.encode({"sub": "me", "exp": int(time.time()) + 90_000}, SECRET, algorithm="HS256"), "lifetime exceeds"),
        (jwt.encode({"sub": "me", "iat": int(time.time()) - 86_400, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256"), "lifetime exceeds"),
    ],
)  # fmt: skip
def test_unacceptable_tokens_raise_with_the_reason(token: str, reason: str | None) -> None:
    if reason is None:  # the control: a token within every limit
        assert verify_token(token, SECRET) == "me"
        return
    with pytest.raises(AuthError, match=reason):
        verify_token(token, SECRET)


def test_the_maximum_lifetime_is_configurable() -> None:
    week = mint_token(SECRET, "me", ttl_seconds=7 * 86_400)
    assert verify_token(week, SECRET, max_lifetime_seconds=8 * 86_400) == "me"
    with pytest.raises(AuthError, match="exceeds the maximum of 3600 s"):
        verify_token(mint_token(SECRET, "me", ttl_seconds=7200), SECRET, max_lifetime_seconds=3600)


@pytest.mark.parametrize("secret", ["k", "x" * 31, "é" * 15 + "x"])
def test_a_secret_shorter_than_32_bytes_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError, match=r"AGENT_JWT_SECRET\(_FILE\): the secret is \d+ bytes, at least 32"):
        AgentSettings(jwt_secret=secret).jwt_secret_value()
    assert AgentSettings(jwt_secret="x" * 32).jwt_secret_value() == "x" * 32


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
