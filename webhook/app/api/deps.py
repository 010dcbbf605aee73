"""Dependencies shared by the routes: backend, judge config, auth and rate limiting."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kernel.web import APIError, client_address, throttle
from webhook.app.core.config import JudgeSettings
from webhook.backends import MetricsBackend
from webhook.judge import JudgeConfig

bearer = HTTPBearer(auto_error=False, description="the token from AGENT_ROLLOUTS_TOKEN(_FILE)")


def get_backend(request: Request) -> MetricsBackend:
    backend: MetricsBackend = request.app.state.backend
    return backend


def get_judge_config(request: Request) -> JudgeConfig:
    """Judge settings, with `report_url` pointing back at the URL this request came in on."""
    settings: JudgeSettings = request.app.state.settings
    return settings.judge_config(report_base_url=str(request.base_url))


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """401 unless the bearer token matches, compared in constant time; 429 past the client's
    bucket, a separate one for requests without the token so they cannot use up the judgements'."""
    expected: bytes = request.app.state.token
    given = credentials.credentials.encode() if credentials else b""
    valid = hmac.compare_digest(given, expected)
    state = request.app.state
    throttle(state.limiter if valid else state.unauthenticated_limiter, client_address(request))
    if not valid:
        raise APIError(
            401, "unauthorized", "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def limit_unauthenticated(request: Request) -> None:
    """429 once this client has used up the bucket of unauthenticated requests (report pages)."""
    throttle(request.app.state.unauthenticated_limiter, client_address(request))


BackendDep = Annotated[MetricsBackend, Depends(get_backend)]
JudgeConfigDep = Annotated[JudgeConfig, Depends(get_judge_config)]
