"""Dependencies shared by the routes: backend, judge config, auth and rate limiting."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kernel.ratelimit import retry_after_header
from kernel.web import APIError
from webhook.app.core.config import Settings
from webhook.backends import MetricsBackend
from webhook.judge import JudgeConfig

bearer = HTTPBearer(auto_error=False, description="the token from AGENT_ROLLOUTS_TOKEN(_FILE)")


def get_backend(request: Request) -> MetricsBackend:
    backend: MetricsBackend = request.app.state.backend
    return backend


def get_judge_config(request: Request) -> JudgeConfig:
    """Judge settings, with `report_url` pointing back at the URL this request came in on."""
    settings: Settings = request.app.state.settings
    return settings.judge_config(report_base_url=str(request.base_url))


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """401 unless the bearer token matches, compared in constant time."""
    expected: bytes = request.app.state.token
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, expected):
        raise APIError(
            401, "unauthorized", "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def rate_limit(request: Request) -> None:
    """429 when this client has used up its requests for now."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.limiter.acquire(client)
    if wait:
        raise APIError(
            429,
            "rate_limited",
            "rate limited, retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )


BackendDep = Annotated[MetricsBackend, Depends(get_backend)]
JudgeConfigDep = Annotated[JudgeConfig, Depends(get_judge_config)]
