"""Liveness, readiness and the service's own metrics."""

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webhook.app.api.deps import BackendDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Prometheus does not answer"}})
def readyz(backend: BackendDep, response: Response) -> dict[str, str]:
    """Ready only when Prometheus answers."""
    if backend.is_online():
        return {"status": "ready"}
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "prometheus unavailable"}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request counts, latencies and verdicts by agent, in Prometheus text format."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
