"""The HTTP convention both services follow (the agents and the judge): one error body, one body
limit, the same health paths and the same security headers.

Errors are `{"error": code, "detail": message, "field": dotted path or null}`, plus `fields` (every
invalid field) on 422; never a stack trace. `/healthz` answers while the process serves, `/readyz`
only when it can do its work.
"""

import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.ratelimit import RateLimiter, retry_after_header

log = logging.getLogger("kernel.web")

# No scripts, frames, forms or third-party assets anywhere; inline styles for the report pages' SVG.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    429: "rate_limited",
}


class ErrorBody(BaseModel):
    """Every error answer of both services, as documented in their OpenAPI."""

    error: str = Field(description="a stable code, e.g. invalid_request, body_too_large, unauthorized")
    detail: str = Field(description="what went wrong, in one line")
    field: str | None = Field(default=None, description="the input field at fault, as a dotted path")
    fields: list[dict[str, str]] | None = Field(default=None, description="on 422: every invalid field")


class APIError(Exception):
    """An error answered with the convention's body and an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field
        self.headers = headers or {}
        self.fields = fields


def error_response(error: APIError) -> JSONResponse:
    body: dict[str, Any] = {"error": error.code, "detail": error.detail, "field": error.field}
    if error.fields is not None:
        body["fields"] = error.fields
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def validation_error(exc: ValidationError | RequestValidationError) -> APIError:
    """422 naming each invalid field by its dotted path (without the `body`/`query` prefix)."""
    fields = [
        {
            "field": ".".join(str(part) for part in err["loc"] if part not in ("body", "query")) or "body",
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return APIError(
        422, "invalid_request", detail, field=fields[0]["field"] if fields else None, fields=fields
    )


class BodyLimit:
    """413 for a request body over `max_bytes`, counted as the bytes arrive whatever the framing
    (a Content-Length, chunked, or both), before any handler or authentication sees it.

    Bodies are small JSON documents, so the whole body is read up to the limit and replayed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await self._refuse(scope, send, APIError(400, "bad_request", "Content-Length must be a number"))
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(scope, send, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, send, self._too_large())
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> APIError:
        return APIError(413, "body_too_large", f"request body exceeds {self.max_bytes} bytes", field="body")

    async def _refuse(self, scope: Scope, send: Send, error: APIError) -> None:
        await error_response(error)(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, pages and JSON alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def client_address(request: Request) -> str:
    """The peer's address; X-Forwarded-For counts only from the service's `trusted_proxies`,
    which uvicorn applies (see `uvicorn_proxy_options`)."""
    return request.client.host if request.client else "unknown"


def throttle(limiter: RateLimiter, key: str, detail: str = "rate limited") -> None:
    """429 with Retry-After once `key` has used up its bucket in `limiter`."""
    wait = limiter.acquire(key)
    if wait > 0:
        raise APIError(
            429,
            "rate_limited",
            f"{detail}; retry in {wait:.2f}s",
            headers={"Retry-After": retry_after_header(wait)},
        )


def uvicorn_proxy_options(trusted_proxies: str) -> dict[str, Any]:
    """Trust forwarded headers only from the configured proxies (uvicorn trusts loopback by default,
    which would let any local client, a mesh sidecar included, pick its rate-limit bucket)."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted_proxies}


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """The convention's error handlers and middleware on `app` (the body limit runs first)."""

    @app.exception_handler(APIError)
    async def on_api_error(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(
            APIError(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
        )

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)  # the log has the type; the response never a trace
        return error_response(APIError(500, "internal_error", "internal error; see the service log"))

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)


def health_router(ready: Callable[[], tuple[bool, dict[str, str]]]) -> APIRouter:
    """`/healthz` (alive) and `/readyz` (able to serve: `ready()` says so, with a status body).

    `/health` and `/ready` are aliases, kept for probes written before the convention. Neither
    waits for the worker threads the service's own routes use: `/healthz` runs on the event loop,
    `ready()` (which must bound its own time) on threads of its own.
    """
    router = APIRouter(tags=["health"])
    probe_threads = anyio.CapacityLimiter(4)

    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    async def readyz() -> JSONResponse:
        """Ready: the service can do its work now."""
        ok, body = await anyio.to_thread.run_sync(ready, limiter=probe_threads)
        return JSONResponse(body, status_code=200 if ok else 503)

    responses: dict[int | str, dict[str, Any]] = {503: {"description": "not ready"}}
    router.add_api_route("/healthz", healthz, methods=["GET"])
    router.add_api_route("/readyz", readyz, methods=["GET"], responses=responses)
    router.add_api_route("/health", healthz, methods=["GET"], include_in_schema=False)
    router.add_api_route("/ready", readyz, methods=["GET"], include_in_schema=False)
    return router
