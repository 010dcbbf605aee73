"""The FastAPI application of the canary judge."""

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from kernel import web
from kernel.ratelimit import RateLimiter
from kernel.web import APIError, error_response
from webhook.app.api.routes import judgements, reports, service_metrics
from webhook.app.core.config import JudgeSettings
from webhook.app.core.metrics import create_metrics
from webhook.backends import (
    BackendUnavailable,
    DeadlineExceeded,
    MetricsBackend,
    PartialDataError,
    create_backend,
)
from webhook.judge import InputError

log = logging.getLogger("webhook")


def create_app(settings: JudgeSettings | None = None, backend: MetricsBackend | None = None) -> FastAPI:
    """Build the app; raises SecretMissing when no token is configured."""
    settings = settings or JudgeSettings()
    app = FastAPI(
        title="Agent Rollouts canary judge",
        version="1",
        description="A web metric provider for Argo Rollouts that judges agent canaries against their baseline.",
        # The interactive docs pages load third-party assets; the schema stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.token = settings.read_token().encode()
    app.state.backend = backend or create_backend(
        settings.backend,
        settings.prometheus_url,
        timeout=settings.query_timeout,
        cache_ttl=settings.cache_ttl,
        connection=settings.backend_connection(),
        harmless_warnings=settings.harmless_warnings,
    )
    # A bucket per client address: a minute's requests as the burst, refilled continuously.
    per_minute = settings.rate_limit_per_minute
    app.state.limiter = RateLimiter(rate=per_minute / 60, burst=per_minute)
    per_minute = settings.unauthenticated_rate_limit_per_minute
    app.state.unauthenticated_limiter = RateLimiter(rate=per_minute / 60, burst=per_minute)
    app.state.metrics = create_metrics()
    app.include_router(judgements.router)
    app.include_router(reports.router)
    app.include_router(service_metrics.router)
    app.include_router(web.health_router(lambda: readiness(app.state.backend, settings.readiness_deadline)))
    _add_handlers(app)
    web.install(app, max_body_bytes=settings.max_body_bytes)
    return app


def readiness(backend: MetricsBackend, seconds: float) -> tuple[bool, dict[str, str]]:
    """Ready only when the metrics backend answers within `seconds`."""
    if backend.is_online(deadline=time.monotonic() + seconds):
        return True, {"status": "ready"}
    return False, {"status": f"prometheus unavailable or slower than {seconds:g} s"}


def _add_handlers(app: FastAPI) -> None:
    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        began = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        app.state.metrics.requests.labels(path, str(response.status_code)).inc()
        app.state.metrics.latency.labels(path).observe(time.perf_counter() - began)
        return response

    @app.exception_handler(InputError)
    async def unjudgeable(_: Request, exc: InputError) -> JSONResponse:
        return error_response(APIError(422, "invalid_request", str(exc), field=exc.field))

    @app.exception_handler(PartialDataError)  # outside a judgement (the index page), where it is no verdict
    async def partial(_: Request, exc: PartialDataError) -> JSONResponse:
        log.warning("metrics backend warned: %s", exc)
        return error_response(APIError(503, "backend_unavailable", str(exc)))

    @app.exception_handler(BackendUnavailable)
    async def unavailable(_: Request, exc: BackendUnavailable) -> JSONResponse:
        log.warning("metrics backend unavailable: %s", exc)
        return error_response(APIError(503, "backend_unavailable", str(exc)))

    @app.exception_handler(DeadlineExceeded)  # a query's own timeout or the judgement's deadline
    async def too_slow(_: Request, exc: DeadlineExceeded) -> JSONResponse:
        log.warning("no answer in time: %s", exc)
        return error_response(APIError(503, "deadline_exceeded", str(exc)))
