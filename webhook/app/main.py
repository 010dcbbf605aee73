"""The FastAPI application of the canary judge."""

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kernel.ratelimit import RateLimiter
from webhook.app.api.routes import health, judgements, reports
from webhook.app.core.config import Settings
from webhook.app.core.limits import BodyLimit
from webhook.app.core.metrics import create_metrics
from webhook.backends import BackendUnavailable, MetricsBackend, create_backend
from webhook.judge import InputError

log = logging.getLogger("webhook")


def create_app(settings: Settings | None = None, backend: MetricsBackend | None = None) -> FastAPI:
    """Build the app; raises ValueError when no token is configured."""
    settings = settings or Settings()
    app = FastAPI(
        title="Agent Rollouts canary judge",
        version="1",
        description="A web metric provider for Argo Rollouts that judges agent canaries against their baseline.",
    )
    app.state.settings = settings
    app.state.token = settings.read_token().encode()
    app.state.backend = backend or create_backend(
        settings.backend,
        settings.prometheus_url,
        timeout=settings.query_timeout,
        cache_ttl=settings.cache_ttl,
    )
    # A bucket per client address: a minute's requests as the burst, refilled continuously.
    per_minute = settings.rate_limit_per_minute
    app.state.limiter = RateLimiter(rate=per_minute / 60, burst=per_minute)
    app.state.metrics = create_metrics()
    app.include_router(judgements.router)
    app.include_router(reports.router)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _add_handlers(app)
    return app


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

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        field = ".".join(str(part) for part in errors[0]["loc"][1:]) if errors else None
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
        return JSONResponse({"detail": detail, "field": field or "body"}, status_code=422)

    @app.exception_handler(InputError)
    async def unjudgeable(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)

    @app.exception_handler(BackendUnavailable)
    async def unavailable(_: Request, exc: BackendUnavailable) -> JSONResponse:
        log.warning("metrics backend unavailable: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)
