"""Fuzz the API from its own OpenAPI schema against a real Prometheus: never a 500, never off-schema."""

import schemathesis
from conftest import Backfilled
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from webhook_support import TOKEN
from webhook_support import settings as app_settings

from webhook.app.main import create_app

EXAMPLES_PER_OPERATION = 30


def test_api_holds_to_its_schema(backfilled: Backfilled) -> None:
    app = create_app(
        app_settings(
            backfilled.url, rate_limit_per_minute=100_000, unauthenticated_rate_limit_per_minute=100_000
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/judgements", "/reports", "/readyz"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                checks=[
                    not_a_server_error,
                    response_schema_conformance,
                    status_code_conformance,
                    content_type_conformance,
                ],
            )

        call()
