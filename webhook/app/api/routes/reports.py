"""`GET /reports`: human-readable pages, linked from Argo CD, that re-run a judgement.

Argo CD links are opened in a browser that has no bearer token, so these pages need none; they
show only aggregate metrics (rates, shares, means), never request contents. See docs/judge.md.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from webhook.app.api.deps import BackendDep, JudgeConfigDep, limit_unauthenticated
from webhook.judge import evaluate
from webhook.models import LABEL_VALUE, NAMESPACE, JudgementRequest
from webhook.report import hashes_seen, render_index, render_report

router = APIRouter(tags=["reports"], dependencies=[Depends(limit_unauthenticated)])

INDEX_LOOKBACK_SECONDS = 86_400
Label = Annotated[str | None, Query(pattern=LABEL_VALUE, max_length=63)]


@router.get("/reports", response_class=HTMLResponse, responses={422: {}, 503: {}})
def report(
    backend: BackendDep,
    config: JudgeConfigDep,
    agent: Annotated[str, Query(pattern=LABEL_VALUE, max_length=63)],
    canary: Label = None,
    baseline: Label = None,
    namespace: Annotated[str | None, Query(pattern=NAMESPACE, max_length=63)] = None,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """A judgement's report page, or with neither hash the index of the agent's hashes."""
    if canary is None and baseline is None:
        rows = hashes_seen(backend, agent, namespace, time.time(), INDEX_LOOKBACK_SECONDS)
        return HTMLResponse(render_index(agent, rows))
    try:
        request = JudgementRequest.model_validate(
            {
                "agent": agent,
                "canary": canary,
                "baseline": baseline,
                "namespace": namespace,
                "start": start,
                "end": end,
            }
        )
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None
    return HTMLResponse(render_report(evaluate(request, backend, config, every_bucket=True)))
