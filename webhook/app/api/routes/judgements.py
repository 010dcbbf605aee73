"""`POST /api/v1/judgements`: the endpoint Argo Rollouts' web provider calls."""

from typing import Any

from fastapi import APIRouter, Depends, Request

from kernel.web import ErrorBody
from webhook.app.api.deps import BackendDep, JudgeConfigDep, require_token
from webhook.judge import judge
from webhook.models import Judgement, JudgementRequest

router = APIRouter(prefix="/api/v1", tags=["judgements"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "malformed request framing, e.g. a Content-Length that is no number",
    },
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    413: {"model": ErrorBody, "description": "request body too large"},
    422: {"model": ErrorBody, "description": "bad input; names the field"},
    429: {"model": ErrorBody, "description": "rate limited"},
    503: {"model": ErrorBody, "description": "Prometheus unreachable, timed out or failed"},
}


@router.post(
    "/judgements",
    response_model=Judgement,
    responses=ERRORS,
    dependencies=[Depends(require_token)],
)
def create_judgement(
    body: JudgementRequest, backend: BackendDep, config: JudgeConfigDep, request: Request
) -> Judgement:
    """Judge the canary against the baseline: pass, fail or inconclusive, with the evidence."""
    judgement = judge(body, backend, config)
    request.app.state.metrics.verdicts.labels(body.agent, judgement.verdict).inc()
    return judgement
