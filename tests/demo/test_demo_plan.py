"""Reading a rendered Rollout into steps, and resolving AnalysisTemplate args as Argo does."""

import pytest
import yaml

from tools.demo.plan import (
    PlanError,
    RunContext,
    build_metrics,
    duration_seconds,
    pod_template_hash,
    read_plan,
    rollout_fields,
)

TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisTemplate",
    "metadata": {"name": "qna-agent-quality"},
    "spec": {
        "args": [
            {"name": "agent"},
            {"name": "canary-hash"},
            {"name": "baseline-hash"},
            {"name": "judge-url", "value": "http://judge.svc:8080/api/v1/judgements"},
            {"name": "judge-token", "valueFrom": {"secretKeyRef": {"name": "judge", "key": "token"}}},
        ],
        "metrics": [
            {
                "name": "agent-quality",
                "successCondition": 'result.verdict == "pass"',
                "provider": {
                    "web": {
                        "url": "{{args.judge-url}}",
                        "headers": [{"key": "Authorization", "value": "Bearer {{ args.judge-token }}"}],
                        "jsonBody": {"agent": "{{args.agent}}", "canary": "{{args.canary-hash}}"},
                    }
                },
            }
        ],
    },
}
ANALYSIS = {
    "templates": [{"templateName": "qna-agent-quality"}],
    "args": [
        {
            "name": "agent",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app.kubernetes.io/name']"}},
        },
        {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
        {"name": "baseline-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
    ],
}
ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {
        "name": "qna",
        "namespace": "agents-dev",
        "labels": {"app.kubernetes.io/name": "knowledge-qna"},
    },
    "spec": {
        "template": {"spec": {"containers": [{"name": "agent", "image": "ghcr.io/x/qna:1"}]}},
        "strategy": {
            "canary": {
                "analysis": {**ANALYSIS, "startingStep": 1},
                "steps": [
                    {"setWeight": 10},
                    {"pause": {"duration": "1m"}},
                    {"analysis": ANALYSIS},
                    {"pause": {}},
                ],
            }
        },
    },
}


def rendered(*docs: object) -> str:
    return yaml.safe_dump_all(docs)


def context(**overrides: str) -> RunContext:
    fields = {
        "metadata.namespace": "agents-dev",
        "metadata.labels['app.kubernetes.io/name']": "knowledge-qna",
    }
    return RunContext("stable1", "canary1", fields, {("judge", "token"): "s3cret"}, overrides)


def test_steps_background_and_templates_are_read() -> None:
    plan = read_plan(rendered(ROLLOUT, TEMPLATE))
    assert [s.describe() for s in plan.steps] == [
        "setWeight 10",
        "pause 60s",
        "analysis qna-agent-quality",
        "pause until promoted",
    ]
    assert plan.background_starting_step == 1 and plan.namespace == "agents-dev"


def test_missing_template_is_named() -> None:
    with pytest.raises(PlanError, match="qna-agent-quality"):
        read_plan(rendered(ROLLOUT))


def test_args_resolve_from_hashes_secrets_and_overrides() -> None:
    plan = read_plan(rendered(ROLLOUT, TEMPLATE))
    ref = plan.steps[2].analysis
    assert ref is not None
    [metric] = build_metrics(plan, ref, context(**{"judge-url": "http://127.0.0.1:9/api/v1/judgements"}))
    web = metric["provider"]["web"]
    assert web["url"] == "http://127.0.0.1:9/api/v1/judgements"
    assert web["headers"][0]["value"] == "Bearer s3cret"
    assert web["jsonBody"] == {"agent": "knowledge-qna", "canary": "canary1"}


def test_an_arg_without_a_value_is_an_error_naming_it() -> None:
    plan = read_plan(rendered(ROLLOUT, TEMPLATE))
    ref = plan.steps[2].analysis
    assert ref is not None
    bare = ref.__class__(templates=ref.templates, args=ref.args[1:])  # drop `agent`
    with pytest.raises(PlanError, match="'agent' has no value"):
        build_metrics(plan, bare, context())


def test_durations_and_hashes() -> None:
    assert duration_seconds("5m") == 300 and duration_seconds(30) == 30 and duration_seconds("250ms") == 0.25
    with pytest.raises(PlanError):
        duration_seconds("soon")
    first, second = pod_template_hash("img@sha256:aa"), pod_template_hash("img@sha256:bb")
    assert first != second and len(first) == 10 and not set(first) & set("aeiou013")


def test_rollout_fields_cover_labels() -> None:
    fields = rollout_fields(read_plan(rendered(ROLLOUT, TEMPLATE)))
    assert fields["metadata.labels['app.kubernetes.io/name']"] == "knowledge-qna"
    assert fields["metadata.name"] == "qna"
