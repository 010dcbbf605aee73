"""The agent HTTP service: authenticated, rate-limited, traced and instrumented."""

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, make_asgi_app
from pydantic import ValidationError
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agents.auth import AuthError, bearer_token, verify_token
from agents.base import BaseAgent
from agents.logs import agent_name_var, trace_id_var
from agents.metrics import AgentMetrics
from agents.providers import LLMProvider, ProviderError
from agents.registry import AGENT_TYPES
from agents.settings import AgentSettings
from agents.tracing import from_header
from kernel import web
from kernel.ratelimit import RateLimiter
from kernel.web import APIError, validation_error

log = logging.getLogger("agents.http")
# Probes and scrapes are not logged: they would drown the requests.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/health", "/ready", "/metrics", "/metrics/"})


class ASGIEndpoint:
    """Serves an ASGI app at one exact path (a Mount would answer `/metrics` with a redirect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(
    agent_name: str, settings: AgentSettings, registry: CollectorRegistry, provider: LLMProvider
) -> FastAPI:
    """The service for one agent; metrics go to `registry`."""
    if agent_name not in AGENT_TYPES:
        raise ValueError(f"unknown agent {agent_name!r} (known: {', '.join(AGENT_TYPES)})")
    secret = settings.jwt_secret_value()
    metrics = AgentMetrics(registry, [agent_name], provider.name, provider.model)
    agent: BaseAgent = AGENT_TYPES[agent_name](provider, metrics)
    limiter = RateLimiter(settings.rate_limit_rps, settings.rate_limit_burst)
    unauthenticated = RateLimiter(
        settings.unauthenticated_rate_limit_rps, settings.unauthenticated_rate_limit_burst
    )
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["ready"] = True
        variant = getattr(provider, "variant_name", None)
        log.info("agent service ready", extra={"agent_name": agent_name, "variant": variant})
        yield
        state["ready"] = False

    app = FastAPI(title=f"{agent_name} agent", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.router.routes.append(Route("/metrics", ASGIEndpoint(make_asgi_app(registry))))

    web.install(app, max_body_bytes=settings.max_body_bytes)
    app.include_router(web.health_router(lambda: readiness(state["ready"], agent_name)))

    @app.middleware("http")
    async def trace_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        trace = from_header(request.headers.get("traceparent"))
        trace_token = trace_id_var.set(trace.trace_id)
        agent_token = agent_name_var.set(agent_name)
        started = time.perf_counter()
        try:
            response = await call_next(request)
            response.headers["traceparent"] = trace.traceparent
            response.headers["x-trace-id"] = trace.trace_id
            if request.url.path not in QUIET_PATHS:
                log.info(
                    f"{request.method} {request.url.path} {response.status_code}",
                    extra={
                        "method": request.method,
                        "path": request.url.path,
                        "http_status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "status": "success" if response.status_code < 400 else "failure",
                    },
                )
            return response
        finally:
            agent_name_var.reset(agent_token)
            trace_id_var.reset(trace_token)

    def authenticate(request: Request) -> str:
        """The JWT subject of the caller; 401 otherwise, and 429 for a client that keeps trying."""
        try:
            return verify_token(
                bearer_token(request.headers.get("authorization")), secret, settings.jwt_max_lifetime_seconds
            )
        except AuthError as exc:
            web.throttle(unauthenticated, web.client_address(request), "too many unauthenticated requests")
            raise APIError(
                401, "unauthorized", str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from None

    def rate_limit(subject: Annotated[str, Depends(authenticate)]) -> str:
        """429 with Retry-After once the caller's token bucket is empty."""
        limits = f"more than {settings.rate_limit_rps:g} requests/s (burst {settings.rate_limit_burst})"
        web.throttle(limiter, subject, limits)
        return subject

    # The body is read and validated by hand (size limit first), so its schema is declared here.
    body_schema = {
        "required": True,
        "content": {"application/json": {"schema": agent.input_model.model_json_schema()}},
    }

    @app.post("/api/agents/{name}/execute", openapi_extra={"requestBody": body_schema})
    async def execute(name: str, request: Request, _: Annotated[str, Depends(rate_limit)]) -> JSONResponse:
        """Run the agent on the JSON body."""
        if name != agent_name:
            raise APIError(404, "unknown_agent", f"unknown agent {name!r}: this service runs {agent_name!r}")
        raw = await request.body()  # at most max_body_bytes: web.BodyLimit saw to that
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise APIError(400, "malformed_json", f"request body is not valid JSON ({exc})") from None
        try:
            task = agent.input_model.model_validate(payload)
        except ValidationError as exc:
            raise validation_error(exc) from None
        try:
            result = await run_in_threadpool(agent.execute, task)
        except ProviderError as exc:
            raise APIError(502, "provider_error", f"LLM provider failed: {exc}") from None
        except Exception:
            # execute() has logged it with its type and counted the failure.
            raise APIError(500, "internal_error", "internal error; see the service log") from None
        return JSONResponse(
            {
                "agent": result.agent,
                "result": result.output,
                "confidence": result.confidence,
                "cost_usd": result.cost_usd,
                "tokens": {"input": result.input_tokens, "output": result.output_tokens},
                "duration_ms": result.duration_ms,
                "trace_id": trace_id_var.get(),
            }
        )

    return app


def readiness(started: bool, agent_name: str) -> tuple[bool, dict[str, str]]:
    """Ready once started and until shutting down."""
    return (True, {"status": "ready", "agent": agent_name}) if started else (False, {"status": "not ready"})
